"""Where the shared real clips are, and their hand-counted manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
