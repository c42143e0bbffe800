"""The main window: a stack of screens, navigation with a back history, shortcuts, the kiosk's rules.

Screens are built once and handed the ``AppContext`` and this window as their ``Navigator``; the
window holds no rule of its own beyond which screen shows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from app.errors import StorageError
from app.storage.pins import check_admin_pin
from app.ui import theme
from app.ui.context import AppContext
from app.ui.screens.base import Screen
from app.ui.screens.profiles import PinDialog
from app.ui.voice import AppVoice, describe
from app.ui.widgets.sync_status import SyncIndicatorWidget
from app.voice.listener import Heard

log = logging.getLogger(__name__)


def build_screens(context: AppContext, nav: MainWindow) -> list[Screen]:
    from app.ui.screens.history import HistoryScreen
    from app.ui.screens.home import HomeScreen
    from app.ui.screens.leaderboards import LeaderboardScreen
    from app.ui.screens.profiles import ProfileScreen
    from app.ui.screens.programs import ProgramBuilderScreen
    from app.ui.screens.settings import SettingsScreen
    from app.ui.screens.setup import NoCameraScreen, SetupScreen
    from app.ui.screens.summary import SummaryScreen
    from app.ui.screens.workout import WorkoutScreen

    kinds: list[type[Screen]] = [
        ProfileScreen, HomeScreen, SetupScreen, NoCameraScreen, WorkoutScreen, SummaryScreen,
        HistoryScreen, LeaderboardScreen, ProgramBuilderScreen, SettingsScreen,
    ]  # fmt: skip
    return [kind(context, nav) for kind in kinds]


ROOTS = ("home", "profiles")  # going there starts the Back history afresh
PASSING = ("setup", "workout", "no_camera")  # steps of a workout, never returned to by Back


class MainWindow(QMainWindow):
    screen_shown = Signal(str)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.unattended = context.options.auto
        self.setWindowTitle("Spotter")
        self.resize(1280, 800)
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self.screens: dict[str, Screen] = {}
        for screen in build_screens(context, self):
            self.screens[screen.name] = screen
            self.stack.addWidget(screen)
        self._history: list[tuple[str, Any]] = []
        self._current: tuple[str, Any] | None = None
        self.member_label = QLabel("")
        self.voice_label = QLabel(describe("off"))
        self.voice_label.setAccessibleName("Voice commands state")
        self.statusBar().addPermanentWidget(self.voice_label)
        if context.sync is not None:
            self.statusBar().addPermanentWidget(SyncIndicatorWidget(context.sync))
        self.statusBar().addPermanentWidget(self.member_label)
        context.member.changed.connect(self._member_changed)
        settings = self.screens["settings"]
        saved = getattr(settings, "settings_saved", None)
        if saved is not None:
            saved.connect(self.apply_look)
            saved.connect(self.apply_voice)
        self._shortcuts()
        self.apply_voice(context.settings)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._idle_sign_out)
        self.allow_close = not context.options.kiosk
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)  # the kiosk's idle timer and push-to-talk see every key
        if context.options.kiosk:
            self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)

    # ------------------------------------------------------------------ navigation
    def go(self, name: str, payload: Any = None, *, remember: bool = True) -> None:
        """Show screen ``name`` (``payload`` for its ``entered``); the one left is remembered for Back
        unless either is a step of a workout (set-up check, workout, no camera)."""
        if self._current is not None:
            left = self._current[0]
            self.screens[left].leaving()
            if remember and left not in PASSING and name not in PASSING:
                self._history.append(self._current)
        if name in ROOTS:
            self._history.clear()
        self._current = (name, payload)
        screen = self.screens[name]
        self.stack.setCurrentWidget(screen)
        screen.entered(payload)
        screen.setFocus(Qt.FocusReason.OtherFocusReason)
        screen.focusNextChild()
        self.statusBar().showMessage(screen.title)
        self.screen_shown.emit(name)

    def back(self) -> None:
        """The previous screen (Esc, Back); a workout ends with End workout, never by Esc."""
        name = self.current_name
        if name == "workout":
            return
        if self._history:
            self.go(*self._history.pop(), remember=False)
        elif name not in (None, "profiles", "home"):
            self.go("home", remember=False)
        elif name == "home" and not self.context.options.kiosk:
            self.go("profiles", remember=False)

    def current(self) -> QWidget | None:
        return self.stack.currentWidget()

    @property
    def current_name(self) -> str | None:
        return None if self._current is None else self._current[0]

    def _shortcuts(self) -> None:
        def add(keys: str | QKeySequence.StandardKey, action: Any) -> None:
            QShortcut(QKeySequence(keys), self, action)

        add("Esc", self.back)
        add("Ctrl+H", lambda: self._go_free("history"))
        add("Ctrl+L", lambda: self._go_free("leaderboards"))
        add("Ctrl+P", lambda: self._go_free("programs"))
        add("Ctrl+,", lambda: self._go_free("settings"))
        add("F11", self._toggle_full_screen)
        add("Ctrl++", lambda: self._scale_text(0.1))
        add("Ctrl+-", lambda: self._scale_text(-0.1))

    def _go_free(self, name: str) -> None:
        if self.current_name not in ("workout", "setup", "profiles"):
            self.go(name)

    def _toggle_full_screen(self) -> None:
        if self.context.options.kiosk:
            return
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _scale_text(self, step: float) -> None:
        s = self.context.settings
        scale = min(2.0, max(0.8, round(s.text_scale + step, 1)))
        self.context.save_settings(s.model_copy(update={"text_scale": scale}))
        self.apply_look(self.context.settings)

    def apply_look(self, settings: Any) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, high_contrast=settings.high_contrast, text_scale=settings.text_scale)
        self.update()

    def _member_changed(self, name: str) -> None:
        self.member_label.setText(f"Signed in: {name}" if name else "Not signed in")
        if self.context.options.kiosk and name:
            self._idle.start(self.context.settings.kiosk_idle_s * 1000)

    # ------------------------------------------------------------------ voice
    def apply_voice(self, settings: Any) -> None:
        """Start, restart or stop the app's microphone listener as the settings say."""
        voice = self.context.voice
        wanted = (settings.push_to_talk, settings.wake_word)
        if voice is not None and (not settings.listen or (voice.push_to_talk, voice.wake_word) != wanted):
            voice.stop()
            self.context.voice = voice = None
        if settings.listen and voice is None:
            voice = AppVoice(
                self.context.jobs, push_to_talk=settings.push_to_talk, wake_word=settings.wake_word
            )
            voice.heard.connect(self.heard)
            voice.unclear.connect(self.unclear)
            voice.state_changed.connect(lambda state: self.voice_label.setText(describe(state)))
            self.context.voice = voice
            voice.start()
        if voice is None:
            self.voice_label.setText(describe("off"))

    def heard(self, heard: Heard) -> None:
        """A voice command: the screen shown acts on it, or the status bar says it meant nothing here."""
        screen = self.stack.currentWidget()
        text = heard.intent.text or heard.intent.name
        if isinstance(screen, Screen) and screen.on_voice(heard):
            self.statusBar().showMessage(f"Heard: “{text}”", 4000)
        else:
            self.statusBar().showMessage(f"Heard “{text}”: nothing to do on this screen", 4000)

    def unclear(self, heard: Heard) -> None:
        """Something said with the talk key held that was no command: say so, rather than ignore it."""
        self.statusBar().showMessage("Didn't catch that: hold T and say it again", 4000)

    # ------------------------------------------------------------------ kiosk
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        touched = (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)
        if event.type() in touched and self.context.member.name and self.context.options.kiosk:
            self._idle.start(self.context.settings.kiosk_idle_s * 1000)
        keys = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
        return event.type() in keys and self._push_to_talk(event)

    def _push_to_talk(self, event: QEvent) -> bool:
        """T held (outside a text field) opens the microphone; letting go closes it."""
        voice = self.context.voice
        if voice is None or not isinstance(event, QKeyEvent) or event.key() != Qt.Key.Key_T:
            return False
        if event.modifiers() != Qt.KeyboardModifier.NoModifier or isinstance(
            QApplication.focusWidget(), QLineEdit | QAbstractSpinBox | QComboBox
        ):
            return False
        if not event.isAutoRepeat() and event.type() == QEvent.Type.KeyPress:
            voice.press()
            self.voice_label.setText("Voice: listening…")
        elif not event.isAutoRepeat():
            voice.release()
            self.voice_label.setText(describe(voice.state))
        return True

    def _idle_sign_out(self) -> None:
        if self.current_name in ("workout", "setup"):
            self._idle.start(self.context.settings.kiosk_idle_s * 1000)  # never mid-set
            return
        log.info("Kiosk: signing %s out after inactivity", self.context.member.name)
        self.go("profiles")

    def ask_admin(self) -> bool:
        stored = self.context.settings.kiosk_admin_pin_hash
        if stored is None:
            self.statusBar().showMessage(
                "This kiosk has no admin PIN: set one in Settings to be able to leave."
            )
            return False
        dialog = PinDialog(self, "the administrator")
        if dialog.exec() != PinDialog.DialogCode.Accepted:
            return False
        try:
            return check_admin_pin(stored, dialog.pin, lockout=self.context.lockout)
        except StorageError as exc:  # locked out for a while
            self.statusBar().showMessage(str(exc), 8000)
            return False

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.allow_close and not self.ask_admin():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every thread this window started (a live workout, background jobs) and the sync's."""
        if self._current is not None:
            self.screens[self._current[0]].leaving()
        workout = self.screens["workout"]
        session = getattr(workout, "session", None)
        if session is not None:
            session.close_now()
        if self.context.voice is not None:
            self.context.voice.stop()
        if self.context.sync is not None:
            self.context.sync.stop()  # before the database closes; a sync in flight ends at its request
        self.context.jobs.shutdown(wait=True)

    def snap(self, directory: Path, name: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        self.grab().save(str(path))
        return path
