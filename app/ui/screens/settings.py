"""Settings: every field of ``AppSettings``, validated by the model itself, saved beside the database.

Camera probing and the pose runtime's provider are looked up in background jobs; the screen never
opens the database (``context.save_settings`` writes the settings file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QRegularExpression, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QRegularExpressionValidator, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.settings import AppSettings
from app.storage.pins import hash_pin
from app.ui import theme
from app.ui.context import AppContext
from app.ui.screens.base import Navigator, Screen, button, describe_error
from app.ui.widgets import forms
from app.ui.widgets.forms import Problem, ProblemLabel, ThemedScrollArea
from app.ui.widgets.sync_status import SyncStatusWidget

PROBE_INDICES = range(6)
RESOLUTIONS: tuple[tuple[str, object], ...] = (
    ("Camera default", None), ("640 x 480", (640, 480)), ("1280 x 720", (1280, 720)),
    ("1920 x 1080", (1920, 1080)),
)  # fmt: skip
SIZE = re.compile(r"^\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*$")


@dataclass(frozen=True, slots=True)
class FoundCamera:
    index: int
    width: int
    height: int


def probe_cameras(indices: range = PROBE_INDICES) -> list[FoundCamera]:
    """The camera indices OpenCV can open, with the picture size each reports (slow: a job's work)."""
    import cv2

    found: list[FoundCamera] = []
    for i in indices:
        cap = cv2.VideoCapture(i)
        try:
            if cap.isOpened():
                size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
                found.append(FoundCamera(i, *size))
        finally:
            cap.release()
    return found


def provider_text(backend: str) -> str:
    """Which runtime and execution provider a pose backend runs on here."""
    if backend == "litert":
        return "LiteRT, CPU (XNNPACK)"
    if backend == "mediapipe":
        return "MediaPipe Tasks, CPU"
    try:
        import onnxruntime
    except ImportError:
        return "ONNX Runtime is not installed: choose LiteRT."
    from app.engine.pose.runners import select_providers

    available = list(onnxruntime.get_available_providers())
    return f"ONNX Runtime, {select_providers(available)[0]} (available: {', '.join(available)})"


def parse_resolution(text: str) -> tuple[int, int] | None:
    """A picture size: "1280 x 720" is (1280, 720), "Camera default" (or nothing) None; else ValueError."""
    if text.strip().lower() in ("", "camera default", "default"):
        return None
    m = SIZE.match(text)
    if m is None:
        raise ValueError("write it as width x height, e.g. 1280 x 720, or choose Camera default")
    return int(m[1]), int(m[2])


def bounds(field: str) -> tuple[Any, Any]:
    """A numeric field's (ge, le) from ``AppSettings`` itself, so the form and the model agree."""
    lo = hi = None
    for rule in AppSettings.model_fields[field].metadata:
        lo, hi = getattr(rule, "ge", lo), getattr(rule, "le", hi)
    return lo, hi


def choices(*values: str) -> list[tuple[str, object]]:
    return [(v.replace("_", " ").capitalize(), v) for v in values]


CHECKS = ("voice", "listen", "push_to_talk", "wake_word", "high_contrast", "captions", "keep_frames")


class SettingsScreen(Screen):
    """Edit, validate and save the app's settings; ``settings_saved(AppSettings)`` after a save."""

    name = "settings"
    title = "Settings"

    settings_saved = Signal(object)  # the AppSettings just saved

    def __init__(self, context: AppContext, nav: Navigator) -> None:
        super().__init__(context, nav)
        self.probe: Callable[[], list[FoundCamera]] = probe_cameras
        self._pin_hash: str | None = None
        self.inputs: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        self.heading(layout, self.title, "Changes take effect when you save them.")
        page = QWidget()
        self.columns = QBoxLayout(QBoxLayout.Direction.LeftToRight, page)
        self.columns.setContentsMargins(0, 0, 8, 0)
        left, right = QVBoxLayout(), QVBoxLayout()
        self.sync_panel = SyncStatusWidget(context.sync)
        sides = ((left, (self._camera(), self._pose(), self._coaching())),
                 (right, (self.sync_panel, self._access(), self._privacy(), self._kiosk(),
                          self._data())))  # fmt: skip
        for column, panels in sides:
            for panel in panels:
                column.addWidget(panel)
            column.addStretch(1)
            self.columns.addLayout(column, 1)
        layout.addWidget(ThemedScrollArea(page, name="Settings"), 1)
        self.problems = ProblemLabel("Problems with the settings")
        layout.addWidget(self.problems)
        self.revert = button("&Revert", tip="Show the saved settings again")
        self.revert.clicked.connect(self.revert_form)
        self.save = button("&Save", primary=True, tip="Check and save these settings")
        self.save.clicked.connect(self.save_form)
        bar, self.status = forms.action_bar(self.revert, self.save)
        layout.addLayout(bar)
        self.show_settings(context.settings)

    # ------------------------------------------------------------------ panels
    def _form(self, title: str, rows: list[tuple[str, QWidget] | QWidget | QHBoxLayout]) -> QWidget:
        frame, layout = forms.panel(title)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for row in rows:
            if isinstance(row, tuple):
                form.addRow(forms.label_for(row[0], row[1]), row[1])
            elif isinstance(row, QHBoxLayout):
                form.addRow(row)
            else:
                form.addRow(row)
        layout.addLayout(form)
        return frame

    def _camera(self) -> QWidget:
        self.camera = forms.combo((), name="Camera", editable=True)
        self.camera.setToolTip("A camera number (0, 1, ...), a video file or a stream URL")
        self.camera.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.find_button = button("&Find cameras", tip="Try cameras 0 to 5 and list the ones that open")
        self.find_button.clicked.connect(self.find_cameras)
        pick = button("Video fi&le…", tip="Play a video file as the camera")
        pick.clicked.connect(self._pick_file)
        row = QHBoxLayout()
        row.addWidget(self.find_button)
        row.addWidget(pick)
        row.addStretch(1)
        self.found = forms.note("A camera number, a video file or a stream URL (rtsp://, http://).")
        self.resolution = forms.combo(RESOLUTIONS, name="Picture size", editable=True)
        self.resolution.setToolTip("Asked of the camera; width x height, or Camera default")
        self.inputs |= {"camera": self.camera, "resolution": self.resolution}
        return self._form(
            "Camera", [("&Camera", self.camera), row, self.found, ("Picture si&ze", self.resolution)]
        )

    def _pose(self) -> QWidget:
        backends = (("LiteRT", "litert"), ("ONNX Runtime", "onnx"), ("MediaPipe", "mediapipe"))
        self.backend = forms.combo(backends, name="Pose backend")
        self.model = forms.combo(choices("lite", "full", "heavy"), name="Pose model")
        self.model.setToolTip("Lite is fastest, heavy most accurate")
        self.provider = forms.note("")
        self.provider.setAccessibleName("Runs on")
        self.backend.currentIndexChanged.connect(lambda _i: self._show_provider())
        self.inputs |= {"backend": self.backend, "model": self.model}
        rows: list[tuple[str, QWidget] | QWidget | QHBoxLayout] = [
            ("Pose &backend", self.backend), ("Pose &model", self.model), self.provider]  # fmt: skip
        if self.context.options.backend or self.context.options.model:
            o = self.context.options
            rows.append(forms.note(f"This run was started with --backend {o.backend or '-'} --model "
                                   f"{o.model or '-'}, which win over these settings."))  # fmt: skip
        return self._form("Pose model", rows)

    def _coaching(self) -> QWidget:
        self.voice = forms.check("&Voice coaching", name="Voice coaching", tip="The coach speaks its cues")
        self.voice_engine = forms.combo(choices("auto", "piper", "espeak"), name="Voice engine")
        self.listen = forms.check("Listen for voice comman&ds", name="Listen for voice commands",
                                  tip="Hear commands like 'next set' from the microphone")  # fmt: skip
        self.push_to_talk = forms.check("Push to tal&k (hold T)", name="Push to talk",
                                        tip="Listen only while T or the Talk button is held")  # fmt: skip
        self.wake_word = forms.check("Wake &word 'coach'", name="Wake word",
                                     tip="Only commands that start with 'coach' (coach, pause)")  # fmt: skip
        self.rep_counts = forms.combo((("Every rep", "every"), ("The last three", "last_three"),
                                       ("None", "none")), name="Say rep counts")  # fmt: skip
        self.rest = forms.spin(*bounds("rest_s"), name="Rest between sets", suffix=" s")
        self.unit = forms.combo((("kg", "kg"), ("lb", "lb")), name="Units")
        self.inputs |= {"voice": self.voice, "voice_engine": self.voice_engine, "listen": self.listen,
                        "push_to_talk": self.push_to_talk, "wake_word": self.wake_word,
                        "rep_counts": self.rep_counts, "rest_s": self.rest, "unit": self.unit}  # fmt: skip
        rows: list[tuple[str, QWidget] | QWidget | QHBoxLayout] = [
            self.voice, ("Voice &engine", self.voice_engine), self.listen, self.push_to_talk, self.wake_word,
            ("Say rep cou&nts", self.rep_counts), ("Res&t between sets", self.rest), ("&Units", self.unit),
        ]  # fmt: skip
        return self._form("Voice and coaching", rows)

    def _access(self) -> QWidget:
        self.high_contrast = forms.check("&High contrast", tip="White on black, thicker outlines")
        self.text_scale = forms.dspin(*bounds("text_scale"), name="Text size", step=0.1)
        self.text_scale.setSuffix(" ×")
        self.captions = forms.check("Ca&ptions", tip="Show what the coach says as text")
        self.inputs |= {"high_contrast": self.high_contrast, "text_scale": self.text_scale,
                        "captions": self.captions}  # fmt: skip
        return self._form(
            "Accessibility", [self.high_contrast, ("Te&xt size", self.text_scale), self.captions]
        )

    def _privacy(self) -> QWidget:
        self.keep_frames = forms.check("&Keep frames on disk")
        self.inputs["keep_frames"] = self.keep_frames
        say = forms.note("Camera frames are analysed in memory and never touch the disk unless this is on.")
        return self._form("Privacy", [self.keep_frames, say])

    def _kiosk(self) -> QWidget:
        self.kiosk_idle = forms.spin(*bounds("kiosk_idle_s"), name="Kiosk sign-out after", suffix=" s")
        self.kiosk_idle.setToolTip("A kiosk signs its member out after this long without activity")
        self.pin, self.pin_again = QLineEdit(), QLineEdit()
        for box in (self.pin, self.pin_again):
            box.setEchoMode(QLineEdit.EchoMode.Password)
            box.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,12}"), box))
            box.setPlaceholderText("4 to 12 digits")
            box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        set_pin = button("Set &admin PIN", tip="Protects the kiosk's settings and exit")
        set_pin.clicked.connect(self.set_pin)
        clear_pin = button("Clear PIN", tip="No PIN: anyone at the kiosk can leave it")
        clear_pin.clicked.connect(self.clear_pin)
        row = QHBoxLayout()
        row.addWidget(set_pin)
        row.addWidget(clear_pin)
        row.addStretch(1)
        self.pin_state = forms.note("")
        self.inputs |= {"kiosk_idle_s": self.kiosk_idle, "kiosk_admin_pin_hash": self.pin}
        return self._form("Kiosk", [("Kiosk sign-&out after", self.kiosk_idle), ("New admin P&IN", self.pin),
                                    ("PIN a&gain", self.pin_again), row, self.pin_state])  # fmt: skip

    def _data(self) -> QWidget:
        self.folder = QLabel(str(self.context.data_dir))
        self.folder.setWordWrap(True)
        self.folder.setAccessibleName("Data folder")
        show = button("Sho&w data folder", tip="Open the folder with your workouts and settings")
        show.clicked.connect(self._open_folder)
        row = QHBoxLayout()
        row.addWidget(show)
        row.addStretch(1)
        return self._form("Data", [self.folder, row])

    # ------------------------------------------------------------------ values
    def show_settings(self, s: AppSettings) -> None:
        """Fill the form with ``s``."""
        self.camera.setEditText(s.camera)
        forms.select_value(self.resolution, s.resolution)
        if self.resolution.findData(s.resolution) < 0 and s.resolution is not None:
            self.resolution.setEditText(f"{s.resolution[0]} x {s.resolution[1]}")
        for field in ("backend", "model", "voice_engine", "rep_counts", "unit"):
            forms.select_value(self.inputs[field], getattr(s, field))  # type: ignore[arg-type]
        for field in CHECKS:
            self.inputs[field].setChecked(getattr(s, field))  # type: ignore[attr-defined]
        self.rest.setValue(s.rest_s)
        self.text_scale.setValue(s.text_scale)
        self.kiosk_idle.setValue(s.kiosk_idle_s)
        self._pin_hash = s.kiosk_admin_pin_hash
        self.pin.clear()
        self.pin_again.clear()
        self._show_pin(
            "An admin PIN is set." if self._pin_hash else "No admin PIN: anyone can leave the kiosk."
        )
        self._show_provider()

    def form_values(self) -> dict[str, Any]:
        """The form as ``AppSettings`` fields (not yet validated); ValueError names a bad picture size."""
        values: dict[str, Any] = {
            "camera": self.camera.currentText().strip(),
            "resolution": parse_resolution(self.resolution.currentText()),
            "rest_s": self.rest.value(), "text_scale": round(self.text_scale.value(), 2),
            "kiosk_idle_s": self.kiosk_idle.value(), "kiosk_admin_pin_hash": self._pin_hash,
        }  # fmt: skip
        for field in ("backend", "model", "voice_engine", "rep_counts", "unit"):
            values[field] = self.inputs[field].currentData()  # type: ignore[attr-defined]
        for field in CHECKS:
            values[field] = self.inputs[field].isChecked()  # type: ignore[attr-defined]
        return values

    def validated(self) -> AppSettings | list[Problem]:
        """The form as checked ``AppSettings``, or what is wrong with it."""
        try:
            values = self.form_values()
        except ValueError as exc:
            return [Problem(f"Picture size: {exc}.", self.resolution)]
        if not values["camera"]:
            return [Problem("Camera: give a camera number, a video file or a stream URL.", self.camera)]
        try:
            return AppSettings.model_validate(values)
        except ValidationError as exc:
            return [self._problem(err) for err in exc.errors()]

    def _problem(self, err: Any) -> Problem:
        field = str(err["loc"][0]) if err["loc"] else ""
        widget = self.inputs.get(field)
        label = widget.accessibleName() if widget is not None else field or "Settings"
        return Problem(f"{label}: {err['msg']}.", widget)

    # ------------------------------------------------------------------ actions
    def entered(self, payload: Any = None) -> None:
        self.revert_form()
        self.sync_panel.refresh()  # the rows waiting, counted on the sync's thread

    def save_form(self) -> None:
        result = self.validated()
        if isinstance(result, list):
            self.problems.show_problems(result)
            self.status.setText("")
            return
        try:
            self.context.save_settings(result)
        except OSError as exc:
            self.problems.show_problems([Problem(describe_error(exc, doing="Saving the settings"))])
            return
        self.problems.clear_problems()
        self.show_settings(result)
        self.status.setText("Saved.")
        self.settings_saved.emit(result)

    def revert_form(self) -> None:
        self.problems.clear_problems()
        self.show_settings(self.context.settings)
        self.status.setText("")

    def find_cameras(self) -> None:
        self.find_button.setEnabled(False)
        self.found.setText(f"Looking for cameras {PROBE_INDICES[0]} to {PROBE_INDICES[-1]}…")
        self.context.jobs.submit(self.probe, self._cameras_found, self._probe_failed)

    def _cameras_found(self, found: list[FoundCamera]) -> None:
        self.find_button.setEnabled(True)
        text = self.camera.currentText()
        self.camera.clear()
        for cam in found:
            self.camera.addItem(f"{cam.index}", str(cam.index))
        self.camera.setEditText(text)
        tried = f"{PROBE_INDICES[0]} to {PROBE_INDICES[-1]}"
        if not found:
            self.found.setText(f"No camera found (tried {tried}). Check it is plugged in and not in use by "
                               "another program, or give a video file or a stream URL.")  # fmt: skip
            self.found.setObjectName("warn")
        else:
            sizes = ", ".join(f"{c.index} ({c.width} x {c.height})" for c in found)
            self.found.setText(
                f"Found camera{'s' if len(found) > 1 else ''} {sizes}: choose one in the list."
            )
            self.found.setObjectName("good")
        self.found.style().polish(self.found)

    def _probe_failed(self, exc: BaseException) -> None:
        self.find_button.setEnabled(True)
        self.found.setText(describe_error(exc, doing="Looking for cameras"))

    def set_pin(self) -> None:
        pin, again = self.pin.text(), self.pin_again.text()
        if len(pin) < 4:
            self.problems.show_problems([Problem("Admin PIN: use 4 to 12 digits.", self.pin)])
        elif pin != again:
            self.problems.show_problems(
                [Problem("Admin PIN: the two PINs differ; type it again.", self.pin_again)]
            )
        else:
            self.problems.clear_problems()
            self._pin_hash = hash_pin(pin)
            self.pin.clear()
            self.pin_again.clear()
            self._show_pin("New admin PIN set: Save to keep it.")

    def clear_pin(self) -> None:
        self._pin_hash = None
        self._show_pin("No admin PIN (Save to keep this): anyone can leave the kiosk.")

    def _show_pin(self, text: str) -> None:
        self.pin_state.setText(text)

    def _show_provider(self) -> None:
        backend = str(self.backend.currentData())
        self.provider.setText("Runs on: checking…")
        self.context.jobs.submit(
            lambda: provider_text(backend),
            lambda text: self.provider.setText(f"Runs on: {text}"),
            lambda exc: self.provider.setText(f"Runs on: unknown ({exc})"),
        )

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A video to play as the camera", "",
                                              "Videos (*.mp4 *.mov *.avi *.mkv *.webm)")  # fmt: skip
        if path:
            self.camera.setEditText(path)

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.context.data_dir)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        d = QBoxLayout.Direction
        self.columns.setDirection(d.LeftToRight if self.width() >= 1000 * theme.scale() else d.TopToBottom)
