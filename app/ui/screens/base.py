"""What every screen shares: its name, a heading, navigation, and errors shown as dialogs."""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from app.errors import SpotterError
from app.ui.context import AppContext


class Navigator(Protocol):
    """The window, as screens see it."""

    def go(self, name: str, payload: Any = None) -> None: ...

    def back(self) -> None: ...


class Screen(QWidget):
    """A full-window page. ``name`` is its key in the window; ``entered(payload)`` runs each time it
    is shown (redraw from fresh data there, not in the constructor)."""

    name = "screen"
    title = "Screen"

    def __init__(self, context: AppContext, nav: Navigator) -> None:
        super().__init__()
        self.setObjectName("screen")
        self.context = context
        self.nav = nav
        self.setAccessibleName(self.title)

    def entered(self, payload: Any = None) -> None:
        """The screen is being shown (again)."""

    def leaving(self) -> None:
        """Another screen is about to be shown."""

    def on_voice(self, heard: Any) -> bool:
        """A voice command (``app.voice.listener.Heard``) while this screen shows; True if it acted."""
        return False

    # ------------------------------------------------------------------ helpers
    def heading(self, layout: QVBoxLayout, title: str, subtitle: str = "") -> QLabel:
        """A title (and a subtitle) with a Back button at the right; returns the subtitle label."""
        row = QHBoxLayout()
        label = QLabel(title)
        label.setObjectName("title")
        row.addWidget(label, 1)
        back = QPushButton("&Back")
        back.setAccessibleName("Back")
        back.setToolTip("Back to the previous screen (Esc)")
        back.clicked.connect(self.nav.back)
        row.addWidget(back)
        layout.addLayout(row)
        sub = QLabel(subtitle)
        sub.setObjectName("subtitle")
        sub.setWordWrap(True)
        layout.addWidget(sub)
        return sub

    def show_error(self, exc: BaseException, *, doing: str = "That") -> None:
        """A dialog that says what failed and what to do; never a traceback."""
        show_error(self, exc, doing=doing)


def describe_error(exc: BaseException, *, doing: str = "That") -> str:
    if isinstance(exc, SpotterError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{doing} failed: {exc.strerror or exc}{where}. Check the folder exists and can be written."
    return f"{doing} failed unexpectedly ({type(exc).__name__}: {exc}). The log has the details."


def show_error(parent: QWidget | None, exc: BaseException, *, doing: str = "That") -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Spotter")
    box.setText(describe_error(exc, doing=doing))
    box.setAccessibleName("Error")
    if parent is not None and getattr(parent.window(), "unattended", False):
        box.setModal(False)
        box.show()  # nobody is there to close it; the unattended driver logs it
        return
    box.exec()


def button(text: str, *, name: str | None = None, primary: bool = False, tip: str = "") -> QPushButton:
    """A push button with an accessible name (its text without the mnemonic &) and a tooltip."""
    b = QPushButton(text)
    b.setAccessibleName(name or text.replace("&", ""))
    if primary:
        b.setObjectName("primary")
    if tip:
        b.setToolTip(tip)
    return b
