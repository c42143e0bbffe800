"""Storage: opening safely, refusing bad files without touching them, the writer, records, CLI."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Connection

from app.engine.events import FormFault, RepDetail
from app.errors import StorageError
from app.storage import SCHEMA_VERSION, open_database
from app.storage import records as rec
from app.storage.db import Database, StorageOptions
from app.storage.pins import hash_pin, verify_pin
from app.storage.recorder import WorkoutRecorder

ROOT = Path(__file__).resolve().parents[1]


def rep(i: int, *, faults: tuple[str, ...] = ()) -> RepDetail:
    return RepDetail(i, 0.0, 1.0, 2.0, 1.0, 0.1, 0.9, 90.0, 100.0 - i, 150.0, faults=faults)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_db(tmp_path: Path) -> Path:
    db = open_database(tmp_path)
    r = WorkoutRecorder(db, "ann")
    r.start_set("squat", load=20.0, unit="kg")
    for i in range(1, 4):
        r.rep(rep(i))
    r.finish()
    db.close()
    return tmp_path / "spotter.db"


def test_new_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    with open_database(tmp_path) as db, db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: crash-safe with WAL
        assert conn.exec_driver_sql("PRAGMA user_version").scalar() == SCHEMA_VERSION
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0003"


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    with open_database(tmp_path) as db, pytest.raises(StorageError, match="FOREIGN KEY"):
        db.writer.call(lambda c: rec.record_rep(c, "no-such-set", rep(1)))


def test_records_are_sync_ready(tmp_path: Path) -> None:
    make_db(tmp_path)
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM reps")]
        seqs = [r[0] for r in conn.execute("SELECT seq FROM reps ORDER BY created_at")]
        counter = conn.execute("SELECT value FROM change_seq").fetchone()[0]
    assert all(len(i) == 32 for i in ids) and len(set(ids)) == 3
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and counter >= max(seqs)


def test_soft_delete_is_a_tombstone(tmp_path: Path) -> None:
    from app.storage import schema as s
    from app.storage.queries import workout_history

    with open_database(tmp_path) as db:
        pid = db.writer.call(lambda c: rec.create_profile(c, "bob"))
        wid = db.writer.call(lambda c: rec.start_workout(c, pid))
        db.writer.call(lambda c: rec.soft_delete(c, s.workouts, wid))
        with db.read() as conn:
            row = conn.exec_driver_sql("SELECT deleted_at FROM workouts WHERE id = ?", (wid,)).one()
            assert row[0] is not None
            assert workout_history(conn) == []


def test_events_cues_and_pin(tmp_path: Path) -> None:
    with open_database(tmp_path) as db:
        pid = db.writer.call(lambda c: rec.create_profile(c, "gym-7", kind="member", pin="4321"))
        wid = db.writer.call(lambda c: rec.start_workout(c, pid))
        db.writer.call(
            lambda c: rec.record_event(c, wid, FormFault(3.0, "squat", 1, "knees_in", "Knees out"))
        )
        db.writer.call(lambda c: rec.record_cue(c, wid, "Knees out", t=3.1, fault="knees_in"))
        with db.read() as conn:
            stored = conn.exec_driver_sql("SELECT pin_hash FROM profiles").scalar_one()
            payload = json.loads(conn.exec_driver_sql("SELECT payload FROM events").scalar_one())
    assert "4321" not in stored and verify_pin("4321", stored) and not verify_pin("1234", stored)
    assert payload["fault"] == "knees_in"


def test_pin_hash_is_salted() -> None:
    assert hash_pin("0000") != hash_pin("0000")
    assert not verify_pin("0000", "garbage")


def test_writer_runs_everything_on_one_thread(tmp_path: Path) -> None:
    with open_database(tmp_path) as db:
        names = [db.writer.submit(lambda _c: threading.current_thread().name) for _ in range(20)]
        assert {f.result(timeout=5) for f in names} == {"db-writer"}
    assert not db.writer.running
    with pytest.raises(StorageError, match="not running"):
        db.writer.submit(lambda _c: None)


def test_failed_job_rolls_back_and_writer_goes_on(tmp_path: Path) -> None:
    def half(c: object) -> None:
        rec.create_profile(c, "half")  # type: ignore[arg-type]
        raise ValueError("boom")

    with open_database(tmp_path) as db:
        with pytest.raises(ValueError, match="boom"):
            db.writer.call(half)
        db.writer.call(lambda c: rec.create_profile(c, "whole"))
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT name FROM profiles").scalars().all() == ["whole"]


# ------------------------------------------------------------------------------ bad input
def test_garbage_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "spotter.db"
    path.write_bytes(b"this is not a database" * 100)
    before = digest(path)
    with pytest.raises(StorageError, match="damaged"):
        open_database(tmp_path)
    assert digest(path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["spotter.db"]


def test_corrupt_pages_are_refused_untouched(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : 3 * page] = os.urandom(page)  # a b-tree page of some table
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(StorageError, match="damaged"):
        open_database(tmp_path)
    assert digest(path) == before


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = digest(path)
    with pytest.raises(StorageError, match="newer version of Spotter"):
        open_database(tmp_path)
    assert digest(path) == before


def test_unknown_revision_is_refused(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(StorageError, match="newer version"):
        open_database(tmp_path)


def test_read_only_file_is_refused(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    path.chmod(0o444)
    try:
        with pytest.raises(StorageError, match="read-only"):
            open_database(tmp_path)
    finally:
        path.chmod(0o644)


def test_locked_database_is_refused(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match="locked by another program"):
            open_database(tmp_path, options=StorageOptions(busy_timeout_ms=200))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_full_disk_is_a_clear_error_and_keeps_what_was_saved(tmp_path: Path) -> None:
    make_db(tmp_path)
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    db = open_database(tmp_path, options=StorageOptions(max_page_count=pages))
    try:
        big = "x" * 100_000
        with pytest.raises(StorageError, match="full"):
            db.writer.call(lambda c: rec.create_profile(c, big))
        assert db.writer.running  # still usable once space is freed
    finally:
        db.close()
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM reps").fetchone()[0] == 3
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_pending_migration_backs_up_first(tmp_path: Path) -> None:
    path = make_db(tmp_path)
    with sqlite3.connect(path) as conn:  # pretend it was written before the schema version existed
        conn.execute("PRAGMA user_version = 0")
        conn.execute("DELETE FROM alembic_version")
        conn.execute("DROP TABLE exports")
    with pytest.raises(StorageError, match="Could not prepare"):  # the tables exist: the upgrade fails
        open_database(tmp_path)
    (backup,) = (tmp_path / "backups").glob("spotter-v0-*.db")  # ... but the copy was taken first
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT COUNT(*) FROM reps").fetchone()[0] == 3
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ------------------------------------------------------------------------------------ CLI
def spotter(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=60, check=False,
        cwd=ROOT, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_cli_db_commands_honour_data_dir_and_env(tmp_path: Path) -> None:
    make_db(tmp_path)
    out = spotter("--data-dir", str(tmp_path), "db", "path")
    assert out.returncode == 0 and out.stdout.strip() == str(tmp_path / "spotter.db")
    out = spotter("db", "tables", env={"SPOTTER_DATA_DIR": str(tmp_path)})
    assert "reps" in out.stdout and out.returncode == 0
    out = spotter("db", "dump", "reps", "--json", env={"SPOTTER_DATA_DIR": str(tmp_path)})
    assert [r["idx"] for r in json.loads(out.stdout)] == [1, 2, 3]
    out = spotter("--data-dir", str(tmp_path), "db", "dump", "nope")
    assert out.returncode == 2 and "No table" in out.stderr


def test_cli_reports_a_damaged_database_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "spotter.db").write_bytes(b"junk" * 1000)
    out = spotter("--data-dir", str(tmp_path), "db", "tables")
    assert out.returncode == 2 and out.stderr.startswith("spotter: error: The database")
    assert "Traceback" not in out.stderr


# ------------------------------------------------------------------------------ migrations
@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine's time zone is New York's (UTC-5, UTC-4 in summer) for the test."""
    monkeypatch.setenv("TZ", "EST5EDT,M3.2.0,M11.1.0")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _database_at_0001(directory: Path) -> Path:
    from alembic import command

    from app.storage.db import _alembic_config, _make_engine

    path = directory / "spotter.db"
    engine = _make_engine(path, StorageOptions())
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql("PRAGMA user_version=1")
    engine.dispose()
    stamp = "2025-01-01T00:00:00+00:00"
    sync = f"'{stamp}', '{stamp}', NULL, 1"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(f"INSERT INTO profiles VALUES ('p', 'ann', 'home', NULL, 'kg', {sync})")
        for wid, at in (
            ("w1", "2025-02-01T04:30:00.000000+00:00"),
            ("w2", "2025-07-01T03:30:00.000000+00:00"),
        ):
            conn.execute(
                f"INSERT INTO workouts VALUES ('{wid}', 'p', NULL, NULL, '{at}', NULL, 'video', '', {sync})"
            )
            conn.execute(f"INSERT INTO workout_exercises VALUES ('e{wid}', '{wid}', 'squat', 0, {sync})")
            conn.execute(
                f"INSERT INTO sets VALUES ('s{wid}', 'e{wid}', '{wid}', 'p', 'squat', 0, '{at}', NULL, NULL, "
                f"5, 5, 0, 40.0, 'kg', {sync})"
            )
    return path


