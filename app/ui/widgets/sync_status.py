"""The settings screen's Sync panel: server, last sync, changes waiting, the last problem, Sync now.

It renders ``AppSync``'s ``SyncStatus`` with the words of ``app.sync.background`` (the status bar
uses the same ones), re-reads the clock every half minute for "5 min ago", and "Sync now" only asks
the service: the sync runs on its own thread and the panel redraws when its status arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QFormLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.sync.background import (
    NOT_STARTED,
    SyncStatus,
    headline,
    indicator,
    next_try_text,
    waiting_text,
)
from app.ui.screens.base import button
from app.ui.sync import AppSync
from app.ui.widgets import forms

TICK_MS = 30_000
NOT_SET_UP = (
    "Your workouts are kept on this device. To share them with your gym's other devices, staff can "
    "connect it to the gym's sync server (spotter sync enrol)."
)


class SyncStatusWidget(QWidget):
    """A panel with the sync's state and a "Sync now" button; ``sync`` None: no sync in this run."""

    def __init__(self, sync: AppSync | None) -> None:
        super().__init__()
        frame, layout = forms.panel("Sync")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self.sync = sync
        self.server = self._value("Sync server")
        self.state = self._value("Sync state")
        self.waiting = self._value("Changes waiting")
        self.problem = self._value("Sync problem", name="warn", wrap=True)
        self.next = self._value("Next sync", name="muted", wrap=True)
        self.sync_button = button("S&ync now", tip="Send and fetch workouts now; the app stays usable")
        self.sync_button.clicked.connect(self.sync_now)
        self.form = form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Server", self.server)
        for line in (self.state, self.waiting, self.problem, self.next):
            form.addRow(line)
        layout.addLayout(form)
        bar, self.note = forms.action_bar(self.sync_button)
        self.note.setObjectName("muted")
        layout.addLayout(bar)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(lambda: self.show_status(self.status))
        if sync is not None:
            sync.status_changed.connect(self.show_status)
        self.show_status(sync.status if sync is not None else NOT_STARTED)

    def _value(self, accessible: str, *, name: str = "", wrap: bool = False) -> QLabel:
        """A value label; ``wrap`` for the sentences that span the panel (a form's field column
        does not give a wrapped label its height back)."""
        label = QLabel("")
        label.setWordWrap(wrap)
        label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAccessibleName(accessible)
        if name:
            label.setObjectName(name)
        return label

    @property
    def status(self) -> SyncStatus:
        return self.sync.status if self.sync is not None else NOT_STARTED

    def show_status(self, status: SyncStatus, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        enrolled = status.enrolled
        self.state.setText(headline(status, now))
        gym = f" (gym {status.gym})" if status.gym else ""
        self.server.setText(f"{status.server}{gym}" if enrolled else "")
        self.waiting.setText(waiting_text(status.pending) if enrolled else "")
        self.problem.setText(status.last_error or "")
        self.next.setText(next_try_text(status, now))
        self.note.setText("" if enrolled else NOT_SET_UP)
        for line in (self.server, self.waiting, self.problem, self.next):
            self.form.setRowVisible(line, bool(line.text()))
        self.sync_button.setVisible(enrolled and self.sync is not None)
        self.sync_button.setEnabled(enrolled and not status.syncing)

    def sync_now(self) -> None:
        if self.sync is not None:
            self.sync_button.setEnabled(False)  # until the service says it is syncing (or done)
            self.state.setText("Syncing now…")
            self.sync.sync_now()

    def refresh(self) -> None:
        """Ask the service for a fresh status (rows waiting); it arrives by ``status_changed``."""
        if self.sync is not None:
            self.sync.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)


class SyncIndicatorWidget(QLabel):
    """The status bar's few words on the sync ("Sync: 5 min ago"), the panel's lines as its tooltip."""

    def __init__(self, sync: AppSync) -> None:
        super().__init__("")
        self.sync = sync
        self.setAccessibleName("Sync state")
        sync.status_changed.connect(lambda _s: self.show_status())
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.show_status)
        self._timer.start()
        self.show_status()

    def show_status(self) -> None:
        now = datetime.now(UTC)
        status = self.sync.status
        self.setText(indicator(status, now))
        self.setToolTip(indicator_tip(status, now))


def indicator_tip(status: SyncStatus, now: datetime) -> str:
    """The status bar indicator's tooltip: the panel's lines in one."""
    lines = [headline(status, now)]
    if status.enrolled:
        lines.append(waiting_text(status.pending))
    if status.last_error:
        lines.append(status.last_error)
    if text := next_try_text(status, now):
        lines.append(text)
    return "\n".join(lines)
