"""The app's settings: typed, validated, kept as JSON beside the database (``settings.json``).

Qt-free, so the CLI, the app and the kiosk read the same values. A missing or unreadable file gives
the defaults (an unreadable one is kept aside as ``settings.json.bad``, and says so in the log).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.storage.paths import resolve_data_dir

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"


class AppSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    camera: str = "0"  # a camera index, a video file or a stream URL
    resolution: tuple[int, int] | None = (1280, 720)  # asked of a camera; None: its default
    backend: Literal["litert", "onnx", "mediapipe"] = "litert"
    model: Literal["lite", "full", "heavy"] = "full"
    voice: bool = True  # the coach speaks (captions either way)
    listen: bool = False  # voice commands from the microphone
    push_to_talk: bool = False  # only while T (or the Talk button) is held
    wake_word: bool = False  # only commands that start with "coach"
    voice_engine: Literal["auto", "piper", "espeak"] = "auto"
    rep_counts: Literal["every", "last_three", "none"] = "every"
    rest_s: int = Field(90, ge=0, le=600)
    unit: Literal["kg", "lb"] = "kg"
    high_contrast: bool = False
    text_scale: float = Field(1.0, ge=0.8, le=2.0)
    captions: bool = True
    keep_frames: bool = False  # privacy: frames never touch the disk unless this is on
    kiosk_idle_s: int = Field(120, ge=15, le=3600)  # a kiosk signs a member out after this
    kiosk_admin_pin_hash: str | None = None


def settings_path(data_dir: Path | str | None = None) -> Path:
    return resolve_data_dir(data_dir) / SETTINGS_FILE


def load_settings(data_dir: Path | str | None = None) -> AppSettings:
    path = settings_path(data_dir)
    try:
        return AppSettings.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return AppSettings()
    except (OSError, ValueError, ValidationError) as exc:
        log.warning("Settings in %s are unreadable (%s); using the defaults", path, exc)
        with contextlib.suppress(OSError):
            path.replace(path.with_name(SETTINGS_FILE + ".bad"))
        return AppSettings()


def save_settings(settings: AppSettings, data_dir: Path | str | None = None) -> Path:
    """Write atomically (a crash leaves the old file or the new one, never half of one)."""
    path = settings_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(SETTINGS_FILE + ".part")
    part.write_text(settings.model_dump_json(indent=1), encoding="utf-8")
    os.replace(part, path)
    return path