def test_migration_0002_backs_up_and_stores_local_offsets(tmp_path: Path, new_york: None) -> None:
    from app.storage.queries import set_summaries, workout_history

    path = _database_at_0001(tmp_path)
    with open_database(tmp_path) as db, db.read() as conn:
        offsets = conn.exec_driver_sql("SELECT id, utc_offset_min FROM workouts ORDER BY id").all()
        set_offsets = conn.exec_driver_sql("SELECT utc_offset_min, hold_s FROM sets ORDER BY id").all()
        days = sorted(s.day.isoformat() for s in set_summaries(conn))
        history = workout_history(conn, since="2025-01-31", until="2025-02-01")
    assert offsets == [("w1", -300), ("w2", -240)]  # winter and summer time, each at its own date
    assert set_offsets == [(-300, None), (-240, None)]
    assert days == ["2025-01-31", "2025-06-30"]  # 04:30 and 03:30 UTC are the evening before in New York
    assert [w.id for w in history] == ["w1"] and history[0].local_start.hour == 23
    (backup,) = (tmp_path / "backups").glob("spotter-v1-*.db")
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    assert path.exists()


def test_schema_matches_the_migrations(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.storage.schema import metadata

    with open_database(tmp_path) as db, db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


# ------------------------------------------------------------------------------ queries
def _bulk_history(db: Database, workouts: int) -> str:
    """``workouts`` daily workouts of 2 sets of 5 reps for one profile, written in one transaction."""
    from datetime import UTC, datetime, timedelta

    def load(c: Connection) -> str:
        pid = rec.create_profile(c, "ann")
        start = datetime(2024, 1, 1, 12, tzinfo=UTC)
        for d in range(workouts):
            at = (start + timedelta(days=d)).isoformat()
            wid = rec.start_workout(c, pid, started_at=at)
            weid = rec.add_exercise(c, wid, "squat", 0)
            for k in range(2):
                sid = rec.start_set(
                    c, rec.SetPlan(wid, weid, pid, "squat", k, load=40.0, unit="kg", started_at=at)
                )
                for i in range(1, 6):
                    rec.record_rep(c, sid, rep(i))
        return pid

    return db.writer.call(load)


def _vm_steps(conn: object, fn: object) -> int:
    """SQLite virtual-machine steps (in units of 100) that ``fn()`` costs on ``conn``."""
    raw = conn.connection.dbapi_connection  # type: ignore[attr-defined]
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    raw.set_progress_handler(tick, 100)
    try:
        fn()  # type: ignore[operator]
    finally:
        raw.set_progress_handler(None, 100)
    return steps[0]


def test_last_workouts_query_reads_only_those_workouts(tmp_path: Path) -> None:
    from app.storage.queries import workout_history

    with open_database(tmp_path) as db:
        pid = _bulk_history(db, 400)
        with db.read() as conn:
            last = workout_history(conn, profile_id=pid, limit=3)
            every = workout_history(conn, profile_id=pid)
            few = _vm_steps(conn, lambda: workout_history(conn, profile_id=pid, limit=3))
            full = _vm_steps(conn, lambda: workout_history(conn, profile_id=pid))
    assert [w.id for w in last] == [w.id for w in every[:3]] and len(every) == 400
    assert last[0].started_at.startswith("2025-02-03") and (last[0].sets, last[0].reps) == (2, 10)
    assert last[0].volume_kg == 400.0
    assert few * 20 < full, (few, full)  # 3 of 400 workouts: a small fraction of the work


def test_days_are_local_days(tmp_path: Path, new_york: None) -> None:
    """A workout at 23:30 in New York (04:30 UTC the next day) counts for the New York day."""
    from datetime import date

    from app.reports.data import gather
    from app.storage.queries import leaderboard_stats, set_summaries, workout_history

    with open_database(tmp_path) as db:
        for at in ("2025-03-30T16:00:00+00:00", "2025-04-01T03:30:00+00:00"):  # Mar 30 12:00, Mar 31 23:30
            r = WorkoutRecorder(db, "ann", started_at=at)
            r.start_set("squat", load=20.0, unit="kg")
            for i in range(1, 4):
                r.rep(rep(i))
            r.finish()
        with db.read() as conn:
            offsets = conn.exec_driver_sql("SELECT DISTINCT utc_offset_min FROM workouts").scalars().all()
            days = sorted(s.day for s in set_summaries(conn))
            march = workout_history(conn, since="2025-03-01", until="2025-04-01")
            april = workout_history(conn, since="2025-04-01", until="2025-05-01")
            (board,) = leaderboard_stats(
                conn, since="2025-03-31", until="2025-04-01", today=date(2025, 3, 31)
            )
            report = gather(conn, period="month", today=date(2025, 3, 31))
            pr_day = conn.exec_driver_sql("SELECT MIN(achieved_at) FROM personal_records").scalar()
    assert offsets == [-240]  # EDT
    assert days == [date(2025, 3, 30), date(2025, 3, 31)]
    assert len(march) == 2 and april == [] and march[0].local_start.strftime("%d %H:%M") == "31 23:30"
    assert (board.reps, board.streak) == (3, 2)  # Mar 30 and Mar 31, ending "today"
    assert len(report.details) == 2 and [p.day.day for p in report.days] == [30, 31]
    assert pr_day is not None


def test_offset_of_an_explicit_time_zone() -> None:
    from datetime import timedelta, timezone

    from app.storage.localtime import local_day, offset_min, utc_bounds

    india = timezone(timedelta(hours=5, minutes=30))
    assert offset_min("2025-03-31T20:00:00+00:00", india) == 330
    assert str(local_day("2025-03-31T20:00:00+00:00", 330)) == "2025-04-01"
    assert utc_bounds("2025-03-01", "2025-04-01") == (
        "2025-02-28T10:00:00+00:00",
        "2025-04-01T14:00:00+00:00",
    )
