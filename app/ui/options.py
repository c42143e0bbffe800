"""How the app was started: the command line's choices as one typed value (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class AppOptions:
    data_dir: Path | None = None
    source: str | None = None  # a camera index, a video file or a stream URL; None: the settings' camera
    realtime: bool = True  # a video file plays at its own pace (False: as fast as it decodes)
    exercise: str | None = None  # an exercise id or "auto"; with auto, the flow's quick start uses it
    profile: str | None = None
    auto: bool = False  # drive the whole flow with nobody at the keyboard
    exit_when_done: bool = False
    summary_json: Path | None = None
    screenshot_dir: Path | None = None
    kiosk: bool = False
    backend: str | None = None  # overrides the settings' pose backend and model
    model: str | None = None
    threads: int = 2
