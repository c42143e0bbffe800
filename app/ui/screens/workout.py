"""The workout: the camera stage, the count, form, the coach's captions, and rest between sets.

The display timer pulls the newest frame and pose from the session (latest wins, ~30 Hz); engine
events arrive through the session's ``EngineBridge``. Buttons and keys act through the session's
``command``, the same path a spoken command takes.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from app.engine.events import (
    CameraStalled,
    EngineFailed,
    ExerciseRecognized,
    FormFault,
    PipelineStats,
    RepCounted,
    RepHeld,
    SetFinished,
)
from app.engine.exercises.spec import get_spec
from app.errors import ExerciseSpecError
from app.ui.live import LiveSession
from app.ui.screens.base import Screen, button
from app.ui.voice import describe
from app.ui.widgets.coaching import CueDock, FormMeter, RepCounter, RestTimer
from app.ui.widgets.stage import CameraStage, RomArc
from app.voice.control import VoiceCommand
from app.voice.cues import CueSpoken
from app.voice.listener import Heard

DISPLAY_HZ = 30


class WorkoutScreen(Screen):
    name = "workout"
    title = "Workout"

    def __init__(self, context: Any, nav: Any) -> None:
        super().__init__(context, nav)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        self.stage = CameraStage()
        layout.addWidget(self.stage, 3)
        side = QVBoxLayout()
        self.counter = RepCounter()
        self.meter = FormMeter()
        self.dock = CueDock()
        self.rest = RestTimer()
        self.rest.hide()
        self.rest.finished.connect(self._rest_over)
        self.status = QLabel("Starting…")
        self.status.setObjectName("muted")
        self.status.setAccessibleName("Workout status")
        self.status.setWordWrap(True)
        side.addWidget(self.counter, 3)
        side.addWidget(self.meter)
        side.addWidget(self.rest)
        side.addWidget(self.dock, 2)
        side.addWidget(self.status)
        row = QHBoxLayout()
        self.pause = button("&Pause", tip="Pause or resume the count (P); say 'pause' / 'resume'")
        self.pause.clicked.connect(self.toggle_pause)
        self.next_set = button("&Next set", tip="Close this set and rest (N); say 'next set'")
        self.next_set.clicked.connect(lambda: self._command("next_set"))
        self.next_ex = button(
            "Next e&xercise", tip="Go on to the session's next exercise (X); say 'next exercise'"
        )
        self.next_ex.clicked.connect(self.next_exercise)
        self.talk = button("&Talk (hold T)", tip="Push to talk: hold, say a command, let go (T)")
        self.talk.setCheckable(True)
        self.talk.toggled.connect(self._talk)
        self.end = button("&End workout", primary=True, tip="End and see the summary (E); say 'end workout'")
        self.end.clicked.connect(self.end_workout)
        for b in (self.pause, self.next_set, self.next_ex, self.talk, self.end):
            row.addWidget(b)
        side.addLayout(row)
        layout.addLayout(side, 2)
        for key, action in (
            (Qt.Key.Key_Space, self.toggle_pause), (Qt.Key.Key_P, self.toggle_pause),
            (Qt.Key.Key_N, lambda: self._command("next_set")), (Qt.Key.Key_X, self.next_exercise),
            (Qt.Key.Key_E, self.end_workout), (Qt.Key.Key_K, lambda: self.rest.stop(skipped=True)),
            (Qt.Key.Key_Plus, lambda: self.rest.add(30)),
        ):  # fmt: skip
            QShortcut(QKeySequence(key), self, action, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // DISPLAY_HZ)
        self._timer.timeout.connect(self._refresh)
        self.session: LiveSession | None = None
        self.shown_frames = 0
        self.frame_latency_ms: deque[float] = deque(maxlen=4000)  # capture to painted, for bench/ui.py
        self._last_seq = -1
        self._set_no = 0
        self._exercise = ""
        self._held = 0  # movements shown dimmed until a rep confirms them (RepHeld)
        self._advance_after_rest = False

    # ------------------------------------------------------------------ life cycle
    def entered(self, payload: Any = None) -> None:
        assert isinstance(payload, LiveSession)
        self.session = s = payload
        self._set_no, self._exercise, self.shown_frames, self._last_seq = 0, "", 0, -1
        self.meter.clear()
        self.dock.captions_on = self.context.settings.captions
        self.dock.history.clear()
        self.rest.hide()
        plan = s.plan
        self._exercise = "" if plan.exercise == "auto" else plan.exercise
        self._measure(self._exercise)
        self._show_count()
        self.status.setText("Loading the pose model and the coach…")
        self.end.setEnabled(False)  # until the session has started (or failed): End then has parts to end
        self.next_ex.setEnabled(s.next_step is not None)
        self._advance_after_rest = False
        b = s.bridge
        b.rep_counted.connect(self._rep)
        b.rep_held.connect(self._held_rep)
        b.set_finished.connect(self._set_finished)
        b.cue_spoken.connect(self._cue)
        b.form_fault.connect(self._fault)
        b.camera_stalled.connect(self._stalled)
        b.camera_reconnected.connect(self._reconnected)
        b.stats_updated.connect(self._stats)
        b.exercise_recognized.connect(self._recognized)
        b.engine_failed.connect(self._engine_failed)
        b.voice_command.connect(self._voice)
        b.workout_paused.connect(lambda _e: self._paused(True))
        b.workout_resumed.connect(lambda _e: self._paused(False))
        s.started.connect(self._started)
        s.failed.connect(self._failed)
        s.finished.connect(self._finished)
        self.stage.camera_state = "off"
        s.start()

    def _started(self) -> None:
        s = self.session
        assert s is not None
        self.stage.camera_state = "live"
        self.end.setEnabled(True)
        voice = self.context.voice
        self.talk.setEnabled(voice is not None and voice.ready)
        mic = "voice commands off (Settings)" if voice is None else describe(voice.state).lower()
        self.status.setText(f"Go! {mic}" + (f" {s.voice_note}" if s.voice_note else ""))
        self._timer.start()

    def _failed(self, exc: BaseException) -> None:
        if self.session is not None:
            self.nav.go("no_camera", (self.session.plan, exc))

    def leaving(self) -> None:
        self._timer.stop()
        self.rest.stop()

    # ------------------------------------------------------------------ display
    def _refresh(self) -> None:
        if self.session is None:
            return
        frame, pose, _seq = self.session.latest()
        if frame is None or frame.seq == self._last_seq:
            return
        self._last_seq = frame.seq
        self.stage.set_frame(frame.rgb, pose)
        self.stage.repaint()  # painted now, so the latency below is capture to screen
        self.shown_frames += 1
        self.frame_latency_ms.append((time.monotonic() - frame.t_capture) * 1000.0)

    def _show_count(self) -> None:
        s = self.session
        last = s.tally.sets[-1] if s is not None and s.tally.sets else None
        reps = len(last.reps) if last is not None else 0  # a finished set's count stays until the next
        target = s.step.target_reps if s is not None else None
        shown = _name(self._exercise) if self._exercise not in ("", "auto") else "recognising…"
        self.counter.show_count(
            reps, target=target, exercise=shown, set_no=max(1, self._set_no), held=self._held
        )

    # ------------------------------------------------------------------ events
    def _held_rep(self, _event: RepHeld) -> None:
        """Maybe the set's first rep: shown dimmed until the next rep confirms it."""
        self._held += 1
        self._show_count()

    def _rep(self, event: RepCounted) -> None:
        self._held = 0  # what was held is counted now, or was set-up
        if self.rest.running:  # training again: the rest is over
            self.rest.stop(skipped=True)
        step = self.session.step.exercise if self.session is not None else "auto"
        if step in ("auto", event.exercise) or get_spec(step).id == event.exercise:  # not the one just left
            self._exercise = event.exercise
        if self.session is not None and self.session.tally.current is not None:
            sets = self.session.tally.sets
            self._set_no = sum(1 for x in sets if x.exercise == event.exercise and x.hold_s is None)
        self.stage.flash()
        self.meter.add(event.rep)
        self._show_count()

    def _set_finished(self, event: SetFinished) -> None:
        self._held = 0
        if self.rest.running:  # "next set" already closed it and the rest is on
            return
        self._begin_rest(f"Set done: {event.reps} {event.exercise.replace('_', ' ')}.")

    def _begin_rest(self, note: str, seconds: int | None = None) -> None:
        s = self.session
        if s is None:
            return
        step = s.step
        left = max(0, step.sets - s.sets_done_in_step())
        following = s.next_step
        self._advance_after_rest = not left and following is not None
        if left:
            next_up = f"{note} {left} set{'s' if left != 1 else ''} of {_name(step.exercise)} to go."
        elif following is not None:
            next_up = f"{note} Next: {_name(following.exercise)}, {following.sets} sets."
        else:
            next_up = f"{note} That was the last set of the session."
        rest_s = seconds if seconds is not None else step.rest_s
        self.meter.clear()
        if rest_s <= 0:
            self._rest_over(False)
            return
        self.rest.show()
        self.rest.start(rest_s, next_up=next_up)

    def _rest_over(self, _skipped: bool) -> None:
        self.rest.hide()
        if self._advance_after_rest:
            self.next_exercise()
        self._show_count()

    def next_exercise(self) -> None:
        self._advance_after_rest = False
        if self.rest.running:
            self.rest.stop(skipped=True)
        if self.session is not None and self.session.next_exercise():
            step = self.session.step
            self._exercise = step.exercise
            self._measure(step.exercise)
            self._set_no = 0
            self._held = 0
            self.meter.clear()
            self.status.setText(f"Now: {_name(step.exercise)}, {step.sets} sets")
            self._show_count()
        self.next_ex.setEnabled(self.session is not None and self.session.next_step is not None)

    def swap_exercise(self, to: str, instead_of: str | None = None) -> None:
        """ "Switch to lunges", "swap squats for lunges": the exercise under way, or a later one."""
        if self.session is None:
            return
        was = instead_of or self._exercise
        index = self.session.swap_exercise(to, instead_of)
        if index is None:
            self.status.setText(f"No {_name(was)} left in this session to swap for {_name(to)}.")
        elif index == self.session.step_index:
            self._exercise = to
            self._measure(to)
            self._held = 0
            self.meter.clear()
            self.status.setText(f"Now: {_name(to)} instead of {_name(was)}")
            self._show_count()
        else:
            self.status.setText(f"Later: {_name(to)} instead of {_name(was)}")

    def _cue(self, line: CueSpoken) -> None:
        self.dock.caption(line.text, kind=line.kind, audible=line.audible)

    def _fault(self, fault: FormFault) -> None:
        self.dock.show_fault(fault.cue)

    def _stalled(self, event: CameraStalled) -> None:
        self.stage.camera_state = "lost"
        self.stage.camera_note = f"Camera lost, reconnecting (attempt {event.attempt})…"
        self.status.setText(f"{event.message}. Your reps so far are saved.")
        self.stage.update()

    def _reconnected(self, _event: object) -> None:
        self.stage.camera_state = "live"
        self.stage.camera_note = ""
        self.status.setText("Camera back. Carry on.")

    def _stats(self, event: PipelineStats) -> None:
        self.stage.stats_text = (
            f"{event.fps:.0f} fps · {event.dropped} dropped · {event.latency_p95_ms:.0f} ms p95"
        )

    def _measure(self, exercise: str) -> None:
        """The stage's arc follows the joint angle the exercise's primary signal measures."""
        joints = None
        if exercise:
            movement = get_spec(exercise).movement
            primary = movement.primary if movement is not None else None
            if primary is not None and primary.kind == "angle" and len(primary.joints) == 3:
                joints = (primary.joints[0], primary.joints[1], primary.joints[2])
        self.stage.arc = RomArc(joints)

    def _recognized(self, event: ExerciseRecognized) -> None:
        self._exercise = event.exercise
        self._measure(event.exercise)
        self.status.setText(f"Recognised {get_spec(event.exercise).name} ({event.confidence:.0%} sure).")
        self._show_count()

    def _engine_failed(self, event: EngineFailed) -> None:
        self.status.setText(f"The {event.where} stopped: {event.message}. Your reps so far are saved.")

    def _voice(self, command: VoiceCommand) -> None:
        name = command.intent
        if name == "rest":
            seconds = command.slots.get("seconds")
            self._begin_rest("Resting.", int(seconds) if isinstance(seconds, int | float) else None)
        elif name in ("next_set", "resume", "skip_rest") and self.rest.running:
            self.rest.stop(skipped=True)
        elif name == "add_rest":
            seconds = command.slots.get("seconds", 30)
            self.rest.add(int(seconds) if isinstance(seconds, int | float) else 30)
        elif name == "next_set":
            self._begin_rest("Set closed.")
        elif name == "skip_exercise":
            self.next_exercise()
        elif name == "swap_exercise" and isinstance(command.slots.get("to"), str):
            instead = command.slots.get("from")
            self.swap_exercise(str(command.slots["to"]), instead if isinstance(instead, str) else None)
        if command.text:
            self.dock.caption(f"You said: “{command.text}”", kind="command")

    def _paused(self, paused: bool) -> None:
        self.pause.setText("&Resume" if paused else "&Pause")
        self.stage.camera_state = "paused" if paused else "live"
        self.stage.camera_note = "Paused — press P or say 'resume'" if paused else ""
        self.stage.update()

    # ------------------------------------------------------------------ actions
    def _command(self, name: str, **slots: Any) -> None:
        if self.session is not None:
            self.session.command(name, **slots)

    def toggle_pause(self) -> None:
        if self.session is not None:
            self._command("resume" if self.session.paused else "pause")

    def _talk(self, on: bool) -> None:
        voice = self.context.voice
        if voice is None:
            return
        if on:
            voice.press()
        else:
            voice.release()

    def on_voice(self, heard: Heard) -> bool:
        return self.session is not None and self.session.hear(heard)

    def end_workout(self) -> None:
        if self.session is not None:
            self.end.setEnabled(False)
            self.status.setText("Saving…")
            self.session.end()

    def _finished(self, summary: str) -> None:
        self._timer.stop()
        self.rest.stop()
        self.stage.camera_state = "ended"
        if self.session is not None and self.session.plan.profile is not None:
            self.context.workout_saved()  # the background sync sends it; nothing waits here
        self.nav.go("summary", self.session)


def _name(exercise: str) -> str:
    """How an exercise is named on screen ("any" is "Any movement")."""
    if exercise == "auto":
        return "the exercise"
    try:
        return get_spec(exercise).name
    except ExerciseSpecError:
        return exercise.replace("_", " ")
