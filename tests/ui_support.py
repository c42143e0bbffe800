"""Helpers of the GUI tests: a real ``AppContext`` on a temporary data folder, a navigator that
records where a screen asked to go, and seeded workouts."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.engine.events import RepDetail
from app.settings import AppSettings
from app.storage import open_database
from app.storage.db import Database
from app.storage.recorder import WorkoutRecorder
from app.ui.context import AppContext
from app.ui.jobs import JobRunner
from app.ui.options import AppOptions


class InlineExecutor(Executor):
    """Runs each job at once on the calling thread (its answer still arrives through Qt's queue)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


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


def seed_workouts(db: Database, profile: str = "Ana", *, days: int = 10, every: int = 1) -> None:
    """``days`` days of squats (loaded) and push-ups for ``profile``, one workout every ``every`` days."""
    start = datetime.now(UTC) - timedelta(days=days - 1)
    for d in range(0, days, every):
        at = (start + timedelta(days=d)).isoformat()
        r = WorkoutRecorder(db, profile, started_at=at)
        for ex, load in (("squat", 40.0 + d), ("push_up", None)):
            for _ in range(2):
                r.start_set(ex, load=load, unit="kg", target_reps=8)
                for i in range(1, 9 + d % 3):
                    r.rep(RepDetail(i, 0, 1, 2, 1.0 + 0.05 * i, 0.2, 0.8 + 0.05 * i, 85.0 + i, 100.0 - 6 * i,
                                    150.0, faults=("knees_in",) if i % 4 == 0 else ()))  # fmt: skip
                r.finish_set()
        r.finish()
