"""Input gain for the voice activity detector: a quiet talker (far from the microphone, a low input gain)
is brought up to the level Silero expects. Pure: levels in, gains out.

Silero fires weakly below about -40 dBFS at the speech's peak and not at all at -50 (measured on Piper's
commands: 7-13 of 14-18 speech chunks at -40, none at -50); the recognisers, which normalize their own
features, heard the same quiet commands right. So only what the VAD hears is scaled, and only up: the
gain follows the loudest recent chunk with an instant attack (a loud chunk is never pushed past the
target) and a slow release, so that it holds steady across the words of a command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class GainConfig:
    target_db: float = -26.0  # the chunk level (RMS, dBFS) the loudest recent chunk is brought up to
    max_gain_db: float = 24.0  # a -50 dBFS voice reaches the level of a normal one; silence stays quiet
    release_db_per_chunk: float = 0.1  # 3 dB a second: steady over a command, ready for the next talker


class InputGain:
    """Chunk levels -> the gain (dB) for each chunk. The envelope starts unknown, so the first sound of a
    recording is brought up at once and a loud one is left as it is."""

    def __init__(self, config: GainConfig | None = None) -> None:
        self.config = config or GainConfig()
        self._envelope = -math.inf

    def reset(self) -> None:
        self._envelope = -math.inf

    def gain_db(self, level_db: float) -> float:
        """The gain for a chunk at ``level_db``, after the envelope takes it in (attack is instant)."""
        c = self.config
        self._envelope = max(level_db, self._envelope - c.release_db_per_chunk)
        return min(max(c.target_db - self._envelope, 0.0), c.max_gain_db)

    def apply(self, chunk: npt.NDArray[np.int16], level_db: float) -> npt.NDArray[np.int16]:
        """The chunk scaled by its gain (unchanged at 0 dB)."""
        gain = self.gain_db(level_db)
        if gain <= 0.0:
            return chunk
        scaled = np.asarray(chunk, np.float32) * np.float32(10.0 ** (gain / 20.0))
        return np.asarray(np.clip(scaled, -32768, 32767), np.int16)
