"""The typed operations the CLI and the Qt screens share, called directly on a temporary database."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.engine.events import RepDetail
from app.engine.exercises.analyzer import ExerciseAnalyzer
from app.engine.exercises.spec import get_spec
from app.engine.offline import AnalysisResult, VideoInfo
from app.errors import ConfigError, StorageError
from app.programs import operations as programs
from app.programs.catalog import Equipment
from app.programs.plans import Goal, Level, PlanRequest
from app.reports import operations as reports
from app.storage import Database, open_database
from app.storage import operations as storage

GENERAL = PlanRequest(Goal.GENERAL, Level.BEGINNER, frozenset({Equipment.BODYWEIGHT}), 3)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(tmp_path) as database:
        yield database


def _rep(i: int, *, faults: tuple[str, ...] = ()) -> RepDetail:
    return RepDetail(i, 2.0 * i, 2.0 * i + 1, 2.0 * i + 2, 1.0, 0.1, 0.9, 90.0, 100.0, 150.0, faults=faults)


def _result(
    exercise: str, *, reps: int = 0, faulty: int = 0, holds: list[tuple[float, float]] | None = None
) -> AnalysisResult:
    """What ``analyze_video`` returns, built by hand (no video, no pose model)."""
    analyzer = ExerciseAnalyzer(get_spec(exercise))
    analyzer.reps.extend(_rep(i, faults=("depth",) if i <= faulty else ()) for i in range(1, reps + 1))
    analyzer.holds.extend(holds or [])
    info = VideoInfo(Path(f"{exercise}.mp4"), 30.0, 300, 640, 480)
    return AnalysisResult(info, exercise, 1.0, analyzer, 150, 300, 1.0, "litert", "full", {})


# ------------------------------------------------------------------------------------ profiles
def test_profiles_add_list_remove(db: Database) -> None:
    ana = storage.add_profile(db, "Ana", pin="2468")
    storage.add_profile(db, "Ben", kind="home", unit="lb")
    rows = storage.list_profiles(db)
    assert [(p.name, p.kind, p.unit, p.has_pin) for p in rows] == [
        ("Ana", "member", "kg", True), ("Ben", "home", "lb", False),
    ]  # fmt: skip
    assert rows[0].id == ana
    with pytest.raises(StorageError, match="already a profile called 'Ana'"):
        storage.add_profile(db, "Ana")
    with pytest.raises(StorageError, match="at least 4 digits"):
        storage.add_profile(db, "Cy", pin="12")
    assert storage.remove_profile(db, "Ben") != ana
    assert [p.name for p in storage.list_profiles(db)] == ["Ana"]
    with pytest.raises(StorageError, match="No profile called 'Ben'"):
        storage.remove_profile(db, "Ben")
    storage.add_profile(db, "Ben")  # the name is free again


def test_needs_pin_and_check_pin(db: Database) -> None:
    storage.add_profile(db, "Ana", pin="2468")
    storage.add_profile(db, "Ben")
    assert storage.needs_pin(db, "Ana")
    assert not storage.needs_pin(db, "Ben") and not storage.needs_pin(db, "nobody yet")
    for missing in (None, ""):
        with pytest.raises(storage.PinRequired) as required:
            storage.check_pin(db, "Ana", missing)
        assert str(required.value) == (
            "The profile 'Ana' is protected by a PIN: give --pin or set SPOTTER_PIN (nothing was done)."
        )
    with pytest.raises(storage.WrongPin) as wrong:
        storage.check_pin(db, "Ana", "1357", consequence="nothing was saved")
    assert str(wrong.value) == "Wrong PIN for the profile 'Ana'; nothing was saved."
    assert isinstance(wrong.value, StorageError) and not isinstance(wrong.value, storage.PinRequired)
    storage.check_pin(db, "Ana", "2468")
    storage.check_pin(db, "Ana", " 2468\n")  # as typed or piped in
    storage.check_pin(db, "Ben", None)
    storage.check_pin(db, "nobody yet", None)
    assert storage.pin_matches(db, "Ana", "2468") and not storage.pin_matches(db, "Ana", "0000")
    with pytest.raises(StorageError, match="No profile called"):
        storage.pin_matches(db, "nobody yet", "2468")


def test_the_cli_refuses_with_the_operations_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_database(tmp_path) as db:
        storage.add_profile(db, "Ana", pin="2468")
    monkeypatch.delenv("SPOTTER_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no question
    pdf = tmp_path / "ana.pdf"
    assert main(["--data-dir", str(tmp_path), "report", "--profile", "Ana", "--pdf", str(pdf)]) == 2
    err = capsys.readouterr().err
    assert "protected by a PIN: give --pin or set SPOTTER_PIN (no report was made)" in err
    args = ["--data-dir", str(tmp_path), "report", "--profile", "Ana", "--pin", "1111", "--pdf", str(pdf)]
    assert main(args) == 2
    assert "Wrong PIN for the profile 'Ana'; no report was made." in capsys.readouterr().err
    assert not pdf.exists()


# ------------------------------------------------------------------------ saving an analysis
def test_save_analysis_of_reps_and_history(db: Database) -> None:
    saved = storage.save_analysis(db, "Ana", _result("squat", reps=5, faulty=2), load=20.0)
    assert (saved.profile, saved.reps, saved.exercise, saved.hold) == ("Ana", 5, "squat", False)
    assert saved.holds_s == ()
    assert saved.set_id is not None and saved.program_session is None and saved.saved
    assert saved.describe() == f"saved 5 reps (set {saved.set_id}) for Ana"
    assert {r.kind for r in saved.records} >= {"max_reps"}  # the first squats set records
    (row,) = storage.workout_history(db, profile="Ana")
    assert (row.id, row.reps, row.clean_reps, row.volume_kg, row.exercises) == (
        saved.workout_id, 5, 3, 100.0, "squat",
    )  # fmt: skip
    storage.save_analysis(db, "Ben", _result("push_up", reps=3))
    assert [w.profile for w in storage.workout_history(db)] == ["Ben", "Ana"]  # newest first
    assert len(storage.workout_history(db, limit=1)) == 1
    later = (date.today() + timedelta(days=2)).isoformat()
    assert storage.workout_history(db, since=later) == []
    with pytest.raises(StorageError, match="No profile called 'Cy'"):
        storage.workout_history(db, profile="Cy")


def test_save_analysis_of_holds_and_a_program_session(db: Database) -> None:
    none = storage.save_analysis(db, "Ana", _result("plank"))
    assert not none.saved and none.describe() == "nothing saved for Ana: no plank hold was found"
    assert storage.workout_history(db, profile="Ana") == []  # the empty workout is not kept
    programs.create_program(db, "Ana", GENERAL)  # Day 1: squat, push_up, plank
    held = storage.save_analysis(db, "Ana", _result("plank", holds=[(1.0, 31.4), (40.0, 50.0)]))
    assert held.holds_s == (30.4, 10.0) and held.set_id is None and held.program_session == 0
    assert held.describe() == "saved 2 plank holds (30.4 s, 10.0 s) for Ana, session 1 of the active program"
    one = storage.save_analysis(db, "Ana", _result("plank", holds=[(0.0, 20.0)]))
    assert one.describe().startswith("saved 1 plank hold (20.0 s) for Ana")
    (row, _) = storage.workout_history(db, profile="Ana")
    assert row.hold_s == 20.0 and row.sets == 1


# ------------------------------------------------------------------------------------ programs
def test_parse_equipment() -> None:
    assert programs.parse_equipment("bodyweight, dumbbells,") == {Equipment.BODYWEIGHT, Equipment.DUMBBELLS}
    assert programs.parse_equipment("") == frozenset()
    with pytest.raises(ConfigError, match="'rope' is not a valid Equipment; equipment is any of bodyweight"):
        programs.parse_equipment("bodyweight,rope")


def test_programs_create_save_next(db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert programs.active_plan(db, "Ana") is None
    assert programs.progress(db, "Ana", today=date.today()) is None
    with pytest.raises(StorageError, match="Ana has no program yet; create one with `spotter program new`"):
        programs.next_session(db, "Ana")
    plan = programs.create_program(db, "Ana", GENERAL)
    assert programs.active_plan(db, "Ana") == plan == programs.require_plan(db, "Ana")
    text = programs.describe_plan(plan)
    assert text.startswith("general plan, beginner, 3 days/week, bodyweight\n  Day 1: Full body A\n")
    assert "    plank              2 x 20-60 s, rest" in text
    nxt = programs.next_session(db, "Ana")
    assert nxt.day == plan.days[0] and [i.prescription for i in nxt.items] == list(plan.days[0].items)
    assert programs.describe_next(nxt).splitlines()[:2] == [
        "Next: Day 1: Full body A",
        "  squat              2 x 8-15  (first session: aim for 8-15 reps per set)",
    ]
    edited = replace(plan, days=plan.days[1:], notes=("my own plan",))
    program_id = programs.save_plan(db, "Ana", edited, name="edited")
    assert programs.active_plan(db, "Ana") == edited
    assert programs.next_session(db, "Ana").day == plan.days[1]
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT id, name, active FROM programs ORDER BY created_at").all()
    assert [tuple(r) for r in rows] == [(rows[0][0], "general plan", 0), (program_id, "edited", 1)]
    progress = programs.progress(db, "Ana", today=date.today())
    assert progress is not None and (progress.sessions_done, progress.sessions_planned) == (0, 3)
    # the CLI prints the operations' text
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path), "program", "show", "--profile", "Ana"]) == 0
    assert capsys.readouterr().out == programs.describe_plan(edited) + "\n"


# ------------------------------------------------------------------------------------- reports
def test_report_data_and_pdf(db: Database, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no saved workouts yet"):
        reports.report_data(db)
    storage.add_profile(db, "Ana", pin="2468")
    first = storage.save_analysis(db, "Ana", _result("squat", reps=4), load=30.0)
    storage.save_analysis(db, "Ben", _result("push_up", reps=6))
    last = reports.report_data(db)
    assert [w.profile for w in last.workouts] == ["Ben"] and last.span is None
    assert reports.report_data(db, workout_id=first.workout_id).workouts[0].reps == 4
    week = reports.report_data(db, period="week")
    assert {w.profile for w in week.workouts} == {"Ana", "Ben"} and week.span is not None
    with pytest.raises(storage.PinRequired, match=r"\(no report was made\)"):
        reports.report_data(db, period="week", profile="Ana")
    with pytest.raises(storage.WrongPin):
        reports.write_report(db, tmp_path / "x.pdf", profile="Ana", pin="1111")
    assert not (tmp_path / "x.pdf").exists()
    ana = reports.report_data(db, period="month", profile="Ana", pin="2468")
    assert [w.profile for w in ana.workouts] == ["Ana"] and "Ana" in ana.title
    with pytest.raises(ConfigError, match="Unknown report period 'decade'"):
        reports.report_data(db, period="decade")
    out = reports.write_report(
        db, tmp_path / "ana.pdf", period="week", profile="Ana", pin="2468", paper="letter"
    )
    assert out == tmp_path / "ana.pdf" and out.read_bytes().startswith(b"%PDF")


def test_exports(db: Database, tmp_path: Path) -> None:
    storage.save_analysis(db, "Ana", _result("squat", reps=3))
    storage.save_analysis(db, "Ana", _result("plank", holds=[(0.0, 12.0)]))
    document = reports.export_document(db)
    assert [len(document[t]) for t in ("workouts", "sets", "reps")] == [2, 2, 3]
    assert reports.export_files(db, "json", tmp_path / "all.json") == 7
    assert json.loads((tmp_path / "all.json").read_text())["sets"] == document["sets"]
    assert reports.export_files(db, "csv", tmp_path / "csv") == 7
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["reps.csv", "sets.csv", "workouts.csv"]
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT format, path, rows FROM exports ORDER BY created_at").all()
    assert [tuple(r) for r in rows] == [
        ("json", str(tmp_path / "all.json"), 7),
        ("csv", str(tmp_path / "csv"), 7),
    ]


def test_leaderboard(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    empty = reports.leaderboard_board(db)
    assert empty.rows == () and reports.format_leaderboard(empty).endswith("  no workouts yet")
    storage.save_analysis(db, "Ana", _result("squat", reps=5, faulty=1), load=40.0)
    storage.save_analysis(db, "Ben", _result("squat", reps=8, faulty=8))
    storage.save_analysis(db, "Cy", _result("squat", reps=5), load=20.0)
    board = reports.leaderboard_board(db, by="reps", today=date.today())
    assert [(rank, m.name) for rank, m in board.rows] == [(1, "Ben"), (2, "Ana"), (2, "Cy")]
    assert board.heading == f"Leaderboard, reps, {board.label}" and board.label.startswith("this week (from ")
    volume = reports.leaderboard_board(db, period="all", by="volume")
    assert [m.name for _, m in volume.rows] == ["Ana", "Cy", "Ben"] and volume.label == "all time"
    assert volume.title == "volume (kg)" and volume.score(volume.rows[0][1]) == 200.0
    text = reports.format_leaderboard(volume, limit=2).splitlines()
    assert text[0] == "Leaderboard, volume (kg), all time" and len(text) == 4
    assert text[2].split() == ["1", "Ana", "200", "5", "80", "%", "200", "1"]
    form = reports.leaderboard_board(db, by="form")
    assert [m.name for _, m in form.rows] == ["Cy", "Ana", "Ben"]  # a faulty rep counts half
    with pytest.raises(ConfigError, match="Unknown leaderboard 'speed'"):
        reports.leaderboard_board(db, by="speed")
    with pytest.raises(ConfigError, match="Unknown leaderboard period 'decade'"):
        reports.leaderboard_board(db, period="decade")
    capsys.readouterr()
    assert main(["--data-dir", str(db.path.parent), "leaderboard", "--period", "all", "--by", "volume"]) == 0
    assert capsys.readouterr().out == reports.format_leaderboard(volume) + "\n"
