"""The History and Leaderboards screens on a real database: what they show, and keyboard reach."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem, QWidget
from pytestqt.qtbot import QtBot
from ui_support import RecordingNavigator, make_context, seed_workouts

from app.programs.metrics import board_score, streak, week_start
from app.reports.operations import Board
from app.storage.history_ops import member_history, progress_series
from app.storage.localtime import local_day
from app.storage.operations import workout_history
from app.ui.context import AppContext
from app.ui.screens.history import HistoryScreen
from app.ui.screens.leaderboards import LeaderboardScreen, LocalBoardSource


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    ctx = make_context(tmp_path)
    yield ctx
    ctx.jobs.shutdown()
    ctx.db.close()


@pytest.fixture
def seeded(context: AppContext) -> AppContext:
    seed_workouts(context.db, "Ana", days=10, every=2)  # 5 workouts, most reps and volume
    seed_workouts(context.db, "Cara", days=3)  # 3 days in a row up to today: the longest streak
    context.member.sign_in("Ana")
    return context


def cell(table: QTableWidget, row: int, col: int) -> QTableWidgetItem:
    item = table.item(row, col)
    assert item is not None, f"no item at ({row}, {col})"
    return item


def ana_days(context: AppContext) -> list[date]:
    rows = workout_history(context.db, profile="Ana")
    return sorted({local_day(w.started_at, w.utc_offset_min) for w in rows})


def show_history(qtbot: QtBot, context: AppContext) -> tuple[HistoryScreen, RecordingNavigator]:
    nav = RecordingNavigator()
    screen = HistoryScreen(context, nav)
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    screen.entered()
    qtbot.waitUntil(lambda: screen.history is not None)
    return screen, nav


def test_calendar_marks_the_days_trained_and_lists_a_days_workouts(qtbot: QtBot, seeded: AppContext) -> None:
    screen, nav = show_history(qtbot, seeded)
    days = ana_days(seeded)
    assert len(days) == 5
    marked: set[date] = set()
    for year, month in sorted({(d.year, d.month) for d in days}):
        screen.calendar.setCurrentPage(year, month)
        marked |= screen.marked_days()
    assert marked == set(days)
    assert screen.calendar.selectedDate() == QDate(days[-1].year, days[-1].month, days[-1].day)
    first = days[0]
    screen.calendar.setSelectedDate(QDate(first.year, first.month, first.day))
    assert screen.day_list.count() == 1
    item = screen.day_list.item(0)
    wid = item.data(Qt.ItemDataRole.UserRole)
    assert wid in {w.id for w in workout_history(seeded.db, profile="Ana")}
    assert "Squat" in item.text() and "Push-up" in item.text()
    screen.day_list.setCurrentRow(0)
    screen.day_list.setFocus()
    QTest.keyClick(screen.day_list, Qt.Key.Key_Return)
    assert nav.visits == [("summary", wid)]
    # a day without a workout says so, and the Open button is off
    empty = QDate(first.year, first.month, first.day).addDays(1)
    screen.calendar.setSelectedDate(empty)
    assert screen.day_list.item(0).text() == "No workout this day."
    assert not screen.open_button.isEnabled()


def test_streaks_and_charts_match_the_metrics(qtbot: QtBot, seeded: AppContext) -> None:
    screen, _ = show_history(qtbot, seeded)
    expected = streak(ana_days(seeded), today=date.today())
    assert screen.streak_label.text().split()[0] == str(expected.current)
    assert screen.longest_label.text().split()[0] == str(expected.longest)
    assert screen.history is not None and screen.history.streak == expected
    # one point per workout, then one per week from the first to the last
    reps = screen.progress.charts["reps"].series()[0].values
    assert len(reps) == 5
    assert sum(v or 0 for v in reps) == sum(w.reps for w in workout_history(seeded.db, profile="Ana"))
    screen.progress.group_box.setCurrentIndex(screen.progress.group_box.findData("week"))
    days = ana_days(seeded)
    weeks = (week_start(days[-1]) - week_start(days[0])).days // 7 + 1
    assert len(screen.progress.charts["reps"].series()[0].values) == weeks
    assert len(screen.progress.charts["tempo"].series()) == 3
    assert all(len(s.values) == weeks for s in screen.progress.charts["tempo"].series())
    # one exercise: push-ups carry no load, so the volume chart says so instead of drawing zeros
    screen.progress.exercise_box.setCurrentIndex(screen.progress.exercise_box.findData("push_up"))
    assert not screen.progress.charts["volume"].has_values()
    assert screen.progress.charts["rom"].has_values()
    series = screen.progress.series()
    assert series is not None and series.exercise == "push_up"
    assert "points" in screen.progress.charts["reps"].accessibleDescription()


def test_records_table_lists_each_exercise(qtbot: QtBot, seeded: AppContext) -> None:
    screen, _ = show_history(qtbot, seeded)
    names = [cell(screen.records, r, 0).text() for r in range(screen.records.rowCount())]
    assert names == ["Push-up", "Squat"]
    squat_load = cell(screen.records, 1, 2).text()
    assert squat_load == "48.0 kg"  # 40 + the last seeded day (8)


def test_empty_database_says_so(qtbot: QtBot, context: AppContext) -> None:
    screen, _ = show_history(qtbot, context)
    assert screen.stack.currentIndex() == 0
    assert screen.state_title.text() == "No workouts yet"
    assert screen.state_title.isVisible()


def test_progress_series_fills_weeks_without_workouts(seeded: AppContext) -> None:
    seed_workouts(seeded.db, "Dan", days=22, every=21)  # two workouts three weeks apart
    history = member_history(seeded.db, profile="Dan")
    series = progress_series(history, per="week")
    assert len(series.labels) == (series.labels[-1] - series.labels[0]).days // 7 + 1 >= 3
    assert sum(1 for v in series.reps if v) == 2
    assert any(v is None for v in series.rom_deg)


def show_board(qtbot: QtBot, context: AppContext) -> LeaderboardScreen:
    screen = LeaderboardScreen(context, RecordingNavigator())
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    screen.entered()
    qtbot.waitUntil(lambda: screen.board is not None)
    return screen


def shown_names(screen: LeaderboardScreen) -> list[str]:
    return [cell(screen.table, r, 1).text().removesuffix(" (you)") for r in range(screen.table.rowCount())]


def test_leaderboard_orders_by_metric_and_highlights_the_member(qtbot: QtBot, seeded: AppContext) -> None:
    screen = show_board(qtbot, seeded)
    screen.period_box.setCurrentIndex(screen.period_box.findData("all"))
    qtbot.waitUntil(lambda: screen.board is not None and screen.board.period == "all")
    assert shown_names(screen) == ["Ana", "Cara"]
    board = screen.board
    assert board is not None
    scores = [board_score(m, "reps") for _, m in board.rows]
    assert scores == sorted(scores, reverse=True)
    screen.metric_box.setCurrentIndex(screen.metric_box.findData("streak"))
    qtbot.waitUntil(lambda: screen.board is not None and screen.board.by == "streak")
    assert shown_names(screen) == ["Cara", "Ana"]
    assert cell(screen.table, 0, 2).text() == "3"
    # Ana is signed in: her row (now second) is highlighted, Cara's is not
    assert screen.highlighted_row() == 1
    ana, cara = cell(screen.table, 1, 1), cell(screen.table, 0, 1)
    assert ana.text() == "Ana (you)" and ana.font().bold()
    assert ana.background().style() != Qt.BrushStyle.NoBrush
    assert cara.background().style() == Qt.BrushStyle.NoBrush and not cara.font().bold()
    seeded.member.sign_in("Cara")
    assert screen.highlighted_row() == 0 and cell(screen.table, 0, 1).text() == "Cara (you)"


def test_leaderboard_takes_any_board_source(qtbot: QtBot, context: AppContext) -> None:
    class GymSource:
        description = "Every member of the gym"

        def board(self, *, period: str, by: str, today: date | None = None) -> Board:
            return Board(by=by, period=period, label="this week", title="Reps", rows=())

    screen = LeaderboardScreen(context, RecordingNavigator(), source=GymSource())
    qtbot.addWidget(screen)
    screen.entered()
    qtbot.waitUntil(lambda: screen.board is not None)
    assert screen.subtitle.text() == "Every member of the gym"
    assert screen.state_label.text().startswith("No workouts this week yet")
    assert isinstance(LocalBoardSource(context.db).board(period="month", by="form"), Board)


def focus_chain(screen: QWidget) -> list[QWidget]:
    """Tab from the first control until focus comes round again."""
    screen.activateWindow()
    screen.focusNextChild()
    seen: list[QWidget] = []
    for _ in range(60):
        w = QApplication.focusWidget()
        assert w is not None
        if w in seen:
            break
        seen.append(w)
        screen.focusNextChild()
    return seen


@pytest.mark.parametrize("which", ["history", "leaderboards"])
def test_tab_reaches_every_control_with_a_name(qtbot: QtBot, seeded: AppContext, which: str) -> None:
    screen: QWidget = show_history(qtbot, seeded)[0] if which == "history" else show_board(qtbot, seeded)
    qtbot.waitExposed(screen)
    chain = focus_chain(screen)
    controls = [
        w
        for w in screen.findChildren(QWidget)
        if w.isVisible()
        and w.isEnabled()
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and w.focusProxy() is None
    ]
    assert controls and set(controls) <= set(chain)
    for w in chain:
        assert w.accessibleName(), f"{type(w).__name__} {w.objectName()!r} has no accessible name"


def test_history_loads_on_a_worker_thread(qtbot: QtBot, tmp_path: Path) -> None:
    ctx = make_context(tmp_path, inline=False)
    try:
        seed_workouts(ctx.db, "Ana", days=3)
        ctx.member.sign_in("Ana")
        screen, _ = show_history(qtbot, ctx)
        assert screen.stack.currentIndex() == 1
        assert screen.workouts_label.text() == "3"
    finally:
        ctx.jobs.shutdown()
        ctx.db.close()
