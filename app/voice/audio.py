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
