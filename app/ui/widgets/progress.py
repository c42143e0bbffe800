"""Long work with a progress bar and a Cancel button (a video analysis, a report of a year).

``ProgressTask`` runs ``work(report, token)`` on the job runner: ``report(done, total)`` moves the bar
(from the worker thread, safely), ``token.check()`` raises ``Cancelled`` once the person pressed
Cancel. The result or the error comes back on the GUI thread; a cancel is neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.ui.jobs import Cancelled, CancelToken, JobRunner

Report = Callable[[int, int], None]


class ProgressTask(QObject):
    _moved = Signal(object)  # (done, total)

    def __init__(self, parent: QWidget, title: str, jobs: JobRunner) -> None:
        super().__init__(parent)
        self.dialog = QProgressDialog(title, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle("Spotter")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(300)
        self.dialog.setAccessibleName(title)
        self.token = CancelToken()
        self.dialog.canceled.connect(self.token.cancel)
        self._moved.connect(self._move, Qt.ConnectionType.QueuedConnection)
        self._jobs = jobs

    def start(
        self,
        work: Callable[[Report, CancelToken], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        def report(n: int, total: int) -> None:
            self.token.check()
            self._moved.emit((n, total))

        def finished(result: Any) -> None:
            self._dispose()
            done(result)

        def broke(exc: BaseException) -> None:
            self._dispose()
            if not isinstance(exc, Cancelled):
                failed(exc)

        self._jobs.submit(lambda: work(report, self.token), finished, broke)

    def _dispose(self) -> None:
        self.dialog.reset()
        self.dialog.deleteLater()
        self.deleteLater()

    def _move(self, step: tuple[int, int]) -> None:
        done, total = step
        if self.token.cancelled:
            return
        self.dialog.setMaximum(max(total, 1))
        self.dialog.setValue(min(done, total))
