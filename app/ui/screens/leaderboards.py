"""Leaderboards: members ranked by reps, volume, streak or form-weighted reps over a week, a month or
all time, the signed-in member's row highlighted.

The board comes from a ``BoardSource``: ``LocalBoardSource`` asks the operation
``app.reports.operations.leaderboard_board`` for this device's members; a synced, gym-wide source
can be handed in later without changing this screen.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.programs.metrics import MemberStats, board_score
from app.reports.operations import Board, leaderboard_board
from app.storage.db import Database
from app.ui import theme
from app.ui.context import AppContext
from app.ui.screens.base import Navigator, Screen, button, describe_error

PERIOD_CHOICES = (("This week", "week"), ("This month", "month"), ("All time", "all"))
METRIC_CHOICES = (
    ("Reps", "reps"), ("Volume (kg)", "volume"), ("Streak (days)", "streak"),
    ("Form-weighted reps", "form"),
)  # fmt: skip
COLUMNS = ("Rank", "Member", "Score", "Reps", "Good form", "Volume (kg)", "Streak (days)")
METRIC_HELP = {
    "reps": "Every counted rep.",
    "volume": "Load × reps, in kilograms (bodyweight sets add nothing).",
    "streak": "Days trained in a row, up to today.",
    "form": "Reps without a form fault count 1, reps with one count ½.",
}
SYNC_NOTE = "Gym-wide boards, with members who train on other devices, will appear here once sync is set up."


class BoardSource(Protocol):
    """Where a leaderboard comes from: this device now, a gym's synced board later. ``board`` runs
    off the GUI thread."""

    @property
    def description(self) -> str:
        """Whose board it is, for the screen's subtitle."""
        ...

    def board(self, *, period: str, by: str, today: date | None = None) -> Board: ...


class LocalBoardSource:
    """The members who train on this device, read from its database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def description(self) -> str:
        return "Members who train on this device"

    def board(self, *, period: str, by: str, today: date | None = None) -> Board:
        return leaderboard_board(self._db, period=period, by=by, today=today)


def score_text(m: MemberStats, by: str) -> str:
    value = board_score(m, by)
    if by == "form":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


class LeaderboardScreen(Screen):
    """One board of ``source`` (default: this device's members) at a time."""

    name = "leaderboards"
    title = "Leaderboards"

    def __init__(self, context: AppContext, nav: Navigator, *, source: BoardSource | None = None) -> None:
        super().__init__(context, nav)
        self.source: BoardSource = source or LocalBoardSource(context.db)
        self._board: Board | None = None
        self._loads = 0
        root = QVBoxLayout(self)
        root.setContentsMargins(24, 16, 24, 16)
        root.setSpacing(10)
        self.subtitle = self.heading(root, self.title, self.source.description)
        controls = QHBoxLayout()
        self.period_box = self._choice(controls, "&Period:", "Period", PERIOD_CHOICES)
        self.metric_box = self._choice(controls, "&Metric:", "Metric", METRIC_CHOICES)
        controls.addStretch(1)
        self.refresh_button = button("Re&fresh", tip="Read the board again (F5)")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.clicked.connect(self.reload)
        controls.addWidget(self.refresh_button)
        root.addLayout(controls)
        self.caption = QLabel("")
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        root.addWidget(self.caption)
        self.stack = QStackedWidget()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Leaderboard")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.stack.addWidget(self.table)
        self.state_label = QLabel("Loading the board…")
        self.state_label.setObjectName("subtitle")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setWordWrap(True)
        self.state_label.setAccessibleName("Leaderboard status")
        self.stack.addWidget(self.state_label)
        root.addWidget(self.stack, 1)
        note = QLabel(SYNC_NOTE)
        note.setObjectName("muted")
        note.setWordWrap(True)
        note.setAccessibleName("About gym-wide boards")
        root.addWidget(note)
        self.period_box.currentIndexChanged.connect(lambda _: self.reload())
        self.metric_box.currentIndexChanged.connect(lambda _: self.reload())
        context.member.changed.connect(lambda _: self._render())

    def _choice(
        self, row: QHBoxLayout, text: str, name: str, choices: tuple[tuple[str, str], ...]
    ) -> QComboBox:
        label = QLabel(text)
        box = QComboBox()
        box.setAccessibleName(name)
        for shown, key in choices:
            box.addItem(shown, key)
        label.setBuddy(box)
        row.addWidget(label)
        row.addWidget(box)
        row.addSpacing(20)
        return box

    # ----------------------------------------------------------------------------------- data
    @property
    def period_key(self) -> str:
        return str(self.period_box.currentData())

    @property
    def metric_key(self) -> str:
        return str(self.metric_box.currentData())

    @property
    def board(self) -> Board | None:
        return self._board

    def entered(self, payload: Any = None) -> None:
        """``payload`` may name a metric ("streak") to open that board."""
        if isinstance(payload, str) and (i := self.metric_box.findData(payload)) >= 0:
            self.metric_box.setCurrentIndex(i)  # reloads
            return
        self.reload()

    def reload(self) -> None:
        self._loads += 1
        token, period, by, source = self._loads, self.period_key, self.metric_key, self.source
        if self._board is None:
            self._state("Loading the board…")
        self.context.jobs.submit(
            lambda: source.board(period=period, by=by),
            lambda board: self._loaded(token, board),
            lambda exc: self._failed(token, exc),
        )

    def _state(self, text: str) -> None:
        self.state_label.setText(text)
        self.stack.setCurrentWidget(self.state_label)

    def _failed(self, token: int, exc: BaseException) -> None:
        if token == self._loads:
            self._state(describe_error(exc, doing="Reading the leaderboard"))

    def _loaded(self, token: int, board: Board) -> None:
        if token == self._loads:
            self._board = board
            self._render()

    # --------------------------------------------------------------------------------- render
    def highlighted_row(self) -> int | None:
        """The row of the signed-in member, or None."""
        me = self.context.member.name
        if self._board is None or me is None:
            return None
        return next((i for i, (_, m) in enumerate(self._board.rows) if m.name == me), None)

    def _render(self) -> None:
        board = self._board
        if board is None:
            return
        self.caption.setText(f"Score: {board.title.lower()}, {board.label}. {METRIC_HELP[board.by]}")
        if not board.rows:
            when = "yet" if board.period == "all" else f"{board.label.split(' (')[0]} yet"
            self._state(f"No workouts {when} — the board fills in as members finish their sets.")
            return
        self.stack.setCurrentWidget(self.table)
        mine = self.highlighted_row()
        p = theme.current()
        self.table.setRowCount(len(board.rows))
        for row, (rank, m) in enumerate(board.rows):
            good = f"{100 * m.clean_reps / m.reps:.0f} %" if m.reps else "–"
            you = " (you)" if row == mine else ""
            cells = (
                str(rank), m.name + you, score_text(m, board.by), f"{m.reps:,}", good,
                f"{m.volume_kg:,.0f}", str(m.streak),
            )  # fmt: skip
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                align = Qt.AlignmentFlag.AlignLeft if col == 1 else Qt.AlignmentFlag.AlignRight
                item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
                if row == mine:
                    item.setBackground(QBrush(QColor(p.accent)))
                    item.setForeground(QBrush(QColor("#000000" if p.name == "high-contrast" else "#ffffff")))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()
        if mine is not None:
            self.table.setAccessibleDescription(f"You are ranked {board.rows[mine][0]} of {len(board.rows)}")
        else:
            self.table.setAccessibleDescription(f"{len(board.rows)} members")
