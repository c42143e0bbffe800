"""A printable report of a week, a month or a year: a period, a button, progress and Cancel.

The report of a year reads every workout of it and draws its charts, which takes seconds: it runs on
the job runner behind a progress dialog. Cancel abandons it; the file is written whole at the end or
not at all (a report finished after Cancel is removed).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QWidget

from app.reports import operations as reports
from app.ui.context import AppContext
from app.ui.jobs import Cancelled, CancelToken
from app.ui.screens.base import button, show_error
from app.ui.widgets.progress import ProgressTask, Report

PERIODS = (("This week", "week"), ("This month", "month"), ("This year", "year"))


class ReportSaver(QWidget):
    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        label = QLabel("Report:")
        self.period = QComboBox()
        self.period.setAccessibleName("Report period")
        for text, value in PERIODS:
            self.period.addItem(text, value)
        label.setBuddy(self.period)
        self.save_button = button("&Save a report…", tip="A printable PDF of the period, with its charts")
        self.save_button.clicked.connect(lambda: self.save(None))
        self.note = QLabel("")
        self.note.setObjectName("muted")
        for w in (label, self.period, self.save_button, self.note):
            row.addWidget(w)
        row.addStretch(1)

    def save(self, path: Path | None) -> ProgressTask | None:
        period = str(self.period.currentData())
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self, "Save the report", f"spotter-{period}.pdf", "PDF (*.pdf)"
            )
            if not name:
                return None
            path = Path(name)
        target, member = path, self.context.member
        profile, pin = member.name, member.pin

        def work(_report: Report, token: CancelToken) -> Path:
            written = reports.write_report(self.context.db, target, period=period, profile=profile, pin=pin)
            if token.cancelled:  # finished after Cancel: the person did not want it
                written.unlink(missing_ok=True)
                raise Cancelled
            return written

        task = ProgressTask(
            self, f"Writing the report of {self.period.currentText().lower()}…", self.context.jobs
        )
        task.start(
            work,
            lambda p: self.note.setText(f"Saved {p}"),
            lambda exc: show_error(self, exc, doing="Writing the report"),
        )
        return task
