"""The sync tests' real embedded Postgres (session fixtures, always stopped) and their helpers."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

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
