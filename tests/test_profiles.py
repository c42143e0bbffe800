"""Kiosk profiles and the leaderboard, through the ``spotter`` command line (in process)."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from app.cli import main
from app.engine.events import RepDetail
from app.storage import open_database
from app.storage.pins import verify_pin
from app.storage.recorder import WorkoutRecorder


def cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data: Path,
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["--data-dir", str(data), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_profile_add_list_check_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = partial(cli, capsys, monkeypatch, tmp_path)
    assert run("profile", "add", "Ana", "--pin-stdin", stdin="2468\n")[0] == 0
    assert run("profile", "add", "Ben", "--kind", "home", "--unit", "lb")[0] == 0
    code, _, err = run("profile", "add", "Ana")
    assert code == 2 and "already a profile" in err
    code, out, _ = run("profile", "list")
    lines = out.splitlines()
    assert code == 0 and [line.split()[:4] for line in lines] == [
        ["Ana", "member", "kg", "PIN"],
        ["Ben", "home", "lb", "-"],
    ]
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        stored = conn.execute("SELECT pin_hash FROM profiles WHERE name = 'Ana'").fetchone()[0]
    assert stored.startswith("scrypt$") and "2468" not in stored and verify_pin("2468", stored)

    assert run("profile", "check", "Ana", "--pin-stdin", stdin="2468\n")[0] == 0
    code, _, err = run("profile", "check", "Ana", "--pin-stdin", stdin="1111\n")
    assert code == 2 and "wrong PIN" in err
    code, _, err = run("profile", "check", "Nobody", "--pin-stdin", stdin="1\n")
    assert code == 2 and "No profile" in err

    assert run("profile", "remove", "Ana")[0] == 0
    assert [ln.split()[0] for ln in run("profile", "list")[1].splitlines()] == ["Ben"]
    with sqlite3.connect(tmp_path / "spotter.db") as conn:  # a tombstone, not a deletion
        tomb = conn.execute("SELECT deleted_at IS NOT NULL FROM profiles WHERE name = 'Ana'").fetchall()
    assert tomb == [(1,)]
    assert run("profile", "remove", "Ana")[0] == 2
    assert run("profile", "add", "Ana")[0] == 0  # the name is free again


def test_pin_is_read_with_getpass_and_confirmed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = partial(cli, capsys, monkeypatch, tmp_path)
    answers = iter(["9753", "9753", "9753"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(answers))
    assert run("profile", "add", "Cy", "--pin")[0] == 0
    assert run("profile", "check", "Cy")[0] == 0
    mismatch = iter(["1234", "4321"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(mismatch))
    code, _, err = run("profile", "add", "Di", "--pin")
    assert code == 2 and "differ" in err
    code, _, err = run("profile", "add", "Ed", "--pin-stdin", stdin="12\n")
    assert code == 2 and "at least 4 digits" in err


def _workout(db_dir: Path, name: str, *, days_ago: int, reps: int, faulty: int, load: float | None) -> None:
    with open_database(db_dir) as db:
        at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
        r = WorkoutRecorder(db, name, started_at=at)
        r.start_set("squat", load=load, unit="kg")
        for i in range(1, reps + 1):
            faults = ("knees_in",) if i <= faulty else ()
            r.rep(RepDetail(i, 0, 1, 2, 1, 0.1, 0.9, 90.0, 100.0, 150.0, faults=faults))
        r.finish()


def test_leaderboard_boards_and_periods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = partial(cli, capsys, monkeypatch, tmp_path)
    _workout(tmp_path, "ann", days_ago=0, reps=10, faulty=0, load=None)
    _workout(tmp_path, "ann", days_ago=1, reps=10, faulty=0, load=None)
    _workout(tmp_path, "bob", days_ago=0, reps=12, faulty=8, load=50.0)
    _workout(tmp_path, "cy", days_ago=400, reps=99, faulty=0, load=10.0)

    def board(*args: str) -> list[str]:
        code, out, _ = run("leaderboard", *args)
        assert code == 0
        return [ln.split()[1] for ln in out.splitlines()[2:]]

    assert board("--period", "month", "--by", "volume")[0] == "bob"  # 600 kg
    assert board("--period", "month", "--by", "form") == ["ann", "bob"]  # 20 vs 4 + 4
    assert board("--period", "month", "--by", "streak") == ["ann", "bob"]
    assert board("--period", "all", "--by", "reps") == ["cy", "ann", "bob"]
    assert "cy" not in board("--by", "reps")  # the default: this week
    out = run("leaderboard", "--by", "reps")[1]
    assert out.startswith("Leaderboard, reps, this week")
    assert partial(cli, capsys, monkeypatch, tmp_path / "empty")("leaderboard")[1].endswith(
        "no workouts yet\n"
    )


# ------------------------------------------------------------------- --save to a PIN-protected profile
def _saved_workouts(data: Path) -> int:
    with sqlite3.connect(data / "spotter.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM workouts WHERE deleted_at IS NULL").fetchone()[0])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_save_to_a_pin_profile_needs_the_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared_data import clip

    video = str(clip("shoulderpress_01.mp4"))
    run = partial(cli, capsys, monkeypatch, tmp_path)
    monkeypatch.delenv("SPOTTER_PIN", raising=False)
    assert run("profile", "add", "Ana", "--pin-stdin", stdin="2468\n")[0] == 0
    save = ("analyze", video, "--exercise", "shoulder_press", "--save", "--profile", "Ana")

    code, _, err = run(*save)  # stdin is no terminal: refused, not asked
    assert code == 2 and err.count("\n") == 1 and "protected by a PIN" in err and "SPOTTER_PIN" in err
    code, _, err = run(*save, "--pin", "1111")
    assert code == 2 and "Wrong PIN" in err and "nothing was saved" in err
    monkeypatch.setenv("SPOTTER_PIN", "1357")
    assert run(*save)[0] == 2
    code, _, err = run("live", "--source", "no-such-camera.mp4", "--save", "--profile", "Ana")
    assert code == 2 and "Wrong PIN" in err  # refused before the camera is opened
    assert _saved_workouts(tmp_path) == 0

    monkeypatch.setenv("SPOTTER_PIN", "2468")
    code, _, err = run(*save)
    assert code == 0 and "saved 2 reps" in err, err
    monkeypatch.delenv("SPOTTER_PIN")
    code, _, err = run(*save, "--pin", "2468", "--load", "20", "--unit", "kg")
    assert code == 0 and _saved_workouts(tmp_path) == 2


def test_save_pin_is_asked_for_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from app.errors import StorageError
    from app.storage.commands import check_save_pin
    from app.storage.profiles import add_profile

    with open_database(tmp_path) as db:
        db.writer.call(lambda c: add_profile(c, "Bo", pin="8642"))
    monkeypatch.delenv("SPOTTER_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", _Terminal())
    args = argparse.Namespace(data_dir=tmp_path, profile="Bo", pin=None)
    asked: list[str] = []

    def getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return "8642"

    monkeypatch.setattr("getpass.getpass", getpass)
    check_save_pin(args)
    assert asked == ["PIN for Bo: "]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "0000")
    with pytest.raises(StorageError, match="Wrong PIN"):
        check_save_pin(args)
    check_save_pin(
        argparse.Namespace(data_dir=tmp_path, profile="new person", pin=None)
    )  # no PIN: no question


def test_a_members_report_needs_their_pin_and_shows_only_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_reports import _pdf_text

    run = partial(cli, capsys, monkeypatch, tmp_path)
    monkeypatch.delenv("SPOTTER_PIN", raising=False)
    assert run("profile", "add", "Ana", "--pin-stdin", stdin="2468\n")[0] == 0
    _workout(tmp_path, "Ana", days_ago=0, reps=7, faulty=0, load=30.0)
    _workout(tmp_path, "Bob", days_ago=0, reps=9, faulty=0, load=50.0)
    pdf = tmp_path / "ana.pdf"
    code, _, err = run("report", "--period", "week", "--profile", "Ana", "--pdf", str(pdf))
    assert code == 2 and "protected by a PIN" in err and "no report was made" in err and not pdf.exists()
    assert run("report", "--period", "week", "--profile", "Ana", "--pin", "2468", "--pdf", str(pdf))[0] == 0
    text = _pdf_text(pdf)
    assert "Ana" in text and "Bob" not in text


def test_wrong_pins_in_a_row_lock_a_profile_for_a_while(tmp_path: Path) -> None:
    from app.errors import StorageError
    from app.storage import operations as ops
    from app.storage.pins import PinLockout, check_admin_pin, hash_pin

    now = [100.0]
    lockout = PinLockout(max_tries=3, wait_s=30.0, clock=lambda: now[0])
    db = open_database(tmp_path)
    try:
        ops.add_profile(db, "Ana", pin="2468")
        for _ in range(3):
            with pytest.raises(ops.WrongPin):
                ops.check_pin(db, "Ana", "0000", lockout=lockout)
        with pytest.raises(StorageError, match="Too many wrong PINs for Ana: wait 30 s"):
            ops.check_pin(db, "Ana", "2468", lockout=lockout)  # even the right one, for now
        now[0] += 31
        ops.check_pin(db, "Ana", "2468", lockout=lockout)
        ops.check_pin(db, "Ana", "2468", lockout=lockout)  # a right PIN clears the count
    finally:
        db.close()
    admin = hash_pin("9876")
    assert not check_admin_pin(None, "9876", lockout=lockout)  # no admin PIN: nobody leaves
    assert [check_admin_pin(admin, "1111", lockout=lockout) for _ in range(3)] == [False] * 3
    with pytest.raises(StorageError, match="Too many wrong PINs for the administrator"):
        check_admin_pin(admin, "9876", lockout=lockout)
