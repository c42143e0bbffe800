"""Synthesized lines, cached in memory and on disk (user cache dir), keyed by voice and text."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from app.errors import SpeechError
from app.voice.audio import Audio, read_audio, write_wav
from app.voice.numbers import number_words
from app.voice.tts import SpeechSynthesizer

log = logging.getLogger(__name__)

FREQUENT_LINES: tuple[str, ...] = (
    *(number_words(n) for n in range(1, 31)),
    "Set one. Go!",
    "Set two. Go!",
    "Set three. Go!",
    "Rest over. Next set.",
    "thirty seconds.",
    "ten seconds.",
    "All the way.",
    "Hold it.",
    "I can't see you.",
    "Paused.",
    "Let's go.",
    "Nice pace.",
    "Strong.",
    "Keep it up.",
    "Looking good.",
    "Good control.",
)


def default_cache_dir() -> Path:
    env = os.environ.get("SPOTTER_SPEECH_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("spotter")) / "speech"


def frequent_cues() -> list[str]:
    """Every form cue and exercise name in the catalogue (spoken often, so synthesized up front)."""
    from app.engine.exercises.spec import catalogue
    from app.voice.cues import exercise_line

    specs = catalogue().values()
    return sorted({rule.cue for spec in specs for rule in spec.form} | {exercise_line(s.id) for s in specs})


class SpeechCache:
    def __init__(self, synthesizer: SpeechSynthesizer, directory: Path | None = None) -> None:
        self.synthesizer = synthesizer
        self.directory = directory
        self._memory: dict[str, Audio] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.synthesizer.voice_id}\0{text}".encode()).hexdigest()[:32]

    def cached(self, text: str) -> Audio | None:
        key = self.key(text)
        with self._lock:
            audio = self._memory.get(key)
        if audio is None and self.directory is not None:
            path = self.directory / f"{key}.wav"
            if path.is_file():
                try:
                    audio = read_audio(path)
                except SpeechError as exc:
                    log.warning("Ignoring a damaged cached line %s: %s", path, exc)
                    return None
                with self._lock:
                    self._memory[key] = audio
        return audio

    def get(self, text: str) -> Audio:
        audio = self.cached(text)
        if audio is not None:
            self.hits += 1
            return audio
        self.misses += 1
        audio = self.synthesizer.synthesize(text)
        self._store(text, audio)
        return audio

    def _store(self, text: str, audio: Audio) -> None:
        key = self.key(text)
        with self._lock:
            self._memory[key] = audio
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{key}.tmp"
            write_wav(tmp, audio)
            tmp.replace(self.directory / f"{key}.wav")
        except (OSError, SpeechError) as exc:
            log.warning("Cannot write the speech cache in %s: %s", self.directory, exc)
            self.directory = None

    def prewarm(self, lines: Iterable[str]) -> int:
        """Synthesize every line not cached yet; returns how many were synthesized."""
        made = 0
        for line in dict.fromkeys(lines):
            if self.cached(line) is None:
                self._store(line, self.synthesizer.synthesize(line))
                made += 1
        return made
