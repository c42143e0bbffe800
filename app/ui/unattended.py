"""Unattended mode: the whole flow in the real window, with nobody at the keyboard.

Used by scripts, kiosk health checks and tests: sign in (the given profile, created if new), quick
start the given exercise, pass the set-up check, train on the source until it ends, write the
summary JSON, and (with ``--screenshot-dir``) a PNG of every screen the flow shows, then visit the
other screens for theirs. The driver only presses what a person would press.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.storage import operations as ops
from app.ui.window import MainWindow

log = logging.getLogger(__name__)

SETTLE_MS = 700  # a screen's background data arrives before its picture is taken
TOUR = ("history", "leaderboards", "programs", "settings")
DEFAULT_PROFILE = "me"


class UnattendedDriver(QObject):
    def __init__(self, window: MainWindow, *, timeout_s: float = 900.0) -> None:
        super().__init__()
        self.window = window
        self.options = window.context.options
        self.exit_code = 0
        self.shots: list[str] = []
        self._touring = False
        self._first_rep_shot = False
        self._started = False
        window.screen_shown.connect(self._shown)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._timed_out)
        self._deadline.start(int(timeout_s * 1000))

    def _snap(self, name: str) -> None:
        if self.options.screenshot_dir is not None:
            self.window.snap(self.options.screenshot_dir, f"{len(self.shots) + 1:02d}-{name}")
            self.shots.append(name)

    def _then(self, name: str, action: Callable[[], object]) -> None:
        self._snap(name)
        action()

    def _later(self, action: Callable[[], object], ms: int = SETTLE_MS) -> None:
        QTimer.singleShot(ms, action)

    def _shown(self, name: str) -> None:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler()

    def _on_profiles(self) -> None:
        if self._touring:
            return
        self._later(lambda: self._then("profiles", self._sign_in))

    def _sign_in(self) -> None:
        name = self.options.profile or DEFAULT_PROFILE
        db = self.window.context.db
        if name not in {p.name for p in ops.list_profiles(db)}:
            ops.add_profile(db, name)
        screen: Any = self.window.screens["profiles"]
        pin = os.environ.get(ops.PIN_ENV, "")  # never a PIN dialog: nobody is there to answer it
        if not screen.choose(name, pin):
            self._fail(f"could not sign in as {name}: {screen.message.text()}")

    def _on_home(self) -> None:
        if self._touring:
            return
        if self._started:  # back home without a summary: the workout could not start
            self._fail("the workout could not start (see the log)")
            return
        self._started = True
        home: Any = self.window.screens["home"]
        home.select_exercise(self.options.exercise or "auto")
        self._later(lambda: self._then("home", home.start_quick_workout))

    def _on_setup(self) -> None:
        self._later(lambda: self._snap("setup-check"), 1500)

    def _on_no_camera(self) -> None:
        why = "the camera or video could not be opened"
        self._later(lambda: self._then("no-camera", lambda: self._fail(why)), 300)

    def _on_workout(self) -> None:
        workout: Any = self.window.screens["workout"]
        session = workout.session

        def first_rep(_event: object) -> None:
            if not self._first_rep_shot:
                self._first_rep_shot = True
                self._later(lambda: self._snap("workout"), 250)

        session.bridge.rep_counted.connect(first_rep)

    def _on_summary(self) -> None:
        if self._touring:
            return
        summary: Any = self.window.screens["summary"]
        if self.options.summary_json is not None and summary.session is not None:
            summary.write_summary_json(self.options.summary_json)
            log.info("Summary written to %s", self.options.summary_json)
        self._later(lambda: self._then("summary", self._tour))

    def _tour(self) -> None:
        if self.options.screenshot_dir is None:
            self._done()
            return
        self._touring = True
        names = list(TOUR)

        def step() -> None:
            if not names:
                self._done()
                return
            name = names.pop(0)
            self.window.go(name)
            self._later(lambda: self._then(name, step))

        step()

    def _done(self) -> None:
        if self.options.exit_when_done:
            self._quit(self.exit_code)

    def _fail(self, why: str) -> None:
        log.error("Unattended run failed: %s", why)
        if self.options.summary_json is not None:
            self.options.summary_json.write_text(json.dumps({"error": why}), encoding="utf-8")
        self.exit_code = 2
        if self.options.exit_when_done:
            self._done()

    def _timed_out(self) -> None:
        self._fail("the flow did not finish in time")
        self._quit(3)

    def _quit(self, code: int) -> None:
        self._deadline.stop()
        self.window.allow_close = True
        app = QApplication.instance()
        if app is not None:
            app.exit(code)
