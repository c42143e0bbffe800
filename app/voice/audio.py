"""Mono audio buffers: resampling, level, audio files. float32 in [-1, 1] throughout."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.errors import SpeechError

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Audio:
    samples: Samples
    rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate

    def resampled(self, rate: int) -> Audio:
        return Audio(resample(self.samples, self.rate, rate), rate)

    def pcm16(self) -> npt.NDArray[np.int16]:
        return to_pcm16(self.samples)


def resample(samples: Samples, src: int, dst: int) -> Samples:
    if src == dst:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(src, dst)
    return np.asarray(resample_poly(samples, dst // g, src // g), dtype=np.float32)


def to_pcm16(samples: Samples) -> npt.NDArray[np.int16]:
    return np.asarray(np.clip(samples, -1.0, 1.0) * 32767.0, dtype=np.int16)


def from_pcm16(data: bytes | npt.NDArray[np.int16]) -> Samples:
    pcm = np.frombuffer(data, dtype=np.int16) if isinstance(data, bytes) else data
    return np.asarray(pcm, dtype=np.float32) / 32768.0


def rms(samples: Samples) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def speech_span(
    samples: Samples,
    rate: int,
    *,
    margin_s: float = 0.15,
    floor_db: float = -35.0,
    above_quiet_db: float = 6.0,
    min_range_db: float = 25.0,
    frame_s: float = 0.01,
) -> Samples:
    """An utterance cut to its speech, ``margin_s`` either side: from the first to the last 10 ms frame that
    is within ``floor_db`` of its loudest frame and ``above_quiet_db`` over its quietest tenth (the room's,
    or the noise's, floor). In noise, where the loudest frame stands less than ``min_range_db`` over that
    floor, the talker's quieter sounds are under the noise and nothing is cut."""
    n = max(int(frame_s * rate), 1)
    frames = len(samples) // n
    if frames < 3:
        return samples
    power = np.mean(np.square(samples[: frames * n].reshape(frames, n), dtype=np.float64), axis=1)
    level = 10.0 * np.log10(power + 1e-12)
    loudest, quiet = float(level.max()), float(np.percentile(level, 10))
    if loudest - quiet < min_range_db:
        return samples
    threshold = max(loudest + floor_db, quiet + above_quiet_db)
    loud = np.flatnonzero(level >= threshold)
    if not len(loud):
        return samples
    margin = int(margin_s * rate)
    return samples[max(loud[0] * n - margin, 0) : min((loud[-1] + 1) * n + margin, len(samples))]


def write_wav(path: Path, audio: Audio) -> None:
    try:
        with Path(path).open("wb") as fh, wave.open(fh, "wb") as f:  # opened first: no half-made writer
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(audio.rate)
            f.writeframes(audio.pcm16().tobytes())
    except OSError as exc:
        raise SpeechError(f"Cannot write {path}: {exc}") from exc


def read_audio(path: Path) -> Audio:
    """A recording as mono float audio: WAV of any sample format (16/24/32-bit, float), FLAC, OGG, MP3 or
    any other format libsndfile reads; channels are mixed down."""
    import soundfile

    if not Path(path).is_file():
        raise SpeechError(f"Cannot read {path}: no such file")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise SpeechError(f"Cannot read {path} as audio: {exc}") from exc
    if not len(data):
        raise SpeechError(f"{path} holds no audio")
    return Audio(np.asarray(data.mean(axis=1), dtype=np.float32), int(rate))
