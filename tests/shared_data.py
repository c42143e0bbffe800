"""Where the shared real clips are, their hand-counted manifest, and their poses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from app.engine.offline import PoseTrack

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
VIDEOS = DATA / "videos"


def clip(name: str) -> Path:
    path = VIDEOS / name
    if not path.is_file():
        pytest.skip(f"shared clip {path} is not available")
    return path


def manifest() -> dict[str, dict[str, Any]]:
    path = DATA / "clips.json"
    if not path.is_file():
        pytest.skip("../shared/data/clips.json is not available")
    return {c["file"]: c for c in json.loads(path.read_text())}


_TRACKS: dict[str, PoseTrack] = {}


def poses_of(name: str, estimator: Any) -> PoseTrack:
    """A clip's poses at 15 per second, estimated once per test session (several test modules
    count the same clip)."""
    from app.engine.offline import estimate_track

    if name not in _TRACKS:
        estimator.reset()
        _TRACKS[name] = estimate_track(clip(name), estimator, target_fps=15.0)[1]
    return _TRACKS[name]
