"""Helpers of the GUI tests: a real ``AppContext`` on a temporary data folder, a navigator that
records where a screen asked to go, and seeded workouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inline import InlineExecutor
from workouts import seed_workouts

from app.settings import AppSettings
from app.storage import open_database
from app.ui.context import AppContext
from app.ui.jobs import JobRunner
from app.ui.options import AppOptions

__all__ = ["InlineExecutor", "RecordingNavigator", "make_context", "seed_workouts"]


class RecordingNavigator:
    def __init__(self) -> None:
        self.visits: list[tuple[str, Any]] = []
        self.backs = 0

    def go(self, name: str, payload: Any = None) -> None:
        self.visits.append((name, payload))

    def back(self) -> None:
        self.backs += 1


def make_context(data_dir: Path, *, inline: bool = True, **options: Any) -> AppContext:
    db = open_database(data_dir)
    jobs = JobRunner(InlineExecutor() if inline else None)
    return AppContext(db, AppSettings(), AppOptions(data_dir=data_dir, **options), jobs)
