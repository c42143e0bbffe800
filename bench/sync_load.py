"""Many devices at once: ingestion rate and push latency of the sync server on this machine.

    .venv/bin/python bench/sync_load.py [--devices 50] [--gyms 5] [--workouts 20] [--json OUT]

The server runs as it does in a gym: ``spotter-sync serve`` in its own process, on a durable
embedded Postgres in a temporary folder, its default rate limits on. ``--devices`` simulated devices
(spread over ``--gyms`` gyms) enrol over HTTP, then all push at once, each its own history page by
page as a device does (500 rows a page, an Idempotency-Key each). Their rows are real-shaped: one
device database is recorded through the app's writer thread (``--workouts`` workouts of squats and
push-ups), read back with the sync client's own paging, and given fresh ids for every device.

Two phases:
- backlog: every device pushes its whole history at once (a gym's first sync, or a morning after
  the server was down): rows and rep rows ingested per second, and how long each push waited;
- steady: for ``--steady-s`` seconds each device pushes one workout (~46 rows, as after each
  workout) at random, on average every ``--every-s`` seconds: the push latency a member's device
  sees in a busy gym.
Printed for each: push latency p50/p95/p99 (client side, loopback) and where the time went: CPU
seconds of the API process, of Postgres (all its processes) and of this client, against the wall.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import numpy as np
import psutil
from sync import seed

from app.storage import open_database
from app.sync import local
from app.sync.wire import Change
from server_sync import service as svc
from server_sync.db import make_engine
from server_sync.embedded import EmbeddedPostgres
from server_sync.schema import SYNCED

PAGE = 500  # rows a push page, as app.sync.run sends them
ROOT = Path(__file__).resolve().parents[1]


def recorded_rows(folder: Path, workouts: int) -> list[Change]:
    """One device's history, recorded as the app records it (``bench/sync.py``'s) and read as the
    sync client reads it."""
    seed(folder, workouts)
    with open_database(folder) as db:
        with db.read() as conn:
            upto = local.current_seq(conn)
        return [c for page in local.changes_between(db.read, after=0, upto=upto, page=PAGE) for c in page]


def renamed(rows: list[Change]) -> list[Change]:
    """The same history with fresh ids: every value that was an id becomes the new id."""
    fresh = {str(c.row["id"]): uuid.uuid4().hex for c in rows}
    return [
        Change(table=c.table, row={k: fresh.get(v, v) if isinstance(v, str) else v for k, v in c.row.items()})
        for c in rows
    ]


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def postgres_cpu_s(postmaster: int) -> float:
    root = psutil.Process(postmaster)
    total = cpu_s(root)
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a backend that just ended
            total += cpu_s(child)
    return total


async def steady(
    base: str, tokens: list[str], workout: list[Change], *, seconds: float, every_s: float, seed: int = 7
) -> tuple[list[float], int]:
    """Each device pushes a fresh copy of ``workout`` at exponential intervals (mean ``every_s``)."""
    latencies: list[float] = []
    rng = np.random.default_rng(seed)
    end = time.perf_counter() + seconds
    pushed = 0

    async def device(client: httpx.AsyncClient, token: str, waits: list[float]) -> None:
        nonlocal pushed
        for wait in waits:
            await asyncio.sleep(min(wait, max(0.0, end - time.perf_counter())))
            if time.perf_counter() >= end:
                return
            body = {"changes": [c.model_dump(mode="json") for c in renamed(workout)]}
            t0 = time.perf_counter()
            answer = await client.post(
                f"{base}/v1/sync/push",
                json=body,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
            )
            answer.raise_for_status()
            latencies.append(time.perf_counter() - t0)
            pushed += len(body["changes"])

    n = int(seconds / every_s * 3) + 3
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(device(client, tok, list(rng.exponential(every_s, n))) for tok in tokens))
    return latencies, pushed


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {f"p{q}": round(float(np.percentile(ms, q)), 1) for q in (50, 95, 99)}


async def push_all(
    base: str, tokens: list[str], pages: list[list[list[dict[str, Any]]]]
) -> tuple[list[float], int, float]:
    """Every device pushes its pages one after the other, all devices at once; the latencies of
    every push, the pushes retried after a 429, and the wall time."""
    latencies: list[float] = []
    retried = 0

    async def device(client: httpx.AsyncClient, token: str, mine: list[list[dict[str, Any]]]) -> None:
        nonlocal retried
        for page in mine:
            body = {"changes": page}
            key = uuid.uuid4().hex
            while True:
                t0 = time.perf_counter()
                answer = await client.post(
                    f"{base}/v1/sync/push",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                )
                if answer.status_code == 429:
                    retried += 1
                    await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
                    continue
                answer.raise_for_status()
                latencies.append(time.perf_counter() - t0)
                break

    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(device(client, tok, mine) for tok, mine in zip(tokens, pages, strict=True)))
        return latencies, retried, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--gyms", type=int, default=5)
    parser.add_argument("--workouts", type=int, default=20, help="workouts in each device's history")
    parser.add_argument("--steady-s", type=float, default=20.0)
    parser.add_argument("--every-s", type=float, default=5.0, help="mean seconds between a device's workouts")
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="spotter-bench-load-"))
    root.chmod(0o755)  # an unprivileged Postgres (under root: nobody) must reach its folder
    results: dict[str, Any] = {
        "devices": args.devices,
        "gyms": args.gyms,
        "workouts_per_device": args.workouts,
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server_sync.cli",
            "--data-dir",
            str(root / "server"),
            "serve",
            "--port",
            str(args.port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    pg = EmbeddedPostgres(root / "server" / "postgres")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or serve.poll() is not None:
                raise SystemExit("spotter-sync serve did not come up")
            time.sleep(0.2)
        history = recorded_rows(root / "device", args.workouts)
        results["rows_per_device"] = len(history)
        results["rep_rows_per_device"] = sum(c.table == "reps" for c in history)
        engine = make_engine(pg.url)
        tokens = []
        for i in range(args.devices):
            with engine.begin() as conn:
                code = svc.create_enrol_code(conn, f"gym-{i % args.gyms}")
            answer = httpx.post(
                f"{base}/v1/enrol",
                json={"code": code, "name": f"device-{i}", "platform": "bench"},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            answer.raise_for_status()
            tokens.append(answer.json()["token"])
        pages = []
        for _ in tokens:
            rows = [c.model_dump(mode="json") for c in renamed(history)]
            pages.append([rows[i : i + PAGE] for i in range(0, len(rows), PAGE)])
        api = psutil.Process(serve.pid)
        postmaster = pg.running()
        assert postmaster is not None

        def cpu() -> tuple[float, float, float]:
            return cpu_s(api), postgres_cpu_s(postmaster.pid), time.process_time()

        before = cpu()
        latencies, retried, wall = asyncio.run(push_all(base, tokens, pages))
        after = cpu()
        total = results["rows_per_device"] * args.devices
        results["backlog"] = {
            "rows_pushed": total,
            "pushes": len(latencies),
            "pushes_rate_limited": retried,
            "wall_s": round(wall, 2),
            "rows_per_s": round(total / wall),
            "rep_rows_per_s": round(results["rep_rows_per_device"] * args.devices / wall),
            "push_ms": percentiles(latencies),
            "cpu_s": {
                k: round(b - a, 2)
                for k, a, b in zip(("api", "postgres", "client"), before, after, strict=True)
            },
        }
        workout = recorded_rows(root / "one-workout", 1)
        before, t0 = cpu(), time.perf_counter()
        latencies, sent = asyncio.run(
            steady(base, tokens, workout, seconds=args.steady_s, every_s=args.every_s)
        )
        wall, after = time.perf_counter() - t0, cpu()
        results["steady"] = {
            "rows_per_push": len(workout),
            "pushes": len(latencies),
            "pushes_per_s": round(len(latencies) / wall, 1),
            "rows_per_s": round(sent / wall),
            "push_ms": percentiles(latencies),
            "cpu_s": {
                k: round(b - a, 2)
                for k, a, b in zip(("api", "postgres", "client"), before, after, strict=True)
            },
            "wall_s": round(wall, 2),
        }
        with engine.connect() as conn:
            stored = sum(int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()) for t in SYNCED)
        engine.dispose()
        results["rows_stored"] = stored
        results["rows_sent"] = total + sent
        results["cores"] = psutil.cpu_count()
    finally:
        serve.terminate()
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
