"""The app as a person uses it: the whole flow in the real window, offscreen, a real clip as the camera.

The count on screen must equal ``spotter analyze`` on the same clip, the workout must be in the
database, the flow must work from the keyboard alone, and closing the window must leave no thread.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from shared_data import clip
from ui_support import make_context

from app.engine.offline import analyze_video
from app.ui.context import AppContext
from app.ui.window import MainWindow

pytestmark = pytest.mark.slow
CLIP = "curl_04.mp4"
EXERCISE = "biceps_curl"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    before = {t.ident for t in threading.enumerate()}
    context = make_context(tmp_path, inline=False, source=str(clip(CLIP)), realtime=False)
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.allow_close = True
    win.close()
    context.db.close()
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon]
    alive = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not left and not [
        n for n in alive if n in ("pose", "setup-check", "db-writer") or n.startswith("capture")
    ]


def screen(win: MainWindow, name: str) -> Any:
    return win.screens[name]


def shown(qtbot: QtBot, win: MainWindow, name: str, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: win.current_name == name, timeout=timeout)


def test_the_count_on_screen_equals_analyze_and_the_workout_is_saved(
    qtbot: QtBot, window: MainWindow, litert_full: Any
) -> None:
    win, ctx = window, window.context
    win.go("profiles")
    from app.storage import operations as ops

    ops.add_profile(ctx.db, "Ana")
    screen(win, "profiles").entered()
    assert screen(win, "profiles").choose("Ana")
    shown(qtbot, win, "home")
    home = screen(win, "home")
    home.select_exercise(EXERCISE)
    home.start_quick_workout()
    shown(qtbot, win, "setup")
    qtbot.waitUntil(screen(win, "setup").start.isEnabled, timeout=20_000)
    screen(win, "setup").begin()
    shown(qtbot, win, "workout")
    workout = screen(win, "workout")
    shown(qtbot, win, "summary", timeout=120_000)
    on_screen = workout.counter.reps
    litert_full.reset()
    expected = analyze_video(clip(CLIP), litert_full, exercise=EXERCISE)
    assert on_screen == len(expected.analyzer.reps) > 0
    assert workout.shown_frames > 3  # the stage was fed from the display timer
    summary = screen(win, "summary")
    qtbot.waitUntil(lambda: bool(summary.rows), timeout=10_000)
    assert sum(r.reps for r in summary.rows) == on_screen
    with sqlite3.connect(ctx.db.path) as conn:
        saved = conn.execute(
            "SELECT COUNT(*) FROM reps r JOIN sets s ON s.id = r.set_id "
            "JOIN workouts w ON w.id = s.workout_id "
            "JOIN profiles p ON p.id = w.profile_id WHERE p.name = 'Ana' AND w.source = 'live'"
        ).fetchone()[0]
    assert saved == on_screen
    out = summary.summary_json()
    assert out["total_reps"] == on_screen and out["profile"] == "Ana"


def test_the_flow_works_from_the_keyboard_alone(qtbot: QtBot, window: MainWindow) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    win = window
    win.go("profiles")
    profiles = screen(win, "profiles")
    QTest.keyClicks(profiles.new_name, "Kim")
    QTest.keyClick(profiles.new_name, Qt.Key.Key_Return)  # add, and sign in
    shown(qtbot, win, "home")
    home = screen(win, "home")
    home.exercise.setFocus()
    for _ in range(home.exercise.findData(EXERCISE)):
        QTest.keyClick(home.exercise, Qt.Key.Key_Down)
    assert home.exercise.currentData() == EXERCISE
    QTest.keyClick(home, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)  # &Start
    shown(qtbot, win, "setup")
    setup = screen(win, "setup")
    qtbot.waitUntil(setup.start.isEnabled, timeout=20_000)
    QTest.keyClick(setup, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # Start &anyway
    shown(qtbot, win, "workout")
    workout = screen(win, "workout")
    qtbot.waitUntil(lambda: workout.counter.reps >= 1, timeout=60_000)
    QTest.keyClick(workout, Qt.Key.Key_E, Qt.KeyboardModifier.AltModifier)  # &End workout
    shown(qtbot, win, "summary", timeout=30_000)
    assert screen(win, "summary").workout_id is not None
    QTest.keyClick(screen(win, "summary"), Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # &Done
    shown(qtbot, win, "home")
    QTest.keyClick(win, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    shown(qtbot, win, "history")
    QTest.keyClick(win, Qt.Key.Key_Escape)
    shown(qtbot, win, "home")


def test_unattended_run_writes_the_summary_and_a_picture_of_every_screen(tmp_path: Path) -> None:
    out, shots = tmp_path / "summary.json", tmp_path / "shots"
    cmd = [
        sys.executable, "-m", "app.cli", "--data-dir", str(tmp_path / "data"), "--source", str(clip(CLIP)),
        "--exercise", EXERCISE, "--fast", "--auto", "--exit-when-done", "--summary-json", str(out),
        "--screenshot-dir", str(shots), "--profile", "Lee",
    ]  # fmt: skip
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(out.read_text())
    assert summary["profile"] == "Lee" and summary["exercises"][0]["exercise"] == EXERCISE
    sets = summary["exercises"][0]["sets"]
    assert summary["total_reps"] == sum(s["reps"] for s in sets) > 0
    assert all(len(s["reps_detail"]) == s["reps"] for s in sets)
    kept = [p for p in (tmp_path / "data").rglob("*") if p.suffix.lower() in {".mp4", ".avi", ".png", ".jpg"}]
    assert not kept  # privacy: no frame touched the disk (the screenshots went where they were asked)
    names = sorted(p.stem.split("-", 1)[1] for p in shots.glob("*.png"))
    for expected in ("profiles", "home", "setup-check", "workout", "summary", "history", "leaderboards",
                     "programs", "settings"):  # fmt: skip
        assert expected in names, names


def test_a_missing_camera_gets_its_own_screen(qtbot: QtBot, tmp_path: Path) -> None:
    context: AppContext = make_context(tmp_path, inline=False, source=str(tmp_path / "no-such-video.mp4"))
    win = MainWindow(context)
    qtbot.addWidget(win)
    try:
        win.context.member.sign_in("x")
        screen(win, "home").entered()
        screen(win, "home").start_quick_workout()
        shown(qtbot, win, "no_camera", timeout=20_000)
        assert "no-such-video.mp4" in screen(win, "no_camera").message.text()
    finally:
        win.allow_close = True
        win.close()
        context.db.close()


def _sign_in(win: MainWindow, name: str) -> None:
    from app.storage import operations as ops

    ops.add_profile(win.context.db, name)
    win.go("profiles")
    assert screen(win, "profiles").choose(name)


def _workouts(win: MainWindow) -> int:
    with sqlite3.connect(win.context.db.path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM workouts WHERE ended_at IS NOT NULL").fetchone()[0])


def test_a_video_is_analysed_with_progress_and_saved_or_cancelled(qtbot: QtBot, window: MainWindow) -> None:
    win = window
    _sign_in(win, "Ana")
    shown(qtbot, win, "home")
    home = screen(win, "home")
    home.select_exercise("squat")
    task = home.analyze_video(clip("squat_01.mp4"))
    qtbot.waitUntil(lambda: task.dialog.maximum() > 0 and task.dialog.value() > 0, timeout=20_000)
    from PySide6.QtWidgets import QPushButton

    cancel = task.dialog.findChild(QPushButton)
    assert cancel is not None and cancel.text() == "Cancel"
    cancel.click()  # the person presses Cancel: nothing is saved, no summary
    qtbot.waitUntil(lambda: not win.context.jobs.busy, timeout=30_000)
    assert win.current_name == "home" and _workouts(win) == 0
    home.select_exercise(EXERCISE)
    home.analyze_video(clip(CLIP))
    shown(qtbot, win, "summary", timeout=60_000)
    summary = screen(win, "summary")
    qtbot.waitUntil(lambda: bool(summary.rows), timeout=10_000)
    assert [(r.exercise, r.reps > 0) for r in summary.rows] == [(EXERCISE, True)] and _workouts(win) == 1


def test_a_program_session_goes_on_to_its_next_exercise(qtbot: QtBot, window: MainWindow) -> None:
    from app.ui.live import Step, WorkoutPlan

    win = window
    _sign_in(win, "Ana")
    plan = WorkoutPlan(
        "Ana", EXERCISE, str(clip(CLIP)), realtime=False, target_reps=8, sets=1, rest_s=0,
        then=(Step("squat", sets=2, target_reps=5, load=20.0),),
    )  # fmt: skip
    win.go("setup", plan)
    setup = screen(win, "setup")
    qtbot.waitUntil(setup.start.isEnabled, timeout=20_000)
    setup.begin()
    shown(qtbot, win, "workout")
    workout = screen(win, "workout")
    assert workout.next_ex.isEnabled()
    qtbot.waitUntil(lambda: workout.counter.reps >= 1, timeout=60_000)
    workout.swap_exercise("lunge", "squat")  # "swap squats for lunges": the later step changes
    assert workout.session.plan.then[0].exercise == "lunge" and workout.session.step.exercise == EXERCISE
    assert workout.status.text() == "Later: Lunge instead of Squat"
    workout.swap_exercise("squat", "lunge")  # and back
    workout.next_exercise()  # as the button or "next exercise" would
    session = workout.session
    assert session.step.exercise == "squat" and not workout.next_ex.isEnabled()
    assert workout.counter.exercise == "Squat" and workout.counter.target == 5
    shown(qtbot, win, "summary", timeout=120_000)
    curls = [s for s in session.tally.sets if s.exercise == EXERCISE]
    assert curls and all(s.end_t is not None for s in curls)
    with sqlite3.connect(win.context.db.path) as conn:
        sets = conn.execute("SELECT exercise, load, target_reps FROM sets ORDER BY started_at").fetchall()
    assert sets[0] == (EXERCISE, None, 8)  # the open set kept its own load and target
    assert all((load, target) == (20.0, 5) for ex, load, target in sets if ex == "squat")


def test_frames_are_kept_only_when_the_person_opts_in(qtbot: QtBot, window: MainWindow) -> None:
    import cv2

    from app.ui.live import WorkoutPlan

    win = window
    win.context.settings = win.context.settings.model_copy(update={"keep_frames": True})
    win.context.member.sign_in("")
    win.go("setup", WorkoutPlan(None, EXERCISE, str(clip(CLIP)), realtime=False))
    qtbot.waitUntil(screen(win, "setup").start.isEnabled, timeout=20_000)
    screen(win, "setup").begin()
    shown(qtbot, win, "summary", timeout=120_000)
    kept = list((win.context.data_dir / "recordings").glob("guest-*.mp4"))
    assert len(kept) == 1
    video = cv2.VideoCapture(str(kept[0]))
    assert video.get(cv2.CAP_PROP_FRAME_COUNT) >= 2
    video.release()


def test_voice_commands_act_on_the_screen_shown(qtbot: QtBot, window: MainWindow) -> None:
    """What the app's listener hears goes to the screen shown: the home screen takes "switch to
    squats" and "next set", the set-up check "next set", the workout "pause", "switch to ...",
    "resume", "rest for N seconds", "add N seconds", "skip rest" and "next set" (which also ends the
    rest), through the same VoiceControl as its buttons."""
    from app.engine.events import CameraReconnected, CameraStalled
    from app.voice.intents import Intent
    from app.voice.listener import Heard

    def say(name: str, **slots: Any) -> None:
        win.heard(
            Heard(Intent(name, dict(slots), text=name.replace("_", " "), confidence=0.9), 0, 0.5, 5, 0.5)
        )

    win = window
    _sign_in(win, "Ana")
    shown(qtbot, win, "home")
    home = screen(win, "home")
    say("swap_exercise", to=EXERCISE)
    assert home.exercise.currentData() == EXERCISE
    say("next_set")
    shown(qtbot, win, "setup")
    qtbot.waitUntil(screen(win, "setup").start.isEnabled, timeout=20_000)
    say("next_set")
    shown(qtbot, win, "workout")
    workout = screen(win, "workout")
    qtbot.waitUntil(lambda: workout.counter.reps >= 1, timeout=60_000)
    session = workout.session
    say("pause")  # paused, no rep can end the rest below: it is the voice that does
    qtbot.waitUntil(lambda: session.paused and workout.stage.camera_state == "paused", timeout=5000)
    say("swap_exercise", to="hammer_curl")  # "switch to hammer curls": the counter follows at once
    qtbot.waitUntil(lambda: session.step.exercise == "hammer_curl", timeout=5000)
    assert workout.status.text().startswith("Now: Hammer curl instead of")
    say("swap_exercise", **{"from": "squat", "to": "lunge"})  # no squats in this session
    qtbot.waitUntil(lambda: "No Squat left" in workout.status.text(), timeout=5000)
    say("rest", seconds=45)
    qtbot.waitUntil(lambda: workout.rest.running, timeout=5000)
    assert 40 < workout.rest.left_s <= 45
    workout.rest.more.click()  # +30 s
    assert workout.rest.left_s > 70
    say("add_rest", seconds=20)  # "add twenty seconds"
    qtbot.waitUntil(lambda: workout.rest.left_s > 90, timeout=5000)
    say("next_set")  # the rest is over
    qtbot.waitUntil(lambda: not workout.rest.running, timeout=5000)
    say("rest", seconds=30)  # ended by "skip rest"
    qtbot.waitUntil(lambda: workout.rest.running, timeout=5000)
    say("skip_rest")
    qtbot.waitUntil(lambda: not workout.rest.running, timeout=5000)
    say("resume")
    qtbot.waitUntil(lambda: not session.paused and workout.stage.camera_state == "live", timeout=5000)
    # said with the talk key held and no command: the person is told, and nothing changes
    win.unclear(Heard(Intent("none", text="that was my last rep", confidence=0.3), 0, 0.5, 5, 0.5))
    assert win.statusBar().currentMessage() == "Didn't catch that: hold T and say it again"
    assert not session.paused and not workout.rest.running
    session.bridge.emit(CameraStalled(1.0, "cam0", 1, "No frame from cam0 for 2.0 s"))
    qtbot.waitUntil(lambda: workout.stage.camera_state == "lost", timeout=5000)
    assert "reconnecting" in workout.stage.camera_note and "saved" in workout.status.text()
    session.bridge.emit(CameraReconnected(2.0, "cam0", 1))
    qtbot.waitUntil(lambda: workout.stage.camera_state == "live", timeout=5000)
    shown(qtbot, win, "summary", timeout=120_000)
    say("end_workout")
    shown(qtbot, win, "home")


def test_ending_a_workout_before_it_started_closes_everything(qtbot: QtBot, window: MainWindow) -> None:
    """End pressed while the camera and the coach are still loading: no camera, pipeline or recorder is
    left running (the fixture checks the threads), and the summary follows."""
    from app.ui.live import WorkoutPlan

    win = window
    _sign_in(win, "Ana")
    win.go("setup", WorkoutPlan("Ana", EXERCISE, str(clip(CLIP)), realtime=False))
    qtbot.waitUntil(screen(win, "setup").start.isEnabled, timeout=20_000)
    screen(win, "setup").begin()
    workout = screen(win, "workout")
    assert not workout.end.isEnabled()  # End waits for the session to start
    workout.session.end()  # as if it was pressed at once
    shown(qtbot, win, "summary", timeout=30_000)
    session = workout.session
    assert session.pipeline is None and session.voice is None
    qtbot.wait(300)
    assert session.pipeline is None  # the build stopped short: it never started a pipeline
