"""The ``SpeechSynthesizer`` port: Piper (neural, default) and eSpeak NG (fallback)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.errors import ModelLoadError, SpeechError
from app.voice.audio import Audio, from_pcm16
from app.voice.voices import DEFAULT_VOICE, voice_paths

log = logging.getLogger(__name__)


class SpeechSynthesizer(Protocol):
    """Text -> mono audio. ``voice_id`` names voice and settings (it keys the speech cache)."""

    @property
    def voice_id(self) -> str: ...

    def synthesize(self, text: str) -> Audio: ...


class PiperSynthesizer:
    """Piper (VITS on ONNX Runtime) with a checksum-verified voice from a registry package."""

    def __init__(
        self,
        voice: str = DEFAULT_VOICE,
        *,
        length_scale: float = 1.0,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        threads: int = 1,
    ) -> None:
        onnx, config = voice_paths(voice)
        try:
            import onnxruntime
            from piper.config import PiperConfig, SynthesisConfig
            from piper.voice import PiperVoice
        except ImportError as exc:
            raise ModelLoadError("Piper is not installed: pip install piper-tts") from exc
        import json

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # no memory arena and no prepacked weights: each phrase's audio has its own length, and ONNX
        # Runtime's arena kept growing in steps for them (the voice held 203 MB after eight phrases, 142 MB
        # without either); a phrase takes 20 ms longer (146 ms at the median), off the UI thread and cached
        options.enable_cpu_mem_arena = False
        options.add_session_config_entry("session.disable_prepacking", "1")
        try:
            session = onnxruntime.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
            piper_config = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"Cannot load the Piper voice {onnx}: {exc}") from exc
        self._voice: Any = PiperVoice(config=piper_config, session=session)
        self._config: Any = SynthesisConfig(
            length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale
        )
        self._lock = threading.Lock()  # one ONNX run at a time; Piper's phonemizer is not re-entrant
        self.sample_rate = int(piper_config.sample_rate)
        self._id = f"piper:{voice}:ls{length_scale:g}:ns{noise_scale}:nw{noise_w_scale}"

    @classmethod
    def steady(cls, voice: str = DEFAULT_VOICE, *, length_scale: float = 1.0) -> PiperSynthesizer:
        """Without the generator's and the durations' noise: the same samples for the same text every time
        (Piper otherwise speaks a little differently each time), for checks that one rendering decides."""
        return cls(voice, length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)

    @property
    def voice_id(self) -> str:
        return self._id

    def synthesize(self, text: str) -> Audio:
        with self._lock:
            try:
                chunks = [c.audio_float_array for c in self._voice.synthesize(text, self._config)]
            except Exception as exc:  # phonemizer/onnxruntime errors
                raise SpeechError(f"Piper could not speak {text!r}: {exc}") from exc
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return Audio(np.asarray(samples, dtype=np.float32), self.sample_rate)


@dataclass(frozen=True, slots=True)
class EspeakSettings:
    voice: str = "en-us"
    rate_wpm: int = 165
    pitch: int = 50


class EspeakSynthesizer:
    """eSpeak NG through its command-line program (Debian package ``espeak-ng``)."""

    def __init__(self, settings: EspeakSettings | None = None) -> None:
        program = shutil.which("espeak-ng")
        if program is None:
            raise ModelLoadError("eSpeak NG is not installed (apt-get install espeak-ng)")
        self._program = program
        self.settings = settings or EspeakSettings()
        s = self.settings
        self._id = f"espeak:{s.voice}:r{s.rate_wpm}:p{s.pitch}"

    @property
    def voice_id(self) -> str:
        return self._id

    def synthesize(self, text: str) -> Audio:
        s = self.settings
        cmd = [
            self._program,
            "--stdout",
            "-v",
            s.voice,
            "-s",
            str(s.rate_wpm),
            "-p",
            str(s.pitch),
            "--",
            text,
        ]
        try:
            out = subprocess.run(cmd, capture_output=True, check=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise SpeechError(f"eSpeak NG could not speak {text!r}: {exc}") from exc
        return _parse_wav(out)


def _parse_wav(data: bytes) -> Audio:
    import io
    import wave

    try:
        with wave.open(io.BytesIO(data), "rb") as f:
            rate = f.getframerate()
            frames = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as exc:
        # espeak-ng writes 0xFFFFFFFF sizes to a pipe: read the PCM after the 44-byte header
        if len(data) < 44 or data[:4] != b"RIFF":
            raise SpeechError(f"eSpeak NG returned no audio: {exc}") from exc
        rate = int.from_bytes(data[24:28], "little")
        frames = data[44 : 44 + (len(data) - 44) // 2 * 2]
    return Audio(from_pcm16(frames), rate)


def create_synthesizer(engine: str = "auto", *, voice: str = DEFAULT_VOICE) -> SpeechSynthesizer:
    """Piper when it and its voice are usable, else eSpeak NG (``auto``); or the named engine."""
    if engine in {"auto", "piper"}:
        try:
            return PiperSynthesizer(voice)
        except ModelLoadError as exc:
            if engine == "piper":
                raise
            log.warning("Piper is unavailable (%s); falling back to eSpeak NG", exc)
    if engine in {"auto", "espeak"}:
        return EspeakSynthesizer()
    raise SpeechError(f"Unknown speech engine {engine!r} (auto, piper, espeak)")
