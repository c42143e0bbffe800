"""The app's parts on their own: the event bridge across threads, the tally, the set-up check, the
kiosk's rules, and the Qt binding's reference counting that once aborted the app."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from ui_support import make_context

from app.engine.events import HoldEnded, RepCounted, RepDetail, SetFinished, SetStarted, StreamEnded
from app.engine.framing import assess_framing
from app.engine.pose.types import Pose
from app.engine.tally import SessionTally
from app.storage.pins import hash_pin
from app.ui.bridge import EngineBridge

ROOT = Path(__file__).resolve().parents[1]


def rep(i: int, faults: tuple[str, ...] = ()) -> RepDetail:
    return RepDetail(i, i, i + 0.5, i + 1, 0.5, 0.1, 0.4, 80.0 + i, 100.0, 150.0, faults=faults)


def test_the_bridge_delivers_engine_events_on_the_gui_thread_in_order(qtbot: QtBot) -> None:
    bridge = EngineBridge()
    got: list[tuple[int, bool]] = []
    bridge.rep_counted.connect(
        lambda e: got.append((e.rep.index, threading.current_thread() is threading.main_thread()))
    )

    def engine() -> None:
        for i in range(1, 201):
            bridge.emit(RepCounted(float(i), "squat", rep(i)))

    t = threading.Thread(target=engine, name="pose")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(got) == 200, timeout=5000)
    assert [i for i, _ in got] == list(range(1, 201)) and all(on_gui for _, on_gui in got)


def test_emitting_signals_keeps_pythons_reference_counts() -> None:
    """PySide6 6.12.0's emit() dropped a reference to True on every call: the app aborted after a few
    thousand events. In a fresh interpreter (nothing else moving the counts), 20,000 events through the
    bridge must leave True's and None's counts where they were, and the process alive."""
    script = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        from app.engine.events import RepCounted, RepDetail
        from app.ui.bridge import EngineBridge
        app = QApplication([])
        bridge, got = EngineBridge(), []
        bridge.rep_counted.connect(got.append)
        rep = RepDetail(1, 0, 0.5, 1, 0.5, 0.1, 0.4, 80.0, 100.0, 150.0)
        before = sys.getrefcount(True), sys.getrefcount(None)
        for i in range(20000):
            bridge.emit(RepCounted(float(i), "squat", rep))
        app.processEvents()
        print(sys.getrefcount(True) - before[0], sys.getrefcount(None) - before[1], len(got))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr[-800:]
    true_delta, none_delta, delivered = map(int, run.stdout.split())
    assert delivered == 20000 and abs(true_delta) < 100 and abs(none_delta) < 100


def test_the_tally_splits_sets_as_the_recorder_does() -> None:
    tally = SessionTally()
    for e in (
        SetStarted(0.0, "squat"), RepCounted(1, "squat", rep(1)),
        RepCounted(2, "squat", rep(2, ("knees_in",))), SetFinished(3, "squat", 2, 1, 0.0, 3.0),
        RepCounted(10, "push_up", rep(10)), HoldEnded(30, "plank", 20.0, 30.0),
        RepCounted(40, "push_up", rep(40)), StreamEnded(41, "cam0", "stopped"),
    ):  # fmt: skip
        tally.feed(e)
    shape = [(s.exercise, len(s.reps), s.hold_s) for s in tally.sets]
    assert shape == [("squat", 2, None), ("push_up", 1, None), ("plank", 0, 10.0), ("push_up", 1, None)]
    assert tally.sets[0].partial_reps == 1 and tally.sets[0].faults["knees_in"] == 1
    out = tally.to_json(profile="Ana", duration_s=41.0)
    exercises: Any = out["exercises"]
    assert out["total_reps"] == 4 and [x["exercise"] for x in exercises] == ["squat", "push_up", "plank"]
    assert not any(s.open for s in tally.sets)


def _pose(points: dict[int, tuple[float, float]], vis: float = 0.9) -> Pose:
    image = np.full((33, 3), 0.5, np.float32)
    for i, (x, y) in points.items():
        image[i, :2] = (x, y)
    return Pose(
        image,
        np.zeros((33, 3), np.float32),
        np.full(33, vis, np.float32),
        np.ones(33, np.float32),
        0.9,
        (640, 480),
    )


def _standing(top: float, bottom: float) -> Pose:
    span = bottom - top
    ys = {
        0: 0.0,
        7: 0.02,
        8: 0.02,
        11: 0.15,
        12: 0.15,
        15: 0.45,
        16: 0.45,
        23: 0.5,
        24: 0.5,
        25: 0.75,
        26: 0.75,
        27: 1.0,
        28: 1.0,
    }
    return _pose({i: (0.5 + (0.03 if i % 2 else -0.03), top + f * span) for i, f in ys.items()})


def test_the_set_up_check_names_what_to_fix() -> None:
    lit = np.full((480, 640, 3), 128, np.uint8)
    assert assess_framing(_standing(0.1, 0.9), lit).ok
    assert [i.code for i in assess_framing(_standing(0.5, 1.3), lit).issues] == ["cut_bottom"]
    assert [i.code for i in assess_framing(_standing(-0.3, 0.55), lit).issues] == ["cut_top"]
    assert [i.code for i in assess_framing(_standing(-0.3, 1.3), lit).issues] == ["too_close"]
    assert [i.code for i in assess_framing(_standing(0.4, 0.6), lit).issues] == ["too_far"]
    dark = np.full((480, 640, 3), 20, np.uint8)
    assert [i.code for i in assess_framing(_standing(0.1, 0.9), dark).issues] == ["dark"]
    assert [i.code for i in assess_framing(None, lit).issues] == ["no_person"]


def test_the_kiosk_keeps_members_in_and_signs_them_out(qtbot: QtBot, tmp_path: Path) -> None:
    from app.ui.window import MainWindow

    context = make_context(tmp_path, kiosk=True)
    context.settings = context.settings.model_copy(update={"kiosk_admin_pin_hash": hash_pin("9876")})
    win = MainWindow(context)
    qtbot.addWidget(win)
    try:
        win.show()
        win.go("profiles")
        profiles: Any = win.screens["profiles"]
        assert "" not in profiles.buttons  # no guest on a kiosk
        asked: list[bool] = []

        def ask_admin() -> bool:
            asked.append(True)
            return False

        win.ask_admin = ask_admin  # type: ignore[method-assign]
        win.close()
        assert asked and win.isVisible()  # no way out without the admin PIN
        context.member.sign_in("Ana")
        win.go("home")
        win._idle.start(50)  # inactivity: signed out to the profile picker
        qtbot.waitUntil(lambda: win.current_name == "profiles", timeout=3000)
        assert context.member.name is None or context.member.name == ""
    finally:
        win.allow_close = True
        win.close()
        context.db.close()


def test_no_display_is_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from app.cli import main

    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    assert main(["--data-dir", str(tmp_path)]) == 2


def test_every_control_of_every_screen_has_an_accessible_name(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractButton, QScrollBar, QTabBar, QWidget

    from app.ui.window import MainWindow

    context = make_context(tmp_path)
    win = MainWindow(context)
    qtbot.addWidget(win)
    try:
        win.go("profiles")
        unnamed: list[str] = []
        for name, screen in win.screens.items():
            for w in screen.findChildren(QWidget):
                if w.focusPolicy() == Qt.FocusPolicy.NoFocus or not w.isEnabled():
                    continue
                label = w.accessibleName() or (w.text() if isinstance(w, QAbstractButton) else "")
                if not label.strip() and not isinstance(w, QScrollBar | QTabBar) and not _inside_compound(w):
                    unnamed.append(f"{name}: {type(w).__name__} {w.objectName()}")
        assert not unnamed, unnamed
    finally:
        win.allow_close = True
        win.close()
        context.db.close()


def _inside_compound(w: Any) -> bool:
    """A part of a combo box, spin box or calendar: the compound control itself carries the name."""
    from PySide6.QtWidgets import QAbstractSpinBox, QCalendarWidget, QComboBox

    parent = w.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox | QAbstractSpinBox | QCalendarWidget):
            return True
        parent = parent.parentWidget()
    return False


def test_the_kiosk_supervisor_restarts_a_crashed_app_and_gives_up_on_a_broken_one(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from app.ui.kiosk import supervise

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    code = supervise(["spotter", "--kiosk", "--data-dir", str(not_a_folder)], pause_s=0.0, max_crashes=3)
    err = capfd.readouterr().err
    assert code == 2
    assert err.count("; restarting") == 2 and err.count("not restarting") == 1
    assert err.count("Cannot create the data folder") == 3  # the child says why, each time


def test_back_returns_to_where_you_came_from_and_never_into_a_workout(qtbot: QtBot, tmp_path: Path) -> None:
    from app.ui.window import MainWindow

    context = make_context(tmp_path)
    win = MainWindow(context)
    qtbot.addWidget(win)
    left: list[str] = []

    def noting(name: str) -> Any:
        return lambda: left.append(name)

    for name, screen in win.screens.items():
        screen.leaving = noting(name)  # type: ignore[method-assign]
    try:
        context.member.sign_in("Ana")
        win.go("home")
        win.go("history")
        win.go("leaderboards")
        win.back()
        assert win.current_name == "history" and left[-1] == "leaderboards"
        win.back()
        assert win.current_name == "home" and left[-1] == "history"
        win.go("summary")  # after a workout: Back goes home, not into it
        win.back()
        assert win.current_name == "home"
    finally:
        win.allow_close = True
        win.close()
        context.db.close()


def test_a_period_report_is_saved_with_progress_or_cancelled(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QPushButton
    from ui_support import seed_workouts

    from app.storage import operations as ops
    from app.ui.widgets.report_saver import ReportSaver

    context = make_context(tmp_path / "data", inline=False)
    try:
        ops.add_profile(context.db, "Ana", pin="2468")
        seed_workouts(context.db, "Ana", days=20)
        context.member.sign_in("Ana", "2468")  # a signed-in member's own report: the PIN they gave
        saver = ReportSaver(context)
        qtbot.addWidget(saver)
        saver.period.setCurrentIndex(saver.period.findData("year"))
        target = tmp_path / "year.pdf"
        saver.save(target)
        qtbot.waitUntil(lambda: "Saved" in saver.note.text(), timeout=30_000)
        assert target.read_bytes().startswith(b"%PDF")
        abandoned = tmp_path / "abandoned.pdf"
        task = saver.save(abandoned)
        assert task is not None
        cancel = task.dialog.findChild(QPushButton)
        assert cancel is not None
        cancel.click()
        qtbot.waitUntil(lambda: not context.jobs.busy, timeout=30_000)
        assert not abandoned.exists()
    finally:
        context.jobs.shutdown()
        context.db.close()


def test_the_pin_pad_types_a_pin_without_a_keyboard(qtbot: QtBot, tmp_path: Path) -> None:
    from app.ui.screens.profiles import PinDialog

    dialog = PinDialog(None, "Ana")
    qtbot.addWidget(dialog)
    for key in ("2", "4", "6", "9", "Delete", "8"):
        dialog.press(key)
    assert dialog.pin == "2468"
    dialog.press("Clear")
    assert dialog.pin == ""


def test_a_held_rep_is_shown_dimmed_until_it_is_counted(qtbot: QtBot) -> None:
    from app.ui.widgets.coaching import RepCounter

    counter = RepCounter()
    qtbot.addWidget(counter)
    counter.show_count(0, target=10, exercise="Squat", set_no=1, held=1)
    assert "0 reps of 10, 1 more to be confirmed" in counter.accessibleDescription()
    image = counter.grab().toImage()  # paints without error, the tentative count in the muted colour
    assert not image.isNull()
    counter.show_count(2, target=10, exercise="Squat", set_no=1)
    assert counter.held == 0 and counter.accessibleDescription().endswith("2 reps of 10")
