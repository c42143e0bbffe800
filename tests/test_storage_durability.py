"""A counted rep is a saved rep: SIGKILL a recording process at random moments, lose nothing."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("storage_kill_child.py")
ITERATIONS = 10


def test_acknowledged_reps_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random(1234)
    acknowledged: set[int] = set()
    start = 1
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(ITERATIONS):
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(tmp_path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # wait until it is recording
        assert first.strip(), "the child produced no rep"
        acknowledged.add(int(first))
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        # Only complete lines count as acknowledged; a torn last line was never fully said.
        lines = out.split("\n")
        acknowledged.update(int(x) for x in lines[:-1] if x.strip())
        start = max(acknowledged) + 1_000  # distinct indices per run
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {round(row[0]) for row in conn.execute("SELECT start_s FROM reps")}
        counted = conn.execute("SELECT SUM(achieved_reps) FROM sets").fetchone()[0]
    lost = acknowledged - stored
    assert not lost, f"acknowledged reps lost: {sorted(lost)[:10]}"
    assert counted == len(stored)  # the per-set count moved in the same transaction as each rep
    assert len(acknowledged) > ITERATIONS
