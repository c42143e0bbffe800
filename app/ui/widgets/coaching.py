"""The coaching panel's widgets: RepCounter, FormMeter, CueDock and RestTimer.

Each shows what it is given; the rules (what counts, what a fault is, what the coach says) live in
the engine and the cue engine, never here.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.engine.events import RepDetail
from app.ui import theme


def _label(text: str = "", name: str = "", *, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


class RepCounter(QWidget):
    """The count, big enough to read from three metres (a fifth of the window's height)."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Rep counter")
        self.reps = 0
        self.target: int | None = None
        self.exercise = ""
        self.set_no = 0
        self.held = 0  # movements that may be reps, waiting for the next to confirm them
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def show_count(self, reps: int, *, target: int | None, exercise: str, set_no: int, held: int = 0) -> None:
        """``held``: movements not counted yet (the set's first rep waits for the second, which
        tells it from set-up); the count they would make is shown dimmed."""
        self.reps, self.target, self.exercise, self.set_no, self.held = reps, target, exercise, set_no, held
        of = f" of {target}" if target else ""
        tentative = f", {held} more to be confirmed" if held else ""
        self.setAccessibleDescription(f"{exercise}, set {set_no}: {reps} reps{of}{tentative}")
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        pal = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        p.setPen(QPen(pal.color("border"), 2))
        p.setBrush(pal.color("panel"))
        p.drawRoundedRect(r, 10, 10)
        head = r.height() * 0.18
        p.setPen(pal.color("muted"))
        f = theme.font(11, bold=True)
        p.setFont(f)
        title = (self.exercise.replace("_", " ").upper() or "REPS") + (
            f"  ·  SET {self.set_no}" if self.set_no else ""
        )
        p.drawText(
            r.adjusted(12, 6, -12, 0), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), title
        )
        big = p.font()
        big.setPixelSize(max(24, int((r.height() - head) * 0.78)))
        big.setBold(True)
        p.setFont(big)
        p.setPen(pal.color("muted" if self.held else "text"))
        body = r.adjusted(0, head, 0, 0)
        p.drawText(body, Qt.AlignmentFlag.AlignCenter, str(self.reps + self.held))
        if self.target:
            p.setFont(theme.font(13, bold=True))
            p.setPen(pal.color("muted"))
            p.drawText(
                body.adjusted(0, 0, -14, -8),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom),
                f"of {self.target}",
            )
        p.end()


class FormMeter(QWidget):
    """Each rep of the set as a bar (its range of motion; green clean, amber one fault, red more),
    and the last rep's faults named."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Form meter")
        self._reps: list[RepDetail] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._bars = _Bars(self)
        layout.addWidget(self._bars)
        self.verdict = _label("Form: waiting for the first rep", "muted", wrap=True)
        self.verdict.setAccessibleName("Last rep's form")
        layout.addWidget(self.verdict)

    def clear(self) -> None:
        self._reps = []
        self.verdict.setText("Form: waiting for the first rep")
        self.verdict.setObjectName("muted")
        self._refresh_style()
        self._bars.update()

    def add(self, rep: RepDetail) -> None:
        self._reps.append(rep)
        if rep.faults:
            self.verdict.setText(f"Rep {rep.index}: " + ", ".join(f.replace("_", " ") for f in rep.faults))
            self.verdict.setObjectName("bad" if len(rep.faults) > 1 else "warn")
        else:
            rom = f" (ROM {rep.rom_deg:.0f}°)" if rep.rom_deg is not None else ""
            self.verdict.setText(f"Rep {rep.index}: good form{rom}")
            self.verdict.setObjectName("good")
        self._refresh_style()
        self._bars.update()

    def _refresh_style(self) -> None:
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)

    @property
    def reps(self) -> list[RepDetail]:
        return self._reps


class _Bars(QWidget):
    def __init__(self, meter: FormMeter) -> None:
        super().__init__()
        self._meter = meter
        self.setMinimumHeight(56)

    def paintEvent(self, _event: QPaintEvent) -> None:
        pal = theme.current()
        p = QPainter(self)
        reps = self._meter.reps[-16:]
        if not reps:
            p.end()
            return
        roms = [r.rom_deg or 0.0 for r in reps]
        top = max(*roms, 1.0)
        w = self.width() / 16
        for i, rep in enumerate(reps):
            h = max(6.0, (self.height() - 4) * (rep.rom_deg or top) / top)
            color = pal.good if not rep.faults else pal.warn if len(rep.faults) == 1 else pal.bad
            p.fillRect(QRectF(i * w + 2, self.height() - h, w - 4, h), QColor(color))
        p.end()


class CueDock(QWidget):
    """Captions of everything the coach says (newest first, large), and the latest fault."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Coach captions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.latest = _label("", "subtitle", wrap=True)
        self.latest.setFont(theme.font(15, bold=True))
        self.latest.setAccessibleName("What the coach said last")
        self.fault = _label("", "warn", wrap=True)
        self.fault.setAccessibleName("Latest form fault")
        self.history = QListWidget()
        self.history.setAccessibleName("Everything the coach said")
        self.history.setMaximumHeight(120)
        self.history.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.latest)
        layout.addWidget(self.fault)
        layout.addWidget(self.history)
        self.captions_on = True

    def caption(self, text: str, *, kind: str = "info", audible: bool = True) -> None:
        if not self.captions_on:
            return
        self.latest.setText(text)
        self.history.insertItem(0, text)
        while self.history.count() > 50:
            self.history.takeItem(self.history.count() - 1)
        if kind in ("form", "safety"):
            self.fault.setText(f"Form: {text}")

    def show_fault(self, text: str) -> None:
        self.fault.setText(f"Form: {text}")


class RestTimer(QWidget):
    """The countdown between sets, with Skip and +30 s; ``finished`` when it runs out or is skipped."""

    finished = Signal(bool)  # True: skipped

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Rest timer")
        layout = QVBoxLayout(self)
        self.title = _label("Rest", "subtitle")
        self.clock = _label("0:00")
        self.clock.setFont(theme.font(40, bold=True))
        self.clock.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clock.setAccessibleName("Rest time left")
        self.next_up = _label("", "muted", wrap=True)
        row = QHBoxLayout()
        self.skip = QPushButton("S&kip rest")
        self.skip.setAccessibleName("Skip rest")
        self.skip.setToolTip("End the rest now (K); say 'next set'")
        self.more = QPushButton("&+30 s")
        self.more.setAccessibleName("Add thirty seconds")
        self.more.setToolTip("Thirty more seconds of rest (+)")
        row.addWidget(self.skip)
        row.addWidget(self.more)
        for w in (self.title, self.clock, self.next_up):
            layout.addWidget(w)
        layout.addLayout(row)
        self._until = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._tick)
        self.skip.clicked.connect(lambda: self.stop(skipped=True))
        self.more.clicked.connect(lambda: self.add(30))

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    @property
    def left_s(self) -> float:
        return max(0.0, self._until - time.monotonic()) if self.running else 0.0

    def start(self, seconds: int, *, next_up: str = "") -> None:
        self._until = time.monotonic() + seconds
        self.next_up.setText(next_up)
        self._timer.start()
        self._tick()

    def add(self, seconds: int) -> None:
        if self.running:
            self._until += seconds
            self._tick()

    def stop(self, *, skipped: bool = False) -> None:
        if self.running:
            self._timer.stop()
            self.finished.emit(skipped)

    def _tick(self) -> None:
        left = self.left_s
        self.clock.setText(f"{int(left) // 60}:{int(left) % 60:02d}")
        if left <= 0:
            self.stop()
