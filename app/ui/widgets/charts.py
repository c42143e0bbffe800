"""A small line chart drawn with QPainter (axes, labelled ticks, a legend, the theme's colours), and
the four progress charts of a history (reps, volume, tempo, range of motion) with their selectors.

``LineChart.set_data(labels, series)`` takes category labels along x (dates, workouts) and one or
more series of values (None leaves a gap). It describes itself to screen readers: its accessible
description names each series' points, range and latest value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.storage.history_ops import History, Series, progress_series
from app.ui import theme


@dataclass(frozen=True, slots=True)
class ChartSeries:
    name: str
    values: tuple[float | None, ...]
    color: str = "accent"  # a palette token: accent, good, warn, bad, text


def nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering ``[low, high]``."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(ticks[-1] + step)
    return [round(t, 10) for t in ticks]


def format_value(v: float, step: float) -> str:
    if step >= 1 or v == 0:
        return f"{v:,.0f}"
    decimals = min(3, max(1, -math.floor(math.log10(step))))
    return f"{v:.{decimals}f}"


class LineChart(QWidget):
    """One titled chart of one or more series over shared x labels."""

    def __init__(
        self, title: str, *, unit: str = "", empty_text: str = "No data yet", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._title = title
        self._unit = unit
        self._empty_text = empty_text
        self._labels: tuple[str, ...] = ()
        self._series: tuple[ChartSeries, ...] = ()
        self.setAccessibleName(f"{title} chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._describe()

    # ----------------------------------------------------------------------------------- data
    @property
    def title(self) -> str:
        return self._title

    def set_title(self, title: str) -> None:
        self._title = title
        self.setAccessibleName(f"{title} chart")
        self._describe()
        self.update()

    def labels(self) -> tuple[str, ...]:
        return self._labels

    def series(self) -> tuple[ChartSeries, ...]:
        return self._series

    def set_data(self, labels: Sequence[str], series: Sequence[ChartSeries], *, empty_text: str = "") -> None:
        """Show ``series`` (each as long as ``labels``); ``empty_text`` replaces the default
        message shown when no value is present."""
        for s in series:
            if len(s.values) != len(labels):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
        self._labels = tuple(labels)
        self._series = tuple(series)
        if empty_text:
            self._empty_text = empty_text
        self._describe()
        self.update()

    def has_values(self) -> bool:
        return any(v is not None for s in self._series for v in s.values)

    def _describe(self) -> None:
        unit = f" {self._unit}" if self._unit else ""
        if not self.has_values():
            self.setAccessibleDescription(f"{self._title}: {self._empty_text}")
            return
        parts = []
        for s in self._series:
            vals = [v for v in s.values if v is not None]
            if not vals:
                continue
            parts.append(
                f"{s.name}: {len(vals)} points, from {min(vals):,.4g} to {max(vals):,.4g}{unit}, "
                f"latest {vals[-1]:,.4g}{unit}"
            )
        span = f" from {self._labels[0]} to {self._labels[-1]}" if self._labels else ""
        self.setAccessibleDescription(f"{self._title}{span}. " + "; ".join(parts) + ".")

    # ------------------------------------------------------------------------------- geometry
    def minimumSizeHint(self) -> QSize:
        s = theme.scale()
        return QSize(round(180 * s), round(150 * s))

    def sizeHint(self) -> QSize:
        s = theme.scale()
        return QSize(round(420 * s), round(240 * s))

    # ---------------------------------------------------------------------------------- paint
    def paintEvent(self, event: QPaintEvent) -> None:
        p = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outer = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(QPen(p.color("border"), 2 if p.name == "high-contrast" else 1))
        painter.setBrush(p.color("panel"))
        painter.drawRoundedRect(outer, 8, 8)
        pad = 10 * theme.scale()
        area = outer.adjusted(pad, pad, -pad, -pad)
        title_font = theme.font(11, bold=True)
        painter.setFont(title_font)
        painter.setPen(p.color("text"))
        tm = QFontMetricsF(title_font)
        title = self._title + (f" ({self._unit})" if self._unit else "")
        title = tm.elidedText(title, Qt.TextElideMode.ElideRight, area.width())
        painter.drawText(QRectF(area.left(), area.top(), area.width(), tm.height()), title)
        small = theme.font(9)
        painter.setFont(small)
        fm = QFontMetricsF(small)
        legend_bottom = self._legend(painter, fm, area, top=area.top() + tm.height() + pad * 0.4)
        plot_top = legend_bottom + pad * 0.6
        if not self.has_values():
            painter.setPen(p.color("muted"))
            painter.drawText(
                QRectF(area.left(), plot_top, area.width(), area.bottom() - plot_top),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._empty_text,
            )
            painter.end()
            return
        values = [v for s in self._series for v in s.values if v is not None]
        low, high = min(0.0, *values), max(values)
        ticks = nice_ticks(low, high)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        texts = [format_value(t, step) for t in ticks]
        left = area.left() + max(fm.horizontalAdvance(t) for t in texts) + pad * 0.6
        plot = QRectF(left, plot_top + fm.height() / 2, area.right() - left - pad * 0.5, 0)
        plot.setBottom(area.bottom() - fm.height() - pad * 0.5)
        if plot.height() < 10 or plot.width() < 10:
            painter.end()
            return
        y0, y1 = ticks[0], ticks[-1]

        def y_of(v: float) -> float:
            return plot.bottom() - (v - y0) / (y1 - y0 or 1.0) * plot.height()

        n = len(self._labels)

        def x_of(i: int) -> float:
            return plot.center().x() if n == 1 else plot.left() + i * plot.width() / (n - 1)

        self._axes(painter, fm, plot, [(y_of(t), s) for t, s in zip(ticks, texts, strict=True)])
        self._x_labels(painter, fm, plot, x_of)
        for s in self._series:
            self._line(painter, s, x_of, y_of)
        painter.end()

    def _legend(self, painter: QPainter, fm: QFontMetricsF, area: QRectF, *, top: float) -> float:
        """Swatches and names, left to right (wrapping); returns the bottom of the legend."""
        p = theme.current()
        if len(self._series) < 2:
            return top - fm.height() * 0.3
        x, y, sw = area.left(), top, fm.height() * 1.2
        for s in self._series:
            width = sw + 6 + fm.horizontalAdvance(s.name) + 16
            if x + width > area.right() and x > area.left():
                x, y = area.left(), y + fm.height() * 1.3
            painter.setPen(QPen(p.color(s.color), 3))
            mid = y + fm.height() / 2
            painter.drawLine(QPointF(x, mid), QPointF(x + sw, mid))
            painter.setPen(p.color("text"))
            painter.drawText(QPointF(x + sw + 6, y + fm.ascent()), s.name)
            x += width
        return y + fm.height()

    def _axes(
        self, painter: QPainter, fm: QFontMetricsF, plot: QRectF, ticks: list[tuple[float, str]]
    ) -> None:
        p = theme.current()
        grid = QColor(p.border)
        for y, label in ticks:
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(p.color("muted"))
            box = QRectF(plot.left() - 200, y - fm.height() / 2, 200 - 6, fm.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        painter.setPen(QPen(p.color("muted"), 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())

    def _x_labels(
        self, painter: QPainter, fm: QFontMetricsF, plot: QRectF, x_of: Callable[[int], float]
    ) -> None:
        p = theme.current()
        n = len(self._labels)
        if not n:
            return
        gap = fm.horizontalAdvance("  ")

        def box(i: int) -> tuple[float, float]:
            w = fm.horizontalAdvance(self._labels[i])
            left = min(max(x_of(i) - w / 2, plot.left() - 4), plot.right() - w + 4)
            return left, left + w

        shown: list[int] = []
        for i in [*range(n - 1), n - 1]:  # greedy left to right; the latest label always shows
            while i == n - 1 and shown and box(shown[-1])[1] + gap > box(i)[0]:
                shown.pop()
            if not shown or box(shown[-1])[1] + gap <= box(i)[0]:
                shown.append(i)
        painter.setPen(p.color("muted"))
        for i in shown:
            x = x_of(i)
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            painter.drawText(QPointF(box(i)[0], plot.bottom() + 4 + fm.ascent()), self._labels[i])

    def _line(
        self, painter: QPainter, s: ChartSeries, x_of: Callable[[int], float], y_of: Callable[[float], float]
    ) -> None:
        color = theme.current().color(s.color)
        width = 3.0 if theme.current().name == "high-contrast" else 2.0
        path = QPainterPath()
        pen_down = False
        for i, v in enumerate(s.values):
            if v is None:
                pen_down = False
                continue
            pt = QPointF(x_of(i), y_of(v))
            if pen_down:
                path.lineTo(pt)
            else:
                path.moveTo(pt)
                pen_down = True
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(color, width))
        painter.drawPath(path)
        painter.setBrush(color)
        radius = width + 1
        for i, v in enumerate(s.values):
            if v is not None:
                painter.drawEllipse(QPointF(x_of(i), y_of(v)), radius, radius)


class ProgressChartsWidget(QWidget):
    """Reps, volume, tempo and range of motion over time, per workout or per week, of one exercise
    or all; ``set_history`` feeds it, ``series()`` is what it shows."""

    def __init__(self, *, name_of: Callable[[str], str] = str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._name_of = name_of
        self._history: History | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 10, 8, 8)
        controls = QHBoxLayout()
        self.exercise_box = QComboBox()
        self.exercise_box.setAccessibleName("Exercise")
        self.exercise_box.setToolTip("Which exercise the charts show")
        self.exercise_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.group_box = QComboBox()
        self.group_box.setAccessibleName("Group by")
        self.group_box.addItem("Each workout", "workout")
        self.group_box.addItem("Each week", "week")
        for text, box in (("E&xercise:", self.exercise_box), ("&Group by:", self.group_box)):
            label = QLabel(text)
            label.setBuddy(box)
            controls.addWidget(label)
            controls.addWidget(box)
            controls.addSpacing(16)
            box.currentIndexChanged.connect(lambda _: self._draw())
        controls.addStretch(1)
        col.addLayout(controls)
        grid = QGridLayout()
        grid.setSpacing(12)
        self.charts = {
            "reps": LineChart("Reps"),
            "volume": LineChart("Volume", unit="kg"),
            "tempo": LineChart("Tempo", unit="s"),
            "rom": LineChart("Range of motion", unit="°"),
        }
        for i, chart in enumerate(self.charts.values()):
            grid.addWidget(chart, i // 2, i % 2)
        col.addLayout(grid, 1)

    def set_history(self, history: History) -> None:
        """Show ``history``, keeping the chosen exercise if it is still there."""
        self._history = history
        keep = self.exercise_box.currentData()
        self.exercise_box.blockSignals(True)
        self.exercise_box.clear()
        self.exercise_box.addItem("All exercises", None)
        for e in history.exercises:
            self.exercise_box.addItem(self._name_of(e), e)
        self.exercise_box.setCurrentIndex(max(self.exercise_box.findData(keep), 0))
        self.exercise_box.blockSignals(False)
        self._draw()

    def series(self) -> Series | None:
        """What the charts show now (None before a history arrives)."""
        if self._history is None:
            return None
        exercise, per = self.exercise_box.currentData(), self.group_box.currentData()
        return progress_series(self._history, exercise=exercise, per=per)

    def _draw(self) -> None:
        s = self.series()
        if s is None:
            return
        per = s.per
        labels = [f"{d.day} {d:%b}" for d in s.labels]
        c = self.charts
        c["reps"].set_data(labels, [ChartSeries(f"Reps per {per}", s.reps, "accent")])
        volume = tuple(v or None for v in s.volume_kg)
        c["volume"].set_data(
            labels,
            [ChartSeries(f"Volume per {per}", volume, "good")],
            empty_text="No loaded sets: volume is load × reps.",
        )
        tempo = [
            ChartSeries("Down", s.eccentric_s, "accent"),
            ChartSeries("Pause", s.pause_s, "warn"),
            ChartSeries("Up", s.concentric_s, "good"),
        ]
        c["tempo"].set_data(labels, tempo, empty_text="No rep timings recorded yet.")
        rom = [ChartSeries("Range of motion", s.rom_deg, "warn")]
        c["rom"].set_data(labels, rom, empty_text="No joint angles recorded.")
        for chart in c.values():
            chart.setAccessibleName(f"{chart.title} per {per} chart")
