"""Small pieces the form screens are built of: labelled inputs with mnemonics and accessible names,
panels, a scroll area that keeps the theme's background, and inline problem messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme

INPUTS = (QAbstractSpinBox, QComboBox, QLineEdit, QCheckBox)


def plain(text: str) -> str:
    """``text`` without its mnemonic ampersand."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def label_for(text: str, buddy: QWidget, *, name: str | None = None) -> QLabel:
    """A label with a mnemonic (``&Goal``: Alt+G focuses ``buddy``); ``buddy`` is named after it."""
    label = QLabel(text)
    label.setBuddy(buddy)
    buddy.setAccessibleName(name or plain(text).rstrip(":"))
    return label


def spin(lo: int, hi: int, *, name: str, suffix: str = "", tip: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setSuffix(suffix)
    box.setAccessibleName(name)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


def dspin(
    lo: float, hi: float, *, name: str, step: float, decimals: int = 1, none_text: str = ""
) -> QDoubleSpinBox:
    """A decimal spin box; with ``none_text`` its lowest value reads as that text (no value)."""
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setAccessibleName(name)
    if none_text:
        box.setSpecialValueText(none_text)
    return box


def combo(items: Iterable[tuple[str, object]], *, name: str, editable: bool = False) -> QComboBox:
    """A combo box of (shown text, value) items."""
    box = QComboBox()
    for text, value in items:
        box.addItem(text, value)
    box.setEditable(editable)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)  # what is typed is a value, not a new item
    box.setAccessibleName(name)
    return box


def select_value(box: QComboBox, value: object) -> None:
    """Select the item whose value is ``value`` (an editable box shows it as text if none is)."""
    index = box.findData(value)
    if index >= 0:
        box.setCurrentIndex(index)
    elif box.isEditable():
        box.setEditText("" if value is None else str(value))


def check(text: str, *, name: str | None = None, tip: str = "") -> QCheckBox:
    box = QCheckBox(text)
    box.setAccessibleName(name or plain(text))
    box.setToolTip(tip)
    return box


def note(text: str, *, muted: bool = True) -> QLabel:
    """A wrapped explanatory sentence."""
    label = QLabel(text)
    label.setWordWrap(True)
    if muted:
        label.setObjectName("muted")
    return label


def panel(title: str = "", *, action: QWidget | None = None) -> tuple[QFrame, QVBoxLayout]:
    """A themed panel (``QFrame#panel``) with an optional bold heading (and a button at its right);
    its layout."""
    frame = QFrame()
    frame.setObjectName("panel")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(16, 12, 16, 14)
    layout.setSpacing(8)
    if title:
        heading = QLabel(title)
        heading.setStyleSheet("font-weight: 600;")
        frame.setAccessibleName(plain(title))
        row = QHBoxLayout()
        row.addWidget(heading, 1)
        if action is not None:
            row.addWidget(action)
        layout.addLayout(row)
    return frame, layout


def action_bar(*buttons: QPushButton) -> tuple[QHBoxLayout, QLabel]:
    """A row with a status line (theme 'good') at the left and ``buttons`` at the right."""
    row = QHBoxLayout()
    status = QLabel()
    status.setObjectName("good")
    status.setWordWrap(True)
    row.addWidget(status, 1)
    for b in buttons:
        row.addWidget(b)
    return row, status


def small_button(text: str, name: str) -> QPushButton:
    """A compact button (an icon-like glyph), named and explained for those who cannot see it."""
    b = QPushButton(text)
    b.setAccessibleName(name)
    b.setToolTip(name)
    b.setStyleSheet("QPushButton { padding: 4px 10px; }")
    return b


def clear(layout: QLayout) -> None:
    """Take every item out of ``layout``, deleting its widgets."""
    while (item := layout.takeAt(0)) is not None:
        if (w := item.widget()) is not None:
            w.deleteLater()


class ThemedScrollArea(QScrollArea):
    """A frameless scroll area that shows the screen's background through it, with scroll bars in
    the current theme's colours (restyled when the theme changes)."""

    def __init__(self, content: QWidget, *, name: str, horizontal: bool = False) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName(name)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        if not horizontal:
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.viewport().setAutoFillBackground(False)
        self.setWidget(content)
        content.setAutoFillBackground(False)  # setWidget turned it on
        self._restyle()

    def _restyle(self) -> None:
        p = theme.current()
        sheet = f"""
QScrollArea, QWidget#qt_scrollarea_viewport {{ background: transparent; }}
QScrollBar {{ background: {p.window}; border: none; margin: 0; }}
QScrollBar:vertical {{ width: 12px; }}
QScrollBar:horizontal {{ height: 12px; }}
QScrollBar::handle {{ background: {p.muted if p.name == "high-contrast" else p.border}; border-radius: 5px; }}
QScrollBar::handle:vertical {{ min-height: 32px; margin: 2px; }}
QScrollBar::handle:horizontal {{ min-width: 32px; margin: 2px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
"""
        if self.styleSheet() != sheet:
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.StyleChange:
            self._restyle()
        super().changeEvent(event)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with an input: what to say, and which input to mark."""

    text: str
    widget: QWidget | None = None


class ProblemLabel(QLabel):
    """Problems shown inline in the theme's 'bad' colour (hidden when there are none), their
    inputs outlined in the same colour, redrawn when the theme changes."""

    def __init__(self, name: str = "Problems") -> None:
        super().__init__()
        self.setObjectName("bad")
        self.setWordWrap(True)
        self.setAccessibleName(name)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()
        self._marked: list[QWidget] = []

    def show_problems(self, problems: Sequence[Problem]) -> None:
        """Say ``problems`` and outline their inputs (focus goes to the first one)."""
        for w in self._marked:
            w.setStyleSheet("")
        self._marked = [p.widget for p in problems if p.widget is not None]
        self._outline()
        texts = [p.text for p in problems]
        self.setText("\n".join(texts))
        self.setAccessibleDescription(" ".join(texts))
        self.setVisible(bool(problems))
        if self._marked:
            self._marked[0].setFocus()

    def clear_problems(self) -> None:
        self.show_problems(())

    @property
    def marked(self) -> tuple[QWidget, ...]:
        return tuple(self._marked)

    def _outline(self) -> None:
        for w in self._marked:
            kind = w.metaObject().className()  # focused, the focus ring shows instead
            w.setStyleSheet(f"{kind}:!focus {{ border: 3px solid {theme.current().bad}; }}")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.StyleChange:
            self._outline()
        super().changeEvent(event)
