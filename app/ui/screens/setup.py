"""The set-up check before the first set, and the screen for when there is no camera.

SetupScreen previews the chosen source with the pose drawn, and says what keeps the view from being
good (whole body in frame? too close? camera too low or high? light?) with a picture of the fix. A
good view for a moment starts the workout hands-free; "Start anyway" is always there.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QListWidget, QVBoxLayout, QWidget

from app.engine.capture import OpenCvFrameSource
from app.engine.exercises.spec import get_spec
from app.engine.framing import PARTS, WHOLE_BODY, FramingReport, parts_for
from app.engine.pose.types import PoseEstimator
from app.errors import CameraError, VideoError
from app.ui import theme
from app.ui.live import LiveSession, WorkoutPlan
from app.ui.screens.base import Screen, button, describe_error
from app.ui.setup_probe import SetupProbe
from app.ui.widgets.stage import CameraStage

GOOD_FOR_S = 1.5  # a good view this long starts the workout
UNATTENDED_WAIT_S = 3.0


class FramingGuide(QWidget):
    """A picture of the fix: the frame, a figure where it is now (red) and where it should be (green)."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(220, 220)
        self.setAccessibleName("Framing guide")
        self.code = "no_person"

    def paintEvent(self, _event: QPaintEvent) -> None:
        pal = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(10, 10, -10, -10)
        p.setPen(QPen(pal.color("muted"), 2))
        p.drawRect(r)
        ok = QRectF(
            r.center().x() - r.height() * 0.18,
            r.top() + r.height() * 0.1,
            r.height() * 0.36,
            r.height() * 0.8,
        )
        now = {
            "too_close": ok.adjusted(-ok.width(), -ok.height() * 0.6, ok.width(), ok.height() * 0.6),
            "cut_bottom": ok.translated(0, r.height() * 0.35),
            "cut_top": ok.translated(0, -r.height() * 0.35),
            "too_far": ok.adjusted(ok.width() * 0.3, ok.height() * 0.5, -ok.width() * 0.3, 0),
            "cut_side": ok.translated(r.width() * 0.4, 0),
        }.get(self.code)
        p.setClipRect(r)
        if now is not None:
            _figure(p, now, QColor(pal.bad))
        _figure(p, ok, QColor(pal.good), dashed=now is not None)
        p.end()


def _figure(p: QPainter, box: QRectF, color: QColor, *, dashed: bool = False) -> None:
    p.setPen(QPen(color, 3, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine))
    cx, h = box.center().x(), box.height()
    head = h * 0.09
    p.drawEllipse(QPointF(cx, box.top() + head), head, head)
    neck, hip = box.top() + 2 * head, box.top() + h * 0.55
    p.drawLine(QPointF(cx, neck), QPointF(cx, hip))
    p.drawLine(QPointF(cx - h * 0.15, neck + h * 0.25), QPointF(cx, neck + h * 0.05))
    p.drawLine(QPointF(cx + h * 0.15, neck + h * 0.25), QPointF(cx, neck + h * 0.05))
    p.drawLine(QPointF(cx, hip), QPointF(cx - h * 0.1, box.bottom()))
    p.drawLine(QPointF(cx, hip), QPointF(cx + h * 0.1, box.bottom()))


