"""The program builder and the settings screen: what they store, what they refuse, and the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QCheckBox, QComboBox, QLineEdit, QWidget
from pytestqt.qtbot import QtBot
from ui_support import RecordingNavigator, make_context

from app.programs.catalog import Equipment
from app.programs.operations import active_plan
from app.programs.plans import Goal, Level, PlanRequest, make_plan
from app.settings import load_settings, settings_path
from app.storage.pins import verify_pin
from app.ui.context import AppContext
from app.ui.screens.programs import ProgramBuilderScreen
from app.ui.screens.settings import FoundCamera, SettingsScreen

INPUTS = (QAbstractSpinBox, QComboBox, QLineEdit, QCheckBox)


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    ctx = make_context(tmp_path)
    yield ctx
    ctx.db.close()


def programs(qtbot: QtBot, context: AppContext, member: str | None = "Ana") -> ProgramBuilderScreen:
    if member is not None:
        context.member.sign_in(member)
    screen = ProgramBuilderScreen(context, RecordingNavigator())
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    with qtbot.waitSignal(screen.next_session_shown, raising=False, timeout=2000):
        screen.entered()
    return screen


def generate(screen: ProgramBuilderScreen, request: PlanRequest) -> None:
    screen.goal.setCurrentIndex(screen.goal.findData(request.goal.value))
    screen.level.setCurrentIndex(screen.level.findData(request.level.value))
    screen.days_per_week.setValue(request.days_per_week)
    for e, box in screen.equipment.items():
        box.setChecked(e in request.equipment)
    screen.generate.click()


REQUEST = PlanRequest(Goal.HYPERTROPHY, Level.INTERMEDIATE, frozenset({Equipment.DUMBBELLS}), 4, "kg")


# ------------------------------------------------------------------------------ programs
def test_generate_fills_the_tables_from_make_plan(qtbot: QtBot, context: AppContext) -> None:
    screen = programs(qtbot, context)
    generate(screen, REQUEST)
    expected = make_plan(REQUEST)
    assert [d.day_name for d in screen.days] == [d.name for d in expected.days]
    for editor, day in zip(screen.days, expected.days, strict=True):
        shown = [
            (r.exercise.currentData(), r.sets.value(), r.rep_lo.value(), r.rep_hi.value(), r.rest.value())
            for r in editor.rows
        ]
        assert shown == [(rx.exercise, rx.sets, rx.rep_lo, rx.rep_hi, rx.rest_s) for rx in day.items]
    plan, problems = screen.plan()
    assert problems == [] and plan == expected  # untouched, the table gives back make_plan's plan
    assert active_plan(context.db, "Ana") is None  # generating stores nothing


def test_edited_plan_is_saved_and_the_next_session_shows_it(qtbot: QtBot, context: AppContext) -> None:
    screen = programs(qtbot, context)
    assert "No saved program yet." in screen.next_texts()
    generate(screen, REQUEST)
    day = screen.days[0]
    first, second = day.rows[0], day.rows[1]
    first.sets.setValue(4)
    first.rep_lo.setValue(6)
    first.rep_hi.setValue(10)
    first.load.setValue(42.5)
    second_ex = second.exercise.currentData()
    day.move_row(second, -1)  # reorder: the second exercise goes first
    day.rows[-1].remove.click()  # remove the last
    day.add.click()  # add one, typed by name
    day.rows[-1].exercise.setEditText("Push up")
    with qtbot.waitSignal(screen.plan_saved, timeout=3000):
        screen.save.click()

    saved = active_plan(context.db, "Ana")
    assert saved is not None
    items = saved.days[0].items
    expected_len = len(make_plan(REQUEST).days[0].items)
    assert len(items) == expected_len and items[0].exercise == second_ex and items[-1].exercise == "push_up"
    edited = items[1]
    assert (edited.sets, edited.rep_lo, edited.rep_hi, edited.load, edited.unit) == (4, 6, 10, 42.5, "kg")
    texts = screen.next_texts()
    assert texts[0] == saved.days[0].name
    assert any("4 x 6-10 @ 42.5 kg" in t for t in texts), texts
    assert "Saved" in screen.status.text()


def test_an_invalid_edit_is_refused_with_a_message(qtbot: QtBot, context: AppContext) -> None:
    screen = programs(qtbot, context)
    generate(screen, REQUEST)
    row = screen.days[1].rows[0]
    row.rep_lo.setValue(12)
    row.rep_hi.setValue(8)
    screen.days[0].rows[0].sets.setValue(0)
    screen.days[0].rows[1].exercise.setEditText("sqat")
    with qtbot.assertNotEmitted(screen.plan_saved, wait=100):
        screen.save.click()
    assert screen.problems.isVisible()
    text = screen.problems.text()
    assert "reps from (12) is above reps to (8)" in text and "Day 2, row 1" in text
    assert "at least 1 set" in text and "row 2 (sqat): not an exercise Spotter knows" in text
    assert set(screen.problems.marked) >= {row.rep_lo, screen.days[0].rows[0].sets}
    assert active_plan(context.db, "Ana") is None
    row.rep_hi.setValue(12)  # mend them all: now it saves
    screen.days[0].rows[0].sets.setValue(2)
    screen.days[0].rows[1].exercise.setEditText("Squat")
    with qtbot.waitSignal(screen.plan_saved, timeout=3000):
        screen.save.click()
    assert not screen.problems.isVisible()
    assert active_plan(context.db, "Ana") is not None


def test_the_saved_program_shows_again_and_signing_out_is_said(qtbot: QtBot, context: AppContext) -> None:
    screen = programs(qtbot, context)
    generate(screen, REQUEST)
    with qtbot.waitSignal(screen.plan_saved, timeout=3000):
        screen.save.click()
    again = programs(qtbot, context, member=None)  # Ana is still signed in
    assert [d.day_name for d in again.days] == [d.name for d in make_plan(REQUEST).days]
    with qtbot.waitSignal(again.next_session_shown, timeout=2000):
        context.member.sign_out()
    assert again.signed_out.isVisible() and not again.body.isVisible() and again.days == []


# ------------------------------------------------------------------------------ settings
def settings_screen(qtbot: QtBot, context: AppContext) -> SettingsScreen:
    screen = SettingsScreen(context, RecordingNavigator())
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    screen.entered()
    return screen


def test_settings_are_saved_and_read_back(qtbot: QtBot, context: AppContext, tmp_path: Path) -> None:
    screen = settings_screen(qtbot, context)
    screen.text_scale.setValue(1.5)
    screen.high_contrast.setChecked(True)
    screen.rest.setValue(120)
    screen.resolution.setEditText("640x480")
    screen.backend.setCurrentIndex(screen.backend.findData("onnx"))
    screen.camera.setEditText("/videos/squats.mp4")
    screen.pin.setText("2468")
    screen.pin_again.setText("2468")
    screen.set_pin()
    with qtbot.waitSignal(screen.settings_saved, timeout=2000) as saved:
        screen.save.click()
    back = load_settings(tmp_path)
    assert (back.text_scale, back.high_contrast, back.rest_s) == (1.5, True, 120)
    assert (back.resolution, back.backend, back.camera) == ((640, 480), "onnx", "/videos/squats.mp4")
    assert back.kiosk_admin_pin_hash is not None and verify_pin("2468", back.kiosk_admin_pin_hash)
    assert saved.args == [back] and context.settings == back


def test_invalid_settings_are_refused_inline(
    qtbot: QtBot, context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = settings_screen(qtbot, context)
    screen.resolution.setEditText("wide")
    with qtbot.assertNotEmitted(screen.settings_saved, wait=50):
        screen.save.click()
    assert screen.problems.isVisible() and "Picture size" in screen.problems.text()
    assert not settings_path(tmp_path).exists()
    # a value only the model's own rules refuse (the spin boxes take their bounds from them)
    screen.resolution.setEditText("1280 x 720")
    values = {**screen.form_values(), "rest_s": 5000}
    monkeypatch.setattr(screen, "form_values", lambda: values)
    with qtbot.assertNotEmitted(screen.settings_saved, wait=50):
        screen.save.click()
    assert "Rest between sets: Input should be less than or equal to 600" in screen.problems.text()
    assert screen.problems.marked == (screen.rest,)
    assert not settings_path(tmp_path).exists()
    screen.pin.setText("12")
    screen.set_pin()
    assert "4 to 12 digits" in screen.problems.text()


def test_revert_restores_the_saved_values(qtbot: QtBot, context: AppContext) -> None:
    screen = settings_screen(qtbot, context)
    screen.rest.setValue(30)
    screen.keep_frames.setChecked(True)
    screen.revert.click()
    assert screen.rest.value() == 90 and not screen.keep_frames.isChecked()
    assert (screen.rest.minimum(), screen.rest.maximum()) == (0, 600)  # the model's bounds


@pytest.mark.parametrize("found", [[], [FoundCamera(0, 640, 480), FoundCamera(2, 1280, 720)]])
def test_find_cameras_lists_what_opens(qtbot: QtBot, context: AppContext, found: list[FoundCamera]) -> None:
    screen = settings_screen(qtbot, context)
    screen.probe = lambda: found
    screen.find_button.click()
    qtbot.waitUntil(screen.find_button.isEnabled)
    if found:
        assert [screen.camera.itemData(i) for i in range(screen.camera.count())] == ["0", "2"]
        assert "0 (640 x 480), 2 (1280 x 720)" in screen.found.text()
    else:
        assert screen.camera.count() == 0 and screen.found.text().startswith("No camera found (tried 0 to 5)")
    assert screen.camera.currentText() == "0"  # the typed value is kept


def test_the_pose_provider_in_use_is_shown(qtbot: QtBot, context: AppContext) -> None:
    screen = settings_screen(qtbot, context)
    qtbot.waitUntil(lambda: screen.provider.text() == "Runs on: LiteRT, CPU (XNNPACK)")
    screen.backend.setCurrentIndex(screen.backend.findData("onnx"))
    qtbot.waitUntil(lambda: "ONNX Runtime, " in screen.provider.text())
    assert "ExecutionProvider" in screen.provider.text()
    screen.backend.setCurrentIndex(screen.backend.findData("mediapipe"))
    qtbot.waitUntil(lambda: screen.provider.text() == "Runs on: MediaPipe Tasks, CPU")


# ------------------------------------------------------------------------------ keyboard
def inputs_of(screen: QWidget) -> list[QWidget]:
    found = [w for w in screen.findChildren(QWidget) if isinstance(w, INPUTS)]
    parts = (QAbstractSpinBox, QComboBox)  # their line edits are parts of them, not inputs
    return [w for w in found if w.isVisibleTo(screen) and w.isEnabled() and not isinstance(w.parent(), parts)]


def tab_through(qtbot: QtBot, screen: QWidget) -> set[QWidget]:
    screen.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None or screen.isActiveWindow())
    reached: set[QWidget] = set()
    for _ in range(400):
        focus = QApplication.focusWidget()
        assert focus is not None
        reached.add(focus)
        if isinstance(focus.parent(), QComboBox):  # an editable combo's line edit
            reached.add(focus.parent())  # type: ignore[arg-type]
        QTest.keyClick(focus, Qt.Key.Key_Tab)
    return reached


@pytest.mark.parametrize("which", ["programs", "settings"])
def test_tab_reaches_every_input_and_each_is_named(qtbot: QtBot, context: AppContext, which: str) -> None:
    screen: Any
    if which == "programs":
        screen = programs(qtbot, context)
        generate(screen, REQUEST)
    else:
        screen = settings_screen(qtbot, context)
    qtbot.wait(10)
    wanted = inputs_of(screen)
    assert len(wanted) > (60 if which == "programs" else 15)
    missed = [w.accessibleName() or type(w).__name__ for w in wanted if w not in tab_through(qtbot, screen)]
    assert missed == []
    assert [w for w in wanted if not w.accessibleName().strip()] == []
