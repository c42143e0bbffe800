"""Opening the database safely: check, back up, migrate, then hand out the writer and readers.

Every check happens before anything is written. A file that is not a database, is corrupt, is
read-only, is locked by another program or was written by a newer Spotter is refused with a
``StorageError`` that says so; nothing is deleted or overwritten. Before a pending migration the
file is copied with SQLite's online backup API into ``backups/`` next to it.

Durability: WAL with ``synchronous=NORMAL`` (the default here), one commit per rep. A committed rep
is in the WAL file before the commit returns, so it survives any crash or kill of Spotter (the
SIGKILL test proves it), and a commit costs about 1.4 ms. ``synchronous="FULL"`` also survives a
power cut between checkpoints, at the price of one fsync per rep (7 ms on the development VM);
a kiosk on an unreliable supply can choose it with ``StorageOptions(synchronous="FULL")``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

from app.errors import StorageError

from .paths import DB_FILENAME, resolve_data_dir
from .writer import DatabaseWriter

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # PRAGMA user_version written by the newest migration this build knows
SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATIONS = Path(__file__).with_name("migrations")
KEEP_BACKUPS = 5


@dataclass(frozen=True, slots=True)
class StorageOptions:
    synchronous: str = "NORMAL"  # "NORMAL" or "FULL" (see the module docstring)
    busy_timeout_ms: int = 1000
    max_page_count: int | None = None  # caps the file size (kiosk quotas; simulates a full disk)


class Database:
    """An open, migrated database: ``writer`` for every write, ``read()`` for reads from any thread."""

    def __init__(self, path: Path, engine: Engine, writer: DatabaseWriter) -> None:
        self.path = path
        self.engine = engine
        self.writer = writer

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.writer.stop()
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_database(
    data_dir: Path | str | None = None, *, options: StorageOptions | None = None, start_writer: bool = True
) -> Database:
    """Check, back up and migrate the database in ``data_dir``; start its writer thread."""
    opts = options or StorageOptions()
    directory = resolve_data_dir(data_dir)
    path = directory / DB_FILENAME
    _ensure_dir(directory)
    existed = path.exists()
    if existed:
        version = _check_existing(path, opts)
    else:
        _check_writable_dir(directory)
        version = 0
    engine = _make_engine(path, opts)
    try:
        if version < SCHEMA_VERSION:
            if existed:
                backup(path, directory / "backups" / f"spotter-v{version}-{_stamp()}.db")
            _migrate(engine)
    except Exception:
        engine.dispose()
        raise
    writer = DatabaseWriter(engine)
    if start_writer:
        writer.start()
    log.info("database %s at schema version %d", path, SCHEMA_VERSION)
    return Database(path, engine, writer)


# ------------------------------------------------------------------------------------ checks
def _ensure_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"Cannot create the data folder {directory}: {exc.strerror}.") from exc


def _check_writable_dir(directory: Path) -> None:
    if not os.access(directory, os.W_OK) or not directory.stat().st_mode & stat.S_IWUSR:
        raise StorageError(
            f"The data folder {directory} is read-only; choose another with --data-dir or SPOTTER_DATA_DIR."
        )


def _check_existing(path: Path, opts: StorageOptions) -> int:
    """Refuse anything unsafe about an existing file; return its schema version."""
    mode = path.stat().st_mode
    if not os.access(path, os.W_OK) or not mode & stat.S_IWUSR:
        raise StorageError(
            f"The database {path} is read-only. Make it writable (or copy it elsewhere and point "
            "--data-dir at the copy); Spotter will not change it."
        )
    _check_writable_dir(path.parent)
    with path.open("rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise StorageError(_corrupt(path, "it is not an SQLite database"))
    try:
        with closing(_raw_connect(path, opts)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            if [r[0] for r in rows] != ["ok"]:
                raise StorageError(_corrupt(path, "; ".join(str(r[0]) for r in rows[:3])))
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            revision = _stored_revision(conn)
            # A write lock probe: fails fast if another program holds the database.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        raise StorageError(_sqlite_message(path, exc)) from exc
    if version > SCHEMA_VERSION or (revision is not None and revision not in _known_revisions()):
        raise StorageError(
            f"The database {path} was written by a newer version of Spotter (schema {version}, "
            f"revision {revision}); this version understands schema {SCHEMA_VERSION}. "
            "Update Spotter; the file has not been changed."
        )
    return version


def _raw_connect(path: Path, opts: StorageOptions) -> sqlite3.Connection:
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=opts.busy_timeout_ms / 1000,
        isolation_level=None,
    )  # fmt: skip
    return conn


def _stored_revision(conn: sqlite3.Connection) -> str | None:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'")
    if exists.fetchone() is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _corrupt(path: Path, why: str) -> str:
    return (
        f"The database {path} is damaged ({why}). Spotter has not changed it. Restore a copy from "
        f"{path.parent / 'backups'} or move the file aside to start afresh."
    )


def _sqlite_message(path: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return f"The database {path} is locked by another program (is Spotter already running?)."
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return _corrupt(path, text)
    if "readonly" in lowered or "unable to open" in lowered:
        return f"The database {path} cannot be opened for writing ({text})."
    return f"The database {path} cannot be used: {text}."


# ------------------------------------------------------------------------ engine, migrations
def _make_engine(path: Path, opts: StorageOptions) -> Engine:
    if opts.synchronous not in ("FULL", "NORMAL"):
        raise StorageError(f"Unsupported synchronous mode {opts.synchronous!r}.")
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": opts.busy_timeout_ms / 1000}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={opts.synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(opts.busy_timeout_ms)}")
        if opts.max_page_count is not None:
            cur.execute(f"PRAGMA max_page_count={int(opts.max_page_count)}")
        cur.close()

    return engine


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def _migrate(engine: Engine) -> None:
    cfg = _alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"Could not prepare the database {engine.url.database}: {exc}") from exc


def backup(source: Path, target: Path) -> Path:
    """Copy a live database with SQLite's backup API (consistent even while others read it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"Could not back up {source} before upgrading it: {exc}.") from exc
    backups = sorted(target.parent.glob("spotter-v*.db"))
    for old in backups[:-KEEP_BACKUPS]:
        old.unlink(missing_ok=True)
    log.info("backed up %s to %s", source, target)
    return target


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
