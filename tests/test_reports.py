"""Reports and exports: a PDF that renders, CSV with documented columns, JSON that meets its schema."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from workouts import seed_workouts

from app.engine.events import RepDetail
from app.reports.data import gather, period_bounds
from app.reports.export import SCHEMA_PATH, export_data, validate, write_csv
from app.reports.pdf import write_pdf
from app.storage import open_database
from app.storage.recorder import WorkoutRecorder

ROOT = Path(__file__).resolve().parents[1]


def fill(tmp_path: Path, days: int = 10) -> None:
    db = open_database(tmp_path)
    seed_workouts(db, "ann", days=days)
    db.close()


def test_pdf_report_of_the_last_workout_and_a_month(tmp_path: Path) -> None:
    fill(tmp_path)
    with open_database(tmp_path) as db, db.read() as conn:
        last = gather(conn)
        month = gather(conn, period="month")
    assert len(last.workouts) == 1 and len(last.sets) == 4 and last.sets[0].reps[0].index == 1
    assert {r.kind for r in last.records} >= {"max_reps", "e1rm_epley"}
    for data, paper in ((last, "a4"), (month, "letter")):
        out = write_pdf(data, tmp_path / f"{paper}.pdf", paper=paper)
        assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 5000


def test_period_bounds() -> None:
    from datetime import date

    assert period_bounds("week", date(2025, 3, 13)) == (date(2025, 3, 10), date(2025, 3, 17))
    assert period_bounds("month", date(2025, 12, 31)) == (date(2025, 12, 1), date(2026, 1, 1))


def test_json_export_matches_the_published_schema(tmp_path: Path) -> None:
    fill(tmp_path, days=2)
    with open_database(tmp_path) as db, db.read() as conn:
        doc = export_data(conn)
    validate(doc)
    assert len(doc["workouts"]) == 2 and len(doc["reps"]) == sum(s["achieved_reps"] for s in doc["sets"])
    schema = json.loads(SCHEMA_PATH.read_text())
    assert set(doc["reps"][0]) == set(schema["$defs"]["rep"]["properties"])
    doc["reps"][0]["rom_deg"] = "wide"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_csv_export_has_the_documented_columns(tmp_path: Path) -> None:
    fill(tmp_path, days=1)
    with open_database(tmp_path) as db, db.read() as conn:
        doc = export_data(conn)
    write_csv(doc, tmp_path / "csv")
    schema = json.loads(SCHEMA_PATH.read_text())
    for table, key in (("workouts", "workout"), ("sets", "set"), ("reps", "rep")):
        with (tmp_path / "csv" / f"{table}.csv").open() as fh:
            header = next(csv.reader(fh))
        assert header == list(schema["$defs"][key]["properties"])


def test_cli_report_and_export(tmp_path: Path) -> None:
    fill(tmp_path, days=3)
    env = {**os.environ, "SPOTTER_DATA_DIR": str(tmp_path)}
    run = [sys.executable, "-m", "app.cli"]
    out = subprocess.run([*run, "report", "--last", "--pdf", str(tmp_path / "r.pdf")], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=60, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    out = subprocess.run([*run, "export", "--format", "json"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=60, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    validate(json.loads(out.stdout))


def test_pdf_program_progress_section(tmp_path: Path) -> None:
    from app.cli import main

    fill(tmp_path, days=3)  # before the program: not counted as its sessions
    args = ["--data-dir", str(tmp_path), "program", "new", "--profile", "ann", "--goal", "strength"]
    assert main([*args, "--equipment", "barbell", "--days", "3"]) == 0
    with open_database(tmp_path) as db:
        r = WorkoutRecorder(db, "ann")
        r.start_set("squat", load=60.0, unit="kg")
        for i in range(1, 7):
            r.rep(RepDetail(i, 0, 1, 2, 1.0, 0.2, 0.8, 90.0, 100.0, 150.0))
        r.finish()
        with db.read() as conn:
            data = gather(conn)
    p = data.program
    assert p is not None and (p.sessions_done, p.sessions_planned) == (1, 3)
    assert p.next_day == "Day 2: Full body B" and p.items[0].prescription.exercise == "deadlift"
    out = write_pdf(data, tmp_path / "program.pdf")
    text = _pdf_text(out)
    assert "Program progress" in text and "1 of 3 sessions done this week" in text
    assert "Next session: Day 2: Full body B" in text and "pick a load" in text and "bodyweight" in text


def _month_of_workouts(tmp_path: Path) -> None:
    """March 2025: eight workouts of two exercises, a plank hold on the last; one in February."""
    with open_database(tmp_path) as db:
        for day in (2, 5, 9, 12, 16, 20, 24, 28, -1):
            at = "2025-02-27T18:00:00+00:00" if day < 0 else f"2025-03-{day:02d}T12:00:00+00:00"
            r = WorkoutRecorder(db, "ann", started_at=at)
            for ex, load in (("squat", 40.0 + day), ("biceps_curl", 10.0)):
                for _ in range(3):
                    r.start_set(ex, load=load, unit="kg", target_reps=8)
                    for i in range(1, 8 + day % 3):
                        r.rep(RepDetail(i, 0, 1, 2, 1.0, 0.2, 0.8, 80.0 + day, 100.0, 150.0))
                    r.finish_set()
            if day == 28:
                r.hold("plank", 45.5)
            r.finish()


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text(extraction_mode="layout") for page in PdfReader(path).pages)


def test_month_report_lists_every_workout_set_by_set(tmp_path: Path) -> None:
    from datetime import date

    _month_of_workouts(tmp_path)
    with open_database(tmp_path) as db, db.read() as conn:
        month = gather(conn, period="month", today=date(2025, 3, 20))
        week = gather(conn, period="week", today=date(2025, 3, 13))  # Mon 10 to Sun 16 March
        doc = export_data(conn)
    validate(doc)
    assert [s["hold_s"] for s in doc["sets"] if s["hold_s"] is not None] == [45.5]
    assert [d.workout.local_start.day for d in month.details] == [2, 5, 9, 12, 16, 20, 24, 28]
    assert len(month.sets) == 8 * 6 + 1 and all(
        s.means is not None for s in month.sets if s.row.hold_s is None
    )
    assert sorted({p.day.day for p in month.days}) == [2, 5, 9, 12, 16, 20, 24, 28]  # charts: the whole month
    assert [d.workout.local_start.day for d in week.details] == [12, 16]
    assert {s.row.hold_s for s in month.sets} == {None, 45.5}
    for paper in ("a4", "letter"):
        out = write_pdf(month, tmp_path / f"month-{paper}.pdf", paper=paper)
        text = _pdf_text(out)
        for day in (2, 5, 9, 12, 16, 20, 24, 28):  # a heading and a table for each workout
            assert f"{date(2025, 3, day):%A %d %B %Y}, 12:00" in text
        assert text.count("Down / pause / up (s)") >= 8 and "45.5 s" in text and "Longest hold" in text
        assert "27 February" not in text and "day of March 2025" in text
        assert "page 2" in text and "Sets, workout by workout" in text


def test_a_failed_write_leaves_the_earlier_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(tmp_path, days=1)
    with open_database(tmp_path) as db, db.read() as conn:
        data, doc = gather(conn), export_data(conn)
    pdf, js = write_pdf(data, tmp_path / "r.pdf"), tmp_path / "r.json"
    from app.reports.export import write_json

    write_json(doc, js)
    before = pdf.read_bytes(), js.read_bytes()

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", disk_full)  # the last step of a whole write fails
    for write in (lambda: write_pdf(data, pdf), lambda: write_json(doc, js)):
        with pytest.raises(OSError, match="No space"):
            write()
    assert (pdf.read_bytes(), js.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def test_a_report_of_several_members_says_whose_each_workout_is(tmp_path: Path) -> None:
    """A kiosk's (or a gym's) report: a table of each member's share, and each workout named."""
    import re
    from datetime import date

    from workouts import seed_workouts

    with open_database(tmp_path) as db:
        seed_workouts(db, "Ana <Co>", days=3)  # a name that is markup to reportlab ("<" opens a tag)
        seed_workouts(db, "Ben", days=2)
        with db.read() as conn:
            data = gather(conn, period="month", today=date.today())
    text = _pdf_text(write_pdf(data, tmp_path / "everyone.pdf"))
    assert "Member" in text and "Ana <Co>" in text
    headings = re.findall(r"(Ana <Co>|Ben)\s*·\s*\w+day", text)  # each workout's: who, then when
    assert headings.count("Ana <Co>") == 3 and headings.count("Ben") == 2, headings
