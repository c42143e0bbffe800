"""Sync benchmark: one device's history pushed, pulled by a second device, then a sync with nothing
to do, over real HTTP on loopback against the embedded Postgres.

    .venv/bin/python bench/sync.py [--workouts 60] [--json OUT]

The first device gets ``--workouts`` daily workouts of squats and push-ups (4 sets of 8-10 reps,
about 45 rows each, written through the writer thread as the app does); the server runs in this
process (uvicorn in a thread, a durable embedded Postgres in a temporary folder, stopped at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn

from app.engine.events import RepDetail
from app.storage import open_database
from app.storage.recorder import WorkoutRecorder
from app.sync import local
from app.sync.run import enrol, sync_now
from server_sync import service as svc
from server_sync.api import create_app
from server_sync.config import ServerConfig
from server_sync.db import make_engine, migrate
from server_sync.embedded import EmbeddedPostgres

T = TypeVar("T")


def seed(db_dir: Path, workouts: int) -> None:
    start = datetime.now(UTC) - timedelta(days=workouts)
    with open_database(db_dir) as db:
        for d in range(workouts):
            r = WorkoutRecorder(db, "Ana", started_at=(start + timedelta(days=d)).isoformat())
            for ex, load in (("squat", 40.0 + d % 20), ("push_up", None)):
                for _ in range(2):
                    r.start_set(ex, load=load, unit="kg", target_reps=8)
                    for i in range(1, 9 + d % 3):
                        r.rep(RepDetail(i, 0, 1, 2, 1.0, 0.2, 0.8, 85.0 + i, 100.0 - 6 * i, 150.0))
                    r.finish_set()
            r.finish()


def timed(label: str, fn: Callable[[], T], results: dict[str, object]) -> T:
    started = time.perf_counter()
    value = fn()
    results[label] = round(time.perf_counter() - started, 3)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workouts", type=int, default=60)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # tokens in files
    root = Path(tempfile.mkdtemp(prefix="spotter-bench-sync-"))
    root.chmod(0o755)  # an unprivileged Postgres (under root: nobody) must reach its folder
    results: dict[str, object] = {"workouts": args.workouts}
    pg = EmbeddedPostgres(root / "pg")
    try:
        url = timed("postgres_start_s", pg.start, results)
        engine = make_engine(url)
        migrate(engine)
        server = uvicorn.Server(
            uvicorn.Config(create_app(ServerConfig(rate_per_s=0), engine=engine), port=0, log_config=None)
        )
        thread = threading.Thread(target=server.run, name="uvicorn-bench", daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        timed("seed_s", lambda: seed(root / "a", args.workouts), results)
        for name in ("a", "b"):
            with engine.begin() as conn:
                code = svc.create_enrol_code(conn, "bench")
            enrol(root / name, base, code, name=name)
        with open_database(root / "a") as a, open_database(root / "b") as b:
            with a.read() as conn:
                rows = results["rows"] = local.pending_count(conn, after=0)
            timed("first_push_s", lambda: sync_now(a, root / "a"), results)
            timed("first_pull_s", lambda: sync_now(b, root / "b"), results)
            timed("noop_sync_s", lambda: sync_now(b, root / "b"), results)
        for key in ("first_push", "first_pull"):
            results[f"{key}_rows_per_s"] = round(rows / float(str(results[f"{key}_s"])))
        server.should_exit = True
        thread.join(10)
        engine.dispose()
    finally:
        timed("postgres_stop_s", pg.stop, results)
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
