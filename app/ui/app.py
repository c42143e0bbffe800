"""``spotter`` with no command: the desktop and kiosk app.

Sets up Qt (a clear message, not a traceback, where there is no display), opens the database once
for the app's life, applies the look, shows the window at the profile picker and starts the
background sync (idle until the device is enrolled). Unexpected errors become a dialog that says
what to do; the log keeps the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import types
from logging.handlers import RotatingFileHandler

from app.errors import SpotterError
from app.settings import load_settings
from app.storage import open_database
from app.ui.options import AppOptions

log = logging.getLogger(__name__)


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_app(options: AppOptions) -> int:
    if not has_display() and options.auto:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # an unattended run needs no screen
    if not has_display():
        raise SpotterError(
            "There is no display to open Spotter's window on. Run it on a desktop, set "
            "QT_QPA_PLATFORM=offscreen for a headless unattended run, or use `spotter live` in a terminal."
        )
    from PySide6.QtWidgets import QApplication

    from app.sync.background import BackgroundSync
    from app.ui import theme
    from app.ui.context import AppContext
    from app.ui.jobs import JobRunner
    from app.ui.screens.base import show_error
    from app.ui.sync import AppSync
    from app.ui.window import MainWindow

    db = open_database(options.data_dir)
    _log_to_file(db.path.parent)
    settings = load_settings(db.path.parent)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Spotter")
    theme.apply(app, high_contrast=settings.high_contrast, text_scale=settings.text_scale)
    sync = AppSync(BackgroundSync(db, db.path.parent))  # does nothing until the device is enrolled
    context = AppContext(db, settings, options, JobRunner(), sync=sync)
    window = MainWindow(context)

    def excepthook(kind: type[BaseException], exc: BaseException, tb: types.TracebackType | None) -> None:
        log.error("Unexpected error", exc_info=(kind, exc, tb))
        show_error(window, exc, doing="Something")

    sys.excepthook = excepthook
    driver = None
    if options.auto:
        from app.ui.unattended import UnattendedDriver

        driver = UnattendedDriver(window)
    if options.kiosk:
        window.showFullScreen()
    else:
        window.show()
    window.go("profiles")
    sync.start()  # after the window: its first status finds the screens listening
    try:
        code = app.exec()
    finally:
        window.shutdown()
        db.close()
        sys.excepthook = sys.__excepthook__
    return driver.exit_code if driver is not None and code == 0 else code


def _log_to_file(folder: os.PathLike[str] | str) -> None:
    from pathlib import Path

    path = Path(folder) / "spotter.log"
    try:
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
        for h in root.handlers:
            if h is not handler and h.level == logging.NOTSET:
                h.setLevel(logging.WARNING)
