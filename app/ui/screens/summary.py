"""SessionSummary: per set reps, tempo per phase, range of motion, faults and records broken; the PDF
and CSV/JSON exports. A saved workout is read back from the database (what you see is what was
kept); a guest's from the session's own tally."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.engine.tally import SessionTally
from app.reports import operations as reports
from app.ui.live import LiveSession
from app.ui.screens.base import Screen, button

COLUMNS = (
    "Exercise",
    "Set",
    "Reps",
    "Partial",
    "Load",
    "Down s",
    "Pause s",
    "Up s",
    "ROM °",
    "Faults",
    "Records",
)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    exercise: str
    set_no: int
    reps: int
    partial: int
    load: str
    down_s: float | None
    pause_s: float | None
    up_s: float | None
    rom_deg: float | None
    faults: str
    records: str

    def cells(self) -> list[str]:
        def num(v: float | None, digits: int = 1) -> str:
            return "–" if v is None else f"{v:.{digits}f}"

        return [
            self.exercise.replace("_", " "), str(self.set_no), str(self.reps), str(self.partial),
            self.load, num(self.down_s), num(self.pause_s), num(self.up_s), num(self.rom_deg, 0),
            self.faults, self.records,
        ]  # fmt: skip


def _faults(counter: Counter[str]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} ×{v}" for k, v in counter.most_common()) or "none"


def rows_from_tally(tally: SessionTally, load: str = "") -> list[SummaryRow]:
    numbers: Counter[str] = Counter()
    rows = []
    for s in tally.sets:
        numbers[s.exercise] += 1
        faults: Counter[str] = Counter(f for r in s.reps for f in r.faults)
        rows.append(
            SummaryRow(
                s.exercise, numbers[s.exercise], len(s.reps), s.partial_reps, load, s.mean("eccentric_s"),
                s.mean("pause_s"), s.mean("concentric_s"), s.mean("rom_deg"), _faults(faults),
                f"held {s.hold_s:.0f} s" if s.hold_s is not None else "",
            )
        )  # fmt: skip
    return rows


def rows_from_report(data: Any, records: dict[str, list[str]]) -> list[SummaryRow]:
    numbers: Counter[str] = Counter()
    rows = []
    for s in data.sets:
        row = s.row
        numbers[row.exercise] += 1
        faults: Counter[str] = Counter(f for r in s.reps for f in r.faults)
        m = s.means
        load = "bodyweight" if row.load is None else f"{row.load:g} {row.unit or ''}".strip()
        reps = row.achieved_reps if row.hold_s is None else 0
        rows.append(
            SummaryRow(
                row.exercise, numbers[row.exercise], reps, row.partial_reps, load,
                m.eccentric_s if m else None, m.pause_s if m else None, m.concentric_s if m else None,
                m.rom_deg if m else None, _faults(faults), ", ".join(records.get(row.id, [])),
            )
        )  # fmt: skip
    return rows


RECORD_NAMES = {
    "max_reps": "most reps", "max_load": "heaviest", "e1rm_epley": "best e1RM", "e1rm_brzycki": "best e1RM",
    "max_hold": "longest hold",
}  # fmt: skip


class SummaryScreen(Screen):
    name = "summary"
    title = "Workout summary"

    def __init__(self, context: Any, nav: Any) -> None:
        super().__init__(context, nav)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 20, 30, 20)
        self.subtitle = self.heading(layout, self.title)
        self.totals = QLabel("")
        self.totals.setObjectName("title")
        self.totals.setAccessibleName("Workout totals")
        layout.addWidget(self.totals)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("Sets of this workout")
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 1)
        self.saved = QLabel("")
        self.saved.setObjectName("muted")
        self.saved.setWordWrap(True)
        layout.addWidget(self.saved)
        row = QHBoxLayout()
        self.pdf = button("Save &PDF report…", tip="A printable report of this workout")
        self.pdf.clicked.connect(lambda: self.save_pdf(None))
        self.csv = button("Export &CSV…", tip="Your workouts, sets and reps as CSV files")
        self.csv.clicked.connect(lambda: self.export(None, "csv"))
        self.json = button("Export &JSON…", tip="Your workouts, sets and reps as one JSON document")
        self.json.clicked.connect(lambda: self.export(None, "json"))
        done = button("&Done", primary=True, tip="Back to the start")
        done.clicked.connect(lambda: self.nav.go("home"))
        for b in (self.pdf, self.csv, self.json):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(done)
        layout.addLayout(row)
        self.workout_id: str | None = None
        self.rows: list[SummaryRow] = []
        self.session: LiveSession | None = None

    def entered(self, payload: Any = None) -> None:
        self.session = payload if isinstance(payload, LiveSession) else None
        self.workout_id = payload if isinstance(payload, str) else None
        records: dict[str, list[str]] = {}
        if self.session is not None:
            rec = self.session.recording
            self.workout_id = (
                rec.workout_id if rec is not None and rec.saved_reps + len(rec.sets) > 0 else None
            )
            if rec is not None:
                for result in rec.sets:
                    records[result.set_id] = [RECORD_NAMES.get(r.kind, r.kind) for r in result.records]
            self.saved.setText(
                f"Saved: {self.session.summary}."
                if rec is not None
                else "A guest workout: nothing was saved."
            )
        else:
            self.saved.setText("")
        for b in (self.pdf, self.csv, self.json):
            b.setEnabled(self.workout_id is not None)
        if self.workout_id is not None:
            wid = self.workout_id
            self.context.jobs.submit(
                lambda: reports.report_data(self.context.db, workout_id=wid),
                lambda data: self._show(rows_from_report(data, records), data.period),
                lambda exc: self.show_error(exc, doing="Reading the workout"),
            )
        elif self.session is not None:
            self._show(rows_from_tally(self.session.tally), "This workout (not saved)")

    def on_voice(self, heard: Any) -> bool:
        if heard.intent.name in ("end_workout", "next_set"):  # done here: back to the start
            self.nav.go("home")
            return True
        return False

    def _show(self, rows: list[SummaryRow], when: str) -> None:
        self.rows = rows
        self.subtitle.setText(when)
        reps = sum(r.reps for r in rows)
        self.totals.setText(f"{reps} reps in {len(rows)} set{'s' if len(rows) != 1 else ''}")
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row.cells()):
                self.table.setItem(i, j, QTableWidgetItem(text))

    def summary_json(self) -> dict[str, object]:
        """The unattended mode's summary: the session's tally as the engine reported it."""
        assert self.session is not None
        return self.session.tally.to_json(
            profile=self.session.plan.profile, duration_s=self.session.elapsed_s
        )

    def write_summary_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.summary_json(), indent=1), encoding="utf-8")

    def save_pdf(self, path: Path | None) -> None:
        if self.workout_id is None:
            return
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self, "Save the report", "spotter-workout.pdf", "PDF (*.pdf)"
            )
            if not name:
                return
            path = Path(name)
        wid, target = self.workout_id, path
        self.context.jobs.submit(
            lambda: reports.write_report(self.context.db, target, workout_id=wid),
            lambda p: self.saved.setText(f"Report saved to {p}"),
            lambda exc: self.show_error(exc, doing="Writing the report"),
        )

    def export(self, path: Path | None, fmt: Literal["csv", "json"]) -> None:
        if path is None:
            if fmt == "json":
                name, _ = QFileDialog.getSaveFileName(self, "Export", "spotter-export.json", "JSON (*.json)")
            else:
                name = QFileDialog.getExistingDirectory(self, "A folder for the CSV files")
            if not name:
                return
            path = Path(name)
        target = path
        self.context.jobs.submit(
            lambda: reports.export_files(self.context.db, fmt, target),
            lambda n: self.saved.setText(f"{n} rows exported to {target}"),
            lambda exc: self.show_error(exc, doing="The export"),
        )
