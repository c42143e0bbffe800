"""What every screen is handed: the open database, the settings, the options, a job runner, the member
(and the background sync).

One ``AppContext`` per window, passed to each screen's constructor (no global, no singleton). Screens
read and write through the domain operations (``app.storage.operations`` and friends) with
``context.db``; they never open a database themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.engine.pose.types import PoseEstimator
from app.settings import AppSettings, save_settings
from app.storage.db import Database
from app.storage.pins import PinLockout
from app.ui.jobs import JobRunner
from app.ui.options import AppOptions
from app.ui.sync import AppSync
from app.ui.voice import AppVoice


class Member(QObject):
    """Who is signed in (a profile name, or None); screens redraw on ``changed``."""

    changed = Signal(str)  # the name, or "" when signed out

    def __init__(self) -> None:
        super().__init__()
        self._name: str | None = None
        self.pin: str | None = None

    @property
    def name(self) -> str | None:
        return self._name

    def sign_in(self, name: str, pin: str | None = None) -> None:
        self._name = name
        self.pin = pin  # kept in memory while signed in: the member's own reports ask for it
        self.changed.emit(name)

    def sign_out(self) -> None:
        self._name = None
        self.pin = None
        self.changed.emit("")


@dataclass
class AppContext:
    db: Database
    settings: AppSettings
    options: AppOptions
    jobs: JobRunner
    member: Member = field(default_factory=Member)
    voice: AppVoice | None = None  # the app's microphone listener, when voice commands are on
    lockout: PinLockout = field(default_factory=PinLockout)  # wrong PINs, members' and the admin's
    sync: AppSync | None = None  # the background sync (None: none in this run, e.g. a test's context)

    def workout_saved(self) -> None:
        """A workout was just saved: the background sync sends it (never waits)."""
        if self.sync is not None:
            self.sync.workout_finished()

    @property
    def data_dir(self) -> Path:
        return self.db.path.parent

    def create_estimator(self) -> PoseEstimator:
        """The pose estimator the settings (or this run's command line) ask for; loads its model."""
        from app.engine.pose.estimators import create_estimator

        s, o = self.settings, self.options
        return create_estimator(o.backend or s.backend, o.model or s.model, threads=o.threads)

    def save_settings(self, settings: AppSettings) -> None:
        self.settings = settings
        save_settings(settings, self.data_dir)
