"""Looks: a dark training theme and a high-contrast one, a text scale, a focus ring that always shows.

One stylesheet for the whole application, built from a few colour tokens; widgets that paint
themselves (the camera stage, the rep counter) read the same tokens through ``current()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True, slots=True)
class Palette:
    name: str
    window: str
    panel: str
    text: str
    muted: str
    accent: str  # buttons, the rep flash
    good: str
    warn: str
    bad: str
    focus: str
    border: str

    def color(self, token: str) -> QColor:
        return QColor(getattr(self, token))


DARK = Palette(
    name="dark", window="#14171c", panel="#1f242c", text="#eef1f5", muted="#9aa4b2", accent="#2f81f7",
    good="#3fb950", warn="#d29922", bad="#f85149", focus="#ffd33d", border="#30363d",
)  # fmt: skip
HIGH_CONTRAST = Palette(
    name="high-contrast", window="#000000", panel="#000000", text="#ffffff", muted="#ffffff",
    accent="#00e5ff", good="#00ff66", warn="#ffee00", bad="#ff4040", focus="#ffee00", border="#ffffff",
)  # fmt: skip

_current = DARK
_scale = 1.0


def current() -> Palette:
    return _current


def scale() -> float:
    return _scale


def font(points: float, *, bold: bool = False) -> QFont:
    """A font of ``points`` at the user's text scale."""
    f = QFont()
    f.setPointSizeF(points * _scale)
    f.setBold(bold)
    return f


def stylesheet(p: Palette, text_scale: float) -> str:
    base = round(11 * text_scale, 1)
    border = 2 if p.name == "high-contrast" else 1
    return f"""
* {{ font-size: {base}pt; color: {p.text}; }}
QMainWindow, QWidget#screen, QDialog {{ background: {p.window}; }}
QFrame#panel {{ background: {p.panel}; border: {border}px solid {p.border}; border-radius: 8px; }}
QLabel#title {{ font-size: {round(base * 1.9, 1)}pt; font-weight: 600; }}
QLabel#subtitle {{ font-size: {round(base * 1.25, 1)}pt; color: {p.muted}; }}
QLabel#muted {{ color: {p.muted}; }}
QLabel#good {{ color: {p.good}; font-weight: 600; }}
QLabel#warn {{ color: {p.warn}; font-weight: 600; }}
QLabel#bad {{ color: {p.bad}; font-weight: 600; }}
QPushButton {{
    background: {p.panel}; border: {border}px solid {p.border}; border-radius: 6px;
    padding: 8px 16px; min-height: {round(22 * text_scale)}px;
}}
QPushButton:hover {{ border-color: {p.accent}; }}
QPushButton:pressed {{ background: {p.border}; }}
QPushButton:disabled {{ color: {p.muted}; }}
QPushButton#primary {{ background: {p.accent}; color: {"#000000" if p.name == "high-contrast" else "#ffffff"};
    border-color: {p.accent}; font-weight: 600; }}
QPushButton#card {{ min-width: {round(220 * text_scale)}px; min-height: {round(64 * text_scale)}px;
    font-size: {round(base * 1.3, 1)}pt; }}
QPushButton#primary:disabled {{ background: {p.panel}; color: {p.muted}; border-color: {p.border}; }}
QPushButton:checked {{ background: {p.bad}; border-color: {p.bad}; }}
*:focus {{ outline: none; border: 3px solid {p.focus}; }}
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox, QListWidget, QTableWidget,
QCalendarWidget QAbstractItemView {{
    background: {p.panel}; border: {border}px solid {p.border}; border-radius: 4px; padding: 4px;
    selection-background-color: {p.accent};
}}
QHeaderView {{ background: {p.panel}; }}
QHeaderView::section {{ background: {p.panel}; color: {p.muted}; border: none; padding: 4px; }}
QTableWidget {{ gridline-color: {p.border}; }}
QCheckBox::indicator, QRadioButton::indicator {{
    width: {round(16 * text_scale)}px; height: {round(16 * text_scale)}px; }}
QToolTip {{ background: {p.panel}; color: {p.text}; border: 1px solid {p.border}; }}
QStatusBar {{ color: {p.muted}; }}
"""


def apply(app: QApplication, *, high_contrast: bool, text_scale: float) -> Palette:
    global _current, _scale  # noqa: PLW0603  (the one place the look changes)
    _current = HIGH_CONTRAST if high_contrast else DARK
    _scale = text_scale
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet(_current, text_scale))
    return _current
