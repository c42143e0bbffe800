"""Workouts of known shape for tests that read history back (reports, history, leaderboards); Qt-free."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.engine.events import RepDetail
from app.storage.db import Database
from app.storage.recorder import WorkoutRecorder


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
