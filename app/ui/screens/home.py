"""Home: today's program session or a quick start (any exercise, or recognised), and the way to the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from app.engine.exercises.spec import catalogue
from app.errors import StorageError
from app.programs import operations as programs
from app.ui.jobs import CancelToken
from app.ui.live import Step, WorkoutPlan
from app.ui.screens.base import Screen, button
from app.ui.widgets.progress import ProgressTask, Report

AUTO = "auto"
ANY = "any"
VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm)"


def _panel() -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("panel")
    return frame, QVBoxLayout(frame)


class HomeScreen(Screen):
    name = "home"
    title = "Home"

    def __init__(self, context: Any, nav: Any) -> None:
        super().__init__(context, nav)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 24, 40, 24)
        top = QHBoxLayout()
        self.greeting = QLabel("")
        self.greeting.setObjectName("title")
        top.addWidget(self.greeting, 1)
        switch = button("S&witch profile", tip="Sign out and choose another profile")
        switch.clicked.connect(lambda: self.nav.go("profiles"))
        top.addWidget(switch)
        layout.addLayout(top)
        self.source_note = QLabel("")
        self.source_note.setObjectName("subtitle")
        layout.addWidget(self.source_note)

        columns = QHBoxLayout()
        columns.setSpacing(20)
        today, self.today_box = _panel()
        self.today_title = QLabel("Today's session")
        self.today_title.setObjectName("subtitle")
        self.today_box.addWidget(self.today_title)
        self.today_list = QLabel("")
        self.today_list.setWordWrap(True)
        self.today_list.setTextFormat(Qt.TextFormat.RichText)
        self.today_list.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.today_box.addWidget(self.today_list, 1)
        self.start_today = button("Start &today's session", primary=True)
        self.start_today.clicked.connect(self.start_program)
        self.today_box.addWidget(self.start_today)
        columns.addWidget(today, 1)

        quick, box = _panel()
        label = QLabel("Quick start")
        label.setObjectName("subtitle")
        box.addWidget(label)
        form = QFormLayout()
        self.exercise = QComboBox()
        self.exercise.setAccessibleName("Exercise")
        self.exercise.addItem("Recognise it for me", AUTO)
        self.exercise.addItem("Any movement: count what repeats", ANY)
        for spec in catalogue().values():
            self.exercise.addItem(spec.name, spec.id)
        self.load = QDoubleSpinBox()
        self.load.setRange(0, 500)
        self.load.setDecimals(1)
        self.load.setSpecialValueText("bodyweight")
        self.load.setAccessibleName("Load")
        self.unit = QComboBox()
        self.unit.addItems(["kg", "lb"])
        self.unit.setAccessibleName("Load unit")
        self.target = QSpinBox()
        self.target.setRange(0, 100)
        self.target.setSpecialValueText("no target")
        self.target.setValue(10)
        self.target.setAccessibleName("Target reps")
        self.sets = QSpinBox()
        self.sets.setRange(1, 10)
        self.sets.setValue(3)
        self.sets.setAccessibleName("Sets")
        load_row = QHBoxLayout()
        load_row.addWidget(self.load, 1)
        load_row.addWidget(self.unit)
        for text, widget in (
            ("&Exercise", self.exercise),
            ("Target &reps", self.target),
            ("Se&ts", self.sets),
        ):
            lab = QLabel(text)
            lab.setBuddy(widget)
            form.addRow(lab, widget)
        lab = QLabel("&Load")
        lab.setBuddy(self.load)
        form.addRow(lab, load_row)
        box.addLayout(form)
        box.addStretch(1)
        row = QHBoxLayout()
        self.start_quick = button(
            "&Start", primary=True, name="Start quick workout", tip="Start with the camera"
        )
        self.start_quick.clicked.connect(self.start_quick_workout)
        from_file = button("Use a &video file…", tip="Play a video file as the camera")
        from_file.clicked.connect(self._pick_file)
        analyze = button("&Analyze a video…", tip="Count, time and grade the reps of a recorded video")
        analyze.clicked.connect(lambda: self.analyze_video(None))
        row.addWidget(self.start_quick, 1)
        row.addWidget(from_file)
        row.addWidget(analyze)
        box.addLayout(row)
        columns.addWidget(quick, 1)
        layout.addLayout(columns, 1)

        nav = QGridLayout()
        for i, (text, target, tip) in enumerate(
            (
                ("&History", "history", "Your workouts, streaks and records"),
                ("&Program", "programs", "Build and edit your training program"),
                ("&Leaderboards", "leaderboards", "Who trained most on this machine"),
                ("Setti&ngs", "settings", "Camera, pose model, voice, accessibility"),
            )
        ):
            b = button(text, tip=tip)
            b.setMinimumHeight(48)
            b.clicked.connect(lambda _c=False, t=target: self.nav.go(t))
            nav.addWidget(b, 0, i)
        layout.addLayout(nav)
        self._source: str | None = None
        self._guest_result = ""
        self._today: programs.NextSession | None = None

    # ------------------------------------------------------------------ data
    def entered(self, payload: Any = None) -> None:
        member = self.context.member.name
        self.greeting.setText(f"Hello, {member}" if member else "Hello, guest")
        self.unit.setCurrentText(self.context.settings.unit)
        self._source = self._source or self.context.options.source
        self._show_source()
        self._today = None
        self.start_today.setEnabled(False)
        if member is None:
            self.today_list.setText(
                "Guests train without a program, and nothing is saved. Sign in to keep your reps."
            )
            return
        self.today_list.setText("Loading…")
        self.context.jobs.submit(lambda: self._next(member), self._show_today, self._no_today)

    def _next(self, member: str) -> programs.NextSession | None:
        try:
            return programs.next_session(self.context.db, member)
        except StorageError:
            return None

    def _show_today(self, session: programs.NextSession | None) -> None:
        self._today = session
        if session is None:
            self.today_list.setText("No program yet. Build one under <b>Program</b>, or use a quick start.")
            return
        rows = "".join(
            f"<li><b>{i.prescription.exercise.replace('_', ' ')}</b>: {i.target}"
            f"{' @ ' + i.load if i.load else ''}<br><span style='color:gray'>{i.note}</span></li>"
            for i in session.items
        )
        self.today_title.setText(f"Today's session: {session.day.name}")
        self.today_list.setText(f"<ul>{rows}</ul>")
        self.start_today.setEnabled(bool(session.items))

    def _no_today(self, exc: BaseException) -> None:
        self.today_list.setText("")
        self.show_error(exc, doing="Reading your program")

    def _show_source(self) -> None:
        src = self._source or self.context.settings.camera
        kind = (
            f"camera {src}" if src.isdigit() else f"video file {Path(src).name}" if "://" not in src else src
        )
        self.source_note.setText(
            f"Training with {kind}. Nothing is recorded unless you opt in under Settings."
        )

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "A video to play as the camera", "", "Videos (*.mp4 *.mov *.avi *.mkv *.webm)"
        )
        if path:
            self._source = path
            self._show_source()

    # ------------------------------------------------------------------ actions
    def plan(self, exercise: str | None = None) -> WorkoutPlan:
        load = self.load.value() or None
        source = self._source or self.context.settings.camera
        return WorkoutPlan(
            profile=self.context.member.name,
            exercise=exercise or str(self.exercise.currentData()),
            source=source,
            realtime=self.context.options.realtime,
            load=load,
            unit=self.unit.currentText(),
            target_reps=self.target.value() or None,
            sets=self.sets.value(),
            rest_s=self.context.settings.rest_s,
        )

    def start_quick_workout(self) -> None:
        self.nav.go("setup", self.plan())

    def start_program(self) -> None:
        if self._today is None or not self._today.items:
            return
        steps = [
            Step(i.prescription.exercise, i.prescription.sets, i.prescription.rep_hi, i.prescription.load,
                 i.prescription.unit or self.unit.currentText(), i.prescription.rest_s)
            for i in self._today.items
        ]  # fmt: skip
        rx = self._today.items[0].prescription
        base = self.plan(rx.exercise)
        self.nav.go(
            "setup",
            WorkoutPlan(
                profile=base.profile, exercise=rx.exercise, source=base.source,
                realtime=base.realtime, load=rx.load, unit=rx.unit or base.unit, target_reps=rx.rep_hi,
                sets=rx.sets, rest_s=rx.rest_s, then=tuple(steps[1:]),
            ),
        )  # fmt: skip

    def analyze_video(self, path: Path | None) -> ProgressTask | None:
        """Analyse a recorded video (progress, Cancel), save it for the member, show its summary."""
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "A video to analyse", "", VIDEO_FILTER)
            if not name:
                return None
            path = Path(name)
        chosen = str(self.exercise.currentData())
        member, load, unit = self.context.member.name, self.load.value() or None, self.unit.currentText()
        db = self.context.db

        def work(report: Report, token: CancelToken) -> str | None:
            from app.engine.offline import analyze_video
            from app.storage import operations as ops

            estimator = self.context.create_estimator()
            try:
                result = analyze_video(
                    path, estimator, exercise=None if chosen == AUTO else chosen, progress=report
                )
            finally:
                estimator.close()
            token.check()
            if member is None:
                self._guest_result = (
                    f"{len(result.analyzer.reps)} {result.exercise} reps (not saved: a guest)"
                )
                return None
            return ops.save_analysis(db, member, result, load=load, unit=unit).workout_id

        def done(workout_id: str | None) -> None:
            if workout_id is not None:
                self.context.workout_saved()
                self.nav.go("summary", workout_id)
            else:
                self.source_note.setText(f"{path.name}: {self._guest_result}")

        task = ProgressTask(self, f"Analysing {path.name}…", self.context.jobs)
        task.start(work, done, lambda exc: self.show_error(exc, doing="The analysis"))
        return task

    def on_voice(self, heard: Any) -> bool:
        intent = heard.intent
        if intent.name == "swap_exercise" and isinstance(intent.slots.get("to"), str):
            self.select_exercise(str(intent.slots["to"]))  # "switch to lunges"
            return True
        if intent.name in ("next_set", "resume"):  # "next set" from here: start the quick workout
            self.start_quick_workout()
            return True
        return False

    def select_exercise(self, exercise: str) -> None:
        index = self.exercise.findData(exercise)
        if index >= 0:
            self.exercise.setCurrentIndex(index)
