"""The sync tests' real embedded Postgres (session fixtures, always stopped) and their helpers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from app.storage import Database
from app.storage import schema as local_schema
from server_sync.config import ServerConfig
from server_sync.db import make_engine, migrate
from server_sync.embedded import EmbeddedPostgres


def open_folder(prefix: str) -> Path:
    """A temporary folder an unprivileged Postgres (under root: nobody) can reach."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="session")
def sync_postgres() -> Iterator[str]:
    """The URL of a real embedded Postgres, started once for the session and always stopped."""
    folder = open_folder("spotter-sync-pg-")
    server = EmbeddedPostgres(folder / "pg", durable=False)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sync_engine(sync_postgres: str) -> Iterator[Engine]:
    engine = make_engine(sync_postgres, pool_size=4)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


def server_config(**overrides: object) -> ServerConfig:
    values: dict[str, object] = {"rate_per_s": 0.0, "data_dir": Path(os.devnull)}
    values.update(overrides)
    return ServerConfig.model_validate(values)


def new_gym() -> str:
    return f"gym-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(
    data_dir: Path, port: int, log: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``spotter-sync serve`` as its own process (its own session, so a test can kill it and all it
    started), once it answers ``/v1/health``; its output goes to ``log``."""
    env = env if env is not None else {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [
        sys.executable,
        "-m",
        "server_sync.cli",
        "--data-dir",
        str(data_dir),
        "serve",
        "--port",
        str(port),
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"serve did not answer: {log.read_text()[-2000:]}")


def device_rows(db: Database, table: str) -> dict[str, dict[str, Any]]:
    """A device's rows of ``table`` by id, as it syncs them (its own ``seq`` left out)."""
    t = local_schema.metadata.tables[table]
    with db.read() as conn:
        return {
            r["id"]: {k: v for k, v in r.items() if k != "seq"} for r in conn.execute(select(t)).mappings()
        }


def stop_everything(procs: list[subprocess.Popen[bytes]], pg: Path, root: Path) -> None:
    """Kill what a test started (each serve with all its children), stop its Postgres, remove its
    folder: run it in the test's ``finally``."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    EmbeddedPostgres(pg).stop()
    shutil.rmtree(root, ignore_errors=True)