class SetupScreen(Screen):
    name = "setup"
    title = "Set-up check"

    def __init__(self, context: Any, nav: Any) -> None:
        super().__init__(context, nav)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        self.subtitle = self.heading(layout, self.title, "Stand where you will train.")
        body = QHBoxLayout()
        self.stage = CameraStage()
        body.addWidget(self.stage, 3)
        side = QVBoxLayout()
        self.verdict = QLabel("Starting the camera…")
        self.verdict.setObjectName("subtitle")
        self.verdict.setWordWrap(True)
        self.verdict.setAccessibleName("Set-up verdict")
        self.guide = FramingGuide()
        self.issues = QListWidget()
        self.issues.setAccessibleName("What to fix")
        self.issues.setWordWrap(True)
        self.start = button("Start &anyway", primary=True, tip="Start the workout now (Enter)")
        self.start.clicked.connect(self.begin)
        for w in (self.verdict, self.guide, self.issues, self.start):
            side.addWidget(w)
        body.addLayout(side, 2)
        layout.addLayout(body, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(66)
        self._timer.timeout.connect(self._tick)
        self._probe: SetupProbe | None = None
        self._estimator: PoseEstimator | None = None
        self._plan: WorkoutPlan | None = None
        self._good_since: float | None = None
        self._entered_at = 0.0
        self.report: FramingReport | None = None
        self._needed: tuple[str, ...] = ()
        self._generation = 0

    def entered(self, payload: Any = None) -> None:
        assert isinstance(payload, WorkoutPlan)
        self._plan = payload
        self._good_since = None
        self._entered_at = time.monotonic()
        self.verdict.setText("Starting the camera…")
        self.issues.clear()
        self.start.setEnabled(False)
        needed = WHOLE_BODY
        if payload.exercise != "auto":
            spec = get_spec(payload.exercise)
            signals = spec.movement.signals if spec.movement is not None else ()
            needed = parts_for({j for s in signals for j in s.joints})
        self._needed = tuple(p for p in PARTS if p in needed)
        self._generation += 1
        generation = self._generation  # an answer for an earlier visit of this screen is stale
        self.context.jobs.submit(
            lambda: self._open(payload, needed),
            lambda probe: self._opened(probe, generation),
            lambda exc: self._failed(exc, generation),
        )

    def _open(self, plan: WorkoutPlan, needed: frozenset[str]) -> SetupProbe:
        estimator = self.context.create_estimator()
        size = self.context.settings.resolution
        probe = SetupProbe(OpenCvFrameSource(plan.source, size=size), estimator, needed=needed)
        try:
            probe.start()
        except Exception:
            estimator.close()
            raise
        return probe

    def _opened(self, probe: SetupProbe, generation: int) -> None:
        if generation != self._generation:  # left (or came back) while the camera opened
            probe.stop()
            probe.estimator.close()
            return
        self._probe = probe
        self._estimator = probe.estimator
        self.start.setEnabled(True)
        self.stage.camera_state = "live"
        self._timer.start()

    def _failed(self, exc: BaseException, generation: int) -> None:
        if generation == self._generation and self._plan is not None:
            self.nav.go("no_camera", (self._plan, exc))

    def _tick(self) -> None:
        probe = self._probe
        if probe is None:
            return
        if probe.error is not None and self._plan is not None:  # the camera broke during the preview
            error = probe.error
            self._stop_probe()
            self.nav.go("no_camera", (self._plan, error))
            return
        look = probe.latest
        if look is None:
            return
        self.stage.set_frame(look.frame.rgb, look.pose)
        self.report = report = look.report
        self.issues.clear()
        for issue in report.issues:
            self.issues.addItem(f"✗ {issue.message}\n    Fix: {issue.fix}")
        seen = [p for p in self._needed if p not in report.missing] if look.pose is not None else []
        if seen:
            self.issues.addItem("✓ In view: " + ", ".join(seen))
        if not any(i.code in ("dark", "bright") for i in report.issues):
            self.issues.addItem(f"✓ Light: fine (brightness {report.brightness:.0f} of 255)")
        self.guide.code = report.issues[0].code if report.issues else "ok"
        self.guide.update()
        now = time.monotonic()
        if report.ok:
            self._good_since = self._good_since or now
            left = GOOD_FOR_S - (now - self._good_since)
            self.verdict.setText("Good view. Starting…" if left <= 0 else "Good view. Hold still…")
            if left <= 0:
                self.begin()
        else:
            self._good_since = None
            self.verdict.setText(report.issues[0].message)
        if getattr(self.window(), "unattended", False) and now - self._entered_at > UNATTENDED_WAIT_S:
            self.begin()

    def on_voice(self, heard: Any) -> bool:
        name = heard.intent.name
        if name in ("next_set", "resume"):  # "next set": start now, whatever the check says
            self.begin()
            return True
        if name == "end_workout":
            self.nav.back()
            return True
        return False

    def _stop_probe(self) -> None:
        self._timer.stop()
        if self._probe is not None:
            self._probe.stop()
            self._probe = None

    def begin(self) -> None:
        """Start the workout (the preview's model is handed on, so the session starts at once)."""
        if self._plan is None or self._probe is None:
            return
        self._stop_probe()
        session = LiveSession(self.context, self._plan, estimator=self._estimator)
        self._estimator = None
        self.nav.go("workout", session)

    def leaving(self) -> None:
        self._generation += 1
        self._stop_probe()
        if self._estimator is not None:
            self._estimator.close()
            self._estimator = None


class NoCameraScreen(Screen):
    """The camera could not be opened: say so, offer another camera or a video file."""

    name = "no_camera"
    title = "No camera"

    def __init__(self, context: Any, nav: Any) -> None:
        super().__init__(context, nav)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 40, 60, 40)
        self.message = self.heading(layout, "No camera", "")
        title = self.findChild(QLabel, "title")
        assert title is not None
        self.title_label = title
        help_text = QLabel(
            "Check that the camera is plugged in and that no other program (a video call) is using it. "
            "You can also train with another camera, or play a video file as the camera."
        )
        help_text.setWordWrap(True)
        layout.addWidget(help_text)
        self.cameras = QHBoxLayout()
        layout.addLayout(self.cameras)
        row = QHBoxLayout()
        retry = button("&Try again", primary=True)
        retry.clicked.connect(lambda: self._retry(None))
        video = button("Play a &video file…")
        video.clicked.connect(self._video)
        row.addWidget(retry)
        row.addWidget(video)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)
        self._plan: WorkoutPlan | None = None

    def entered(self, payload: Any = None) -> None:
        plan, error = payload
        self._plan = plan
        camera = isinstance(error, CameraError | VideoError)
        self.title_label.setText("No camera" if camera else "The workout could not start")
        self.message.setText(describe_error(error, doing="Starting the workout"))
        while self.cameras.count():
            item = self.cameras.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        for index in range(4):
            if str(index) != plan.source:
                b = button(f"Camera &{index}", name=f"Use camera {index}")
                b.clicked.connect(lambda _c=False, i=index: self._retry(str(i)))
                self.cameras.addWidget(b)
        self.cameras.addStretch(1)

    def _retry(self, source: str | None) -> None:
        if self._plan is None:
            return
        from dataclasses import replace

        self.nav.go("setup", replace(self._plan, source=source or self._plan.source))

    def _video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "A video to play as the camera", "", "Videos (*.mp4 *.mov *.avi *.mkv)"
        )
        if path:
            self._retry(path)
