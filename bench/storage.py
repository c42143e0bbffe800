"""Storage benchmark: ~5 years of daily workouts (~500,000 reps), then the queries people wait on.

    .venv/bin/python bench/storage.py [--days 1826] [--data-dir DIR]

Prints the time of the history summary, the kiosk leaderboard, a monthly PDF with charts and one
rep written through the writer thread (commit, WAL, synchronous=NORMAL by default).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.events import RepDetail
from app.reports.data import gather
from app.reports.pdf import write_pdf
from app.storage import open_database, schema
from app.storage import records as rec
from app.storage.db import StorageOptions
from app.storage.queries import leaderboard_stats, workout_history

EXERCISES = ("squat", "bench_press", "deadlift", "shoulder_press", "biceps_curl")
SETS_PER_EXERCISE = 5
PROFILES = ("ann", "bob", "cy", "dee")


def generate(db_path_dir: Path, days: int) -> int:
    """Bulk-load through one transaction per day (the writer is for live use, not bulk loads)."""
    db = open_database(db_path_dir)
    rng = random.Random(7)
    today = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0)
    total = 0
    pids: list[str] = [db.writer.call(lambda c, n=n: rec.create_profile(c, n)) for n in PROFILES]  # type: ignore[misc]
    for day in range(days):
        at = (today - timedelta(days=days - 1 - day)).isoformat()
        pid = pids[day % len(pids)] if day % 5 else pids[0]

        def one_day(c, at=at, pid=pid, day=day):  # type: ignore[no-untyped-def]
            n = 0
            wid = rec.start_workout(c, pid, started_at=at, source="live")
            for pos, ex in enumerate(EXERCISES):
                weid = rec.add_exercise(c, wid, ex, pos)
                for k in range(SETS_PER_EXERCISE):
                    plan = rec.SetPlan(wid, weid, pid, ex, k, 10, 40.0 + day * 0.01, "kg", at)
                    sid = rec.start_set(c, plan)
                    reps = [rec.rep_values(sid, RepDetail(i, 0, 1, 2, 1.0, 0.1, 0.9, 90.0 + rng.random(),
                                                           100 - 3 * i, 150, faults=("knees_in",) if rng.random() < 0.2 else ()))
                            for i in range(1, 12)]  # fmt: skip
                    seq = rec.next_seq(c)
                    for r in reps:
                        r.update(id=rec.new_id(), created_at=at, modified_at=at, seq=seq)
                    c.execute(schema.reps.insert(), reps)
                    clean = sum(1 for r in reps if r["faults"] == "[]")
                    c.exec_driver_sql(
                        "UPDATE sets SET achieved_reps = ?, clean_reps = ? WHERE id = ?",
                        (len(reps), clean, sid),
                    )
                    n += len(reps)
            rec.finish_workout(c, wid, ended_at=at)
            return n

        total += db.writer.call(one_day)
    db.close()
    return total


def timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=1826)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="NORMAL")
    args = ap.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="spotter-bench-"))
    t0 = time.perf_counter()
    reps = generate(data_dir, args.days)
    print(f"generated {args.days} workouts, {reps:,} reps in {time.perf_counter() - t0:.1f} s ({data_dir})")
    db = open_database(data_dir, options=StorageOptions(synchronous=args.synchronous))
    size_mb = (data_dir / "spotter.db").stat().st_size / 1e6
    today = date.today()
    month = today.replace(day=1).isoformat()
    with db.read() as conn:
        pid = conn.exec_driver_sql("SELECT id FROM profiles WHERE name = 'ann'").scalar_one()
        results = {
            "history, all workouts of one profile (ms)": timed(lambda: workout_history(conn, profile_id=pid)),
            "history, last 30 workouts (ms)": timed(lambda: workout_history(conn, profile_id=pid, limit=30)),
            "leaderboard, this month (ms)": timed(
                lambda: leaderboard_stats(conn, since=month, until="9999", today=today)
            ),
            "leaderboard, all time (ms)": timed(
                lambda: leaderboard_stats(conn, since="", until="9999", today=today)
            ),
        }
        out = data_dir / "month.pdf"
        results["monthly PDF with charts (ms)"] = timed(
            lambda: write_pdf(gather(conn, period="month"), out), repeat=3
        )
    wid = db.writer.call(lambda c: rec.start_workout(c, pid))
    weid = db.writer.call(lambda c: rec.add_exercise(c, wid, "squat", 0))
    sid = db.writer.call(lambda c: rec.start_set(c, rec.SetPlan(wid, weid, pid, "squat", 0)))
    lat = []
    for i in range(200):
        rep = RepDetail(i, 0, 1, 2, 1.0, 0.1, 0.9, 90.0, 100.0, 150.0)
        t1 = time.perf_counter()
        db.writer.call(lambda c, rep=rep: rec.record_rep(c, sid, rep))  # type: ignore[misc]
        lat.append((time.perf_counter() - t1) * 1000)
    lat.sort()
    results["one rep on the writer thread, median (ms)"] = statistics.median(lat)
    results["one rep on the writer thread, p95 (ms)"] = lat[int(len(lat) * 0.95)]
    db.close()
    print(f"database {size_mb:.0f} MB, synchronous={args.synchronous}")
    for k, v in results.items():
        print(f"  {k:45s} {v:8.2f}")
    print(json.dumps({k: round(v, 2) for k, v in results.items()}))


if __name__ == "__main__":
    main()
