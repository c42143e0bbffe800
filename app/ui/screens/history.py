"""History: the signed-in member's calendar of workouts, streaks, personal records and progress charts.

The data comes from one operation, ``app.storage.history_ops.member_history``, run off the GUI
thread each time the screen is shown (or the member changes); the screen only renders it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QIcon, QTextCharFormat
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCalendarWidget,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.exercises.spec import catalogue
from app.programs.metrics import Record
from app.storage.history_ops import History, member_history
from app.storage.localtime import local_day
from app.storage.queries import WorkoutRow
from app.ui import theme
from app.ui.context import AppContext
from app.ui.screens.base import Navigator, Screen, button, describe_error
from app.ui.widgets.charts import ProgressChartsWidget
from app.ui.widgets.report_saver import ReportSaver

RECORD_COLUMNS = ("Exercise", "Most reps", "Heaviest load", "Est. 1RM (Epley)", "Longest hold")
RECORD_KINDS = (None, "max_reps", "max_load", "e1rm_epley", "max_hold")


def exercise_name(exercise: str) -> str:
    spec = catalogue().get(exercise)
    return spec.name if spec is not None else exercise.replace("_", " ").capitalize()


def panel() -> QFrame:
    frame = QFrame()
    frame.setObjectName("panel")
    return frame


class HistoryScreen(Screen):
    """Calendar, streaks, records and charts of ``context.member`` (None: everyone on this device)."""

    name = "history"
    title = "History"

    def __init__(self, context: AppContext, nav: Navigator) -> None:
        super().__init__(context, nav)
        self._history: History | None = None
        self._loads = 0
        self._opening: str | None = None
        root = QVBoxLayout(self)
        root.setContentsMargins(24, 16, 24, 16)
        self.subtitle = self.heading(root, self.title, "")
        self.reports = ReportSaver(context)
        root.addWidget(self.reports)
        self.stack = QStackedWidget()
        root.addWidget(self.stack, 1)
        state = panel()
        box = QVBoxLayout(state)
        box.addStretch(1)
        self.state_title = QLabel("Loading…")
        self.state_title.setObjectName("title")
        self.state_label = QLabel("")
        self.state_label.setObjectName("subtitle")
        self.state_label.setAccessibleName("History status")
        box.setContentsMargins(120, 24, 120, 24)
        for label in (self.state_title, self.state_label):
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(label)
        box.addStretch(2)
        self.stack.addWidget(state)
        content = QWidget()
        body = QHBoxLayout(content)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(16)
        body.addWidget(self._build_days())
        body.addLayout(self._build_right(), 1)
        self.stack.addWidget(content)
        context.member.changed.connect(self._member_changed)

    # ---------------------------------------------------------------------------------- build
    def _build_days(self) -> QFrame:
        frame = panel()
        frame.setFixedWidth(round(340 * min(theme.scale(), 1.3)))
        col = QVBoxLayout(frame)
        cal_label = QLabel("&Calendar · highlighted days: trained")
        cal_label.setObjectName("muted")
        self.calendar = QCalendarWidget()
        self.calendar.setFirstDayOfWeek(Qt.DayOfWeek.Monday)
        self.calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        self.calendar.setGridVisible(False)
        self.calendar.setMinimumHeight(round(250 * theme.scale()))
        self.calendar.setAccessibleName("Workout calendar")
        self.calendar.setAccessibleDescription(
            "Days with a workout are highlighted. Arrow keys move between days, Page Up and Page Down "
            "between months; the list below shows the selected day's workouts."
        )
        view = self.calendar.findChild(QTableView)
        if view is not None:
            view.setAccessibleName("Workout calendar")
        for name, arrow, tip in (("prevmonth", "◀", "Previous month"), ("nextmonth", "▶", "Next month")):
            nav = self.calendar.findChild(QToolButton, f"qt_calendar_{name}")
            if nav is not None:
                nav.setIcon(QIcon())
                nav.setText(arrow)
                nav.setToolTip(f"{tip} (Page {'Up' if name == 'prevmonth' else 'Down'})")
                nav.setAccessibleName(tip)
        self.calendar.currentPageChanged.connect(lambda *_: self._mark_page())
        cal_label.setBuddy(self.calendar)
        self.calendar.selectionChanged.connect(self._show_day)
        col.addWidget(cal_label)
        col.addWidget(self.calendar, 3)
        self.day_label = QLabel("&Workouts of the day")
        self.day_label.setWordWrap(True)
        self.day_list = QListWidget()
        self.day_list.setAccessibleName("Workouts of the selected day")
        self.day_list.setAccessibleDescription("Enter or a click opens the workout's summary")
        self.day_list.setWordWrap(True)
        self.day_label.setBuddy(self.day_list)
        self.day_list.itemActivated.connect(self._open_item)
        self.day_list.itemClicked.connect(self._open_item)
        self.day_list.currentItemChanged.connect(lambda *_: self._sync_open())
        col.addWidget(self.day_label)
        col.addWidget(self.day_list, 2)
        self.open_button = button("&Open summary", tip="Open the selected workout's summary (Enter)")
        self.open_button.clicked.connect(lambda: self._open_item(self.day_list.currentItem()))
        col.addWidget(self.open_button)
        return frame

    def _build_right(self) -> QVBoxLayout:
        right = QVBoxLayout()
        right.setSpacing(12)
        cards = QHBoxLayout()
        self.streak_label = self._card(cards, "Current streak")
        self.longest_label = self._card(cards, "Longest streak")
        self.workouts_label = self._card(cards, "Workouts")
        self.reps_label = self._card(cards, "Reps in all")
        right.addLayout(cards)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("History views")
        self.tabs.tabBar().setAccessibleName("History views: progress or records")
        self.progress = ProgressChartsWidget(name_of=exercise_name)
        self.tabs.addTab(self.progress, "&Progress")
        self.records = QTableWidget(0, len(RECORD_COLUMNS))
        self.records.setHorizontalHeaderLabels(RECORD_COLUMNS)
        self.records.setAccessibleName("Personal records")
        self.records.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.records.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.records.verticalHeader().setVisible(False)
        self.records.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.records.setAlternatingRowColors(False)
        self.tabs.addTab(self.records, "&Records")
        right.addWidget(self.tabs, 1)
        return right

    def _card(self, row: QHBoxLayout, caption: str) -> QLabel:
        frame = panel()
        col = QVBoxLayout(frame)
        col.setContentsMargins(14, 8, 14, 8)
        col.setSpacing(0)
        value = QLabel("–")
        value.setObjectName("cardValue")
        value.setAccessibleName(caption)
        text = QLabel(caption)
        text.setObjectName("muted")
        col.addWidget(value)
        col.addWidget(text)
        row.addWidget(frame, 1)
        return value

    # ----------------------------------------------------------------------------------- data
    def entered(self, payload: Any = None) -> None:
        self._restyle()
        self.reload()

    @property
    def history(self) -> History | None:
        return self._history

    def reload(self) -> None:
        """Ask for the member's history off the GUI thread; the newest answer wins."""
        self._loads += 1
        token, who = self._loads, self.context.member.name
        self.subtitle.setText(self._whose(who))
        if self._history is None:
            self._state("Loading…", "Reading the workouts saved on this device.")
        db = self.context.db
        self.context.jobs.submit(
            lambda: member_history(db, profile=who),
            lambda h: self._loaded(token, h),
            lambda exc: self._failed(token, exc),
        )

    def _member_changed(self, _name: object) -> None:
        self._history = None
        if self.isVisible():
            self.reload()

    def _whose(self, who: str | None) -> str:
        return f"{who}'s training" if who else "Everyone who trains on this device"

    def _state(self, title: str, text: str) -> None:
        self.state_title.setText(title)
        self.state_label.setText(text)
        self.stack.setCurrentIndex(0)

    def _failed(self, token: int, exc: BaseException) -> None:
        if token == self._loads:
            self._state("The history could not be read", describe_error(exc, doing="Loading the history"))

    def _loaded(self, token: int, history: History) -> None:
        if token != self._loads:
            return  # a newer load is on its way
        self._history = history
        if not history.workouts:
            who = "you" if history.profile else "anyone on this device"
            self._state(
                "No workouts yet",
                f"Once {who} finish{'' if history.profile else 'es'} a set, this page shows the days "
                "trained, the streak, personal records and progress charts.",
            )
            return
        self.stack.setCurrentIndex(1)
        n = len(history.workouts)
        first = local_day(history.workouts[-1].started_at, history.workouts[-1].utc_offset_min)
        self.subtitle.setText(
            f"{self._whose(history.profile)}: {n} workout{'s' * (n != 1)} since {first:%d %B %Y}"
        )
        days = "day" if history.streak.current == 1 else "days"
        self.streak_label.setText(f"{history.streak.current} {days}")
        self.longest_label.setText(f"{history.streak.longest} day{'s' * (history.streak.longest != 1)}")
        self.workouts_label.setText(f"{n:,}")
        self.reps_label.setText(f"{sum(w.reps for w in history.workouts):,}")
        self._mark_calendar(history)
        self._fill_records(history.records)
        self.progress.set_history(history)

    # -------------------------------------------------------------------------------- calendar
    def _mark_calendar(self, history: History) -> None:
        last = history.days[-1]
        self.calendar.setSelectedDate(QDate(last.year, last.month, last.day))
        self._mark_page()
        self._show_day()

    def _mark_page(self) -> None:
        """Highlight the shown month's training days (days of the months around it stay plain)."""
        self.calendar.setDateTextFormat(QDate(), QTextCharFormat())  # clear the old marks
        if self._history is None:
            return
        p = theme.current()
        fmt = QTextCharFormat()
        fmt.setBackground(QBrush(QColor(p.accent)))
        fmt.setForeground(QBrush(QColor("#000000" if p.name == "high-contrast" else "#ffffff")))
        fmt.setFontWeight(700)
        year, month = self.calendar.yearShown(), self.calendar.monthShown()
        for day in self._history.days:
            if (day.year, day.month) != (year, month):
                continue
            workouts = self._history.on_day(day)
            reps = sum(w.reps for w in workouts)
            fmt.setToolTip(f"{len(workouts)} workout{'s' * (len(workouts) != 1)}, {reps} reps")
            self.calendar.setDateTextFormat(QDate(day.year, day.month, day.day), fmt)

    def marked_days(self) -> set[date]:
        """The days the calendar highlights in the month it shows."""
        return {_day(d) for d in self.calendar.dateTextFormat()}

    def _show_day(self) -> None:
        day = _day(self.calendar.selectedDate())
        self.day_list.clear()
        workouts = self._history.on_day(day) if self._history else ()
        self.day_label.setText(f"&Workouts on {day:%A %d %B}")
        for w in workouts:
            item = QListWidgetItem(self._describe(w))
            item.setData(Qt.ItemDataRole.UserRole, w.id)
            self.day_list.addItem(item)
        if not workouts:
            item = QListWidgetItem("No workout this day.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.day_list.addItem(item)
        else:
            self.day_list.setCurrentRow(0)
        self._sync_open()

    def _describe(self, w: WorkoutRow) -> str:
        who = f"{w.profile} · " if self._history and self._history.profile is None else ""
        names = ", ".join(exercise_name(e) for e in sorted(w.exercises.split(",")) if e)
        volume = f" · {w.volume_kg:,.0f} kg" if w.volume_kg else ""
        return f"{who}{w.local_start:%H:%M} · {names}\n{w.sets} sets · {w.reps} reps{volume}"

    def _sync_open(self) -> None:
        item = self.day_list.currentItem()
        self.open_button.setEnabled(item is not None and item.data(Qt.ItemDataRole.UserRole) is not None)

    def _open_item(self, item: QListWidgetItem | None) -> None:
        wid = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        if not wid or wid == self._opening:
            return  # a click that is also an activation opens once
        self._opening = wid
        QTimer.singleShot(0, self._opened)
        self.nav.go("summary", wid)

    def _opened(self) -> None:
        self._opening = None

    # ------------------------------------------------------------------------ records, charts
    def _fill_records(self, records: tuple[Record, ...]) -> None:
        by_exercise: dict[str, dict[str, Record]] = {}
        for r in records:
            by_exercise.setdefault(r.exercise, {})[r.kind] = r
        self.records.setRowCount(len(by_exercise))
        for row, (exercise, kinds) in enumerate(sorted(by_exercise.items())):
            for col, kind in enumerate(RECORD_KINDS):
                rec = kinds.get(kind) if kind else None
                text = exercise_name(exercise) if kind is None else _record_text(rec)
                item = QTableWidgetItem(text)
                if rec is not None:
                    item.setToolTip(f"Set on {rec.day:%A %d %B %Y}")
                self.records.setItem(row, col, item)
        self.records.resizeRowsToContents()

    def _restyle(self) -> None:
        """What the app's stylesheet leaves to this screen: card figures, the calendar and tabs."""
        p, scale = theme.current(), theme.scale()
        size = round(20 * scale, 1)
        for label in (self.streak_label, self.longest_label, self.workouts_label, self.reps_label):
            label.setStyleSheet(f"font-size: {size}pt; font-weight: 600;")
        self.calendar.setStyleSheet(calendar_style(p))
        plain = QTextCharFormat()
        plain.setForeground(QBrush(QColor(p.text)))
        for weekend in (Qt.DayOfWeek.Saturday, Qt.DayOfWeek.Sunday):
            self.calendar.setWeekdayTextFormat(weekend, plain)
        head = QTextCharFormat()
        head.setForeground(QBrush(QColor(p.muted)))
        head.setBackground(QBrush(QColor(p.panel)))
        self.calendar.setHeaderTextFormat(head)
        self.tabs.setStyleSheet(tabs_style(p))
        on_accent = "#000000" if p.name == "high-contrast" else "#ffffff"
        self.day_list.setStyleSheet(f"QListWidget {{ selection-color: {on_accent}; }}")
        self.records.setStyleSheet(f"QTableWidget {{ selection-color: {on_accent}; }}")
        self._mark_page()


def calendar_style(p: theme.Palette) -> str:
    return f"""
QCalendarWidget QWidget#qt_calendar_navigationbar {{ background: {p.panel}; }}
QCalendarWidget QToolButton {{ color: {p.text}; background: transparent; border: none; font-weight: 600;
    padding: 4px 8px; }}
QCalendarWidget QToolButton:hover {{ color: {p.accent}; }}
QCalendarWidget QToolButton::menu-indicator {{ image: none; width: 0px; }}
QCalendarWidget QAbstractItemView {{ selection-background-color: {p.text}; selection-color: {p.window};
    border: none; }}
QCalendarWidget QAbstractItemView:focus {{ border: 3px solid {p.focus}; }}
QCalendarWidget QAbstractItemView:disabled {{ color: {p.muted}; }}
"""


def tabs_style(p: theme.Palette) -> str:
    hc = p.name == "high-contrast"
    return f"""
QTabWidget::pane {{ background: {p.window}; border: {2 if hc else 1}px solid {p.border}; border-radius: 8px;
    top: -1px; }}
QTabBar::tab {{ background: {p.panel}; color: {p.muted}; border: {2 if hc else 1}px solid {p.border};
    border-bottom: none; border-top-left-radius: 6px; border-top-right-radius: 6px;
    padding: 6px 20px; margin-right: 4px; }}
QTabBar::tab:selected {{ color: {p.text}; background: {p.window}; font-weight: 600;
    border-top: 3px solid {p.accent}; }}
QTabBar:focus {{ border: none; }}
QTabBar::tab:selected:focus {{ border: 3px solid {p.focus}; border-bottom: none; }}
"""


def _record_text(rec: Record | None) -> str:
    if rec is None:
        return "–"
    if rec.kind == "max_hold":
        return f"{rec.value:.1f} s"
    if rec.kind == "max_reps":
        return f"{rec.value:.0f}"
    return f"{rec.value:,.1f} {rec.unit or 'kg'}"


def _day(d: QDate) -> date:
    return date(d.year(), d.month(), d.day())
