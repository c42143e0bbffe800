"""Charts as reportlab drawings that print well in black and white.

Series differ by marker shape and dash pattern as well as by grey level, bars have black outlines
and value labels, so nothing depends on colour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

MARKERS = ("FilledSquare", "Circle", "FilledTriangle", "Cross", "FilledDiamond", "Square")
DASHES: tuple[tuple[int, ...] | None, ...] = (None, (4, 2), (1, 2), (6, 2, 1, 2), (2, 2), (8, 3))
GREYS = (colors.black, colors.Color(0.35, 0.35, 0.35), colors.Color(0.55, 0.55, 0.55))
WIDTH, HEIGHT = 480, 170
MAX_BARS = 60


def _frame(title: str) -> Drawing:
    d = Drawing(WIDTH, HEIGHT)
    d.add(String(0, HEIGHT - 12, title, fontName="Helvetica-Bold", fontSize=10))
    return d


def _empty(title: str, why: str) -> Drawing:
    d = _frame(title)
    d.add(String(WIDTH / 2, HEIGHT / 2, why, fontName="Helvetica-Oblique", fontSize=9, textAnchor="middle"))
    return d


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, y_label: str = "") -> Drawing:
    if not values:
        return _empty(title, "no data")
    labels, values = list(labels)[-MAX_BARS:], list(values)[-MAX_BARS:]
    d = _frame(title)
    chart = VerticalBarChart()
    angled = len(labels) > 8
    bottom = 55 if angled else 35  # room for slanted labels inside the drawing
    chart.x, chart.y, chart.width, chart.height = 45, bottom, WIDTH - 60, HEIGHT - 30 - bottom
    chart.data = [values]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30 if angled else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if angled else "n"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.Color(0.8, 0.8, 0.8)
    chart.bars[0].strokeColor = colors.black
    chart.bars[0].strokeWidth = 0.6
    if len(values) <= 20:
        chart.barLabelFormat = "%.0f"
        chart.barLabels.fontSize = 7
        chart.barLabels.nudge = 6
    d.add(chart)
    if y_label:
        d.add(String(0, HEIGHT - 24, y_label, fontName="Helvetica", fontSize=7))
    return d


def _legend(d: Drawing, names: Sequence[str], *, x: float, top: float) -> None:
    """One row per series: a stretch of its line (grey, dash) with its marker, then its name."""
    for i, name in enumerate(names):
        y = top - i * 13
        grey = GREYS[i % len(GREYS)]
        d.add(
            Line(x, y, x + 24, y, strokeColor=grey, strokeWidth=1.2, strokeDashArray=DASHES[i % len(DASHES)])
        )
        marker = makeMarker(MARKERS[i % len(MARKERS)], size=5, x=x + 12, y=y)
        marker.fillColor = grey
        marker.strokeColor = colors.black
        d.add(marker)
        d.add(String(x + 30, y - 2.5, name[:22], fontName="Helvetica", fontSize=7))


def _whole_number_x_axis(plot: LinePlot, xs: Sequence[float], span: tuple[int, int] | None = None) -> None:
    """Reps and days are whole numbers: ticks on integers, and a visible span for a single day."""
    lo, hi = span if span is not None else (math.floor(min(xs)), math.ceil(max(xs)))
    if hi - lo < 2:
        lo, hi = lo - 1, hi + 1
    step = max(1, math.ceil((hi - lo) / 10))
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = lo, hi
    plot.xValueAxis.valueSteps = list(range(lo, hi + 1, step))
    plot.xValueAxis.labelTextFormat = "%d"


def line_chart(
    title: str,
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    y_label: str = "",
    x_label: str = "",
    y_max: float | None = None,
    x_range: tuple[int, int] | None = None,
) -> Drawing:
    """One line per series: distinct marker, dash and grey; a legend names each.

    ``x_range`` fixes the x axis (a period's days), so charts of one report line up.
    """
    series = {k: v for k, v in series.items() if v}
    if not series:
        return _empty(title, "no data")
    d = _frame(title)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 45, 30, WIDTH - 170, HEIGHT - 60
    plot.data = [list(v) for v in series.values()]
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    _whole_number_x_axis(plot, [x for points in series.values() for x, _ in points], x_range)
    plot.yValueAxis.valueMin = 0
    if y_max is not None:
        plot.yValueAxis.valueMax = y_max
    for i, _name in enumerate(series):
        line = plot.lines[i]
        line.strokeColor = GREYS[i % len(GREYS)]
        line.strokeWidth = 1.2
        line.strokeDashArray = DASHES[i % len(DASHES)]
        line.symbol = makeMarker(MARKERS[i % len(MARKERS)], size=5)
        line.symbol.fillColor = GREYS[i % len(GREYS)]
        line.symbol.strokeColor = colors.black
    d.add(plot)
    _legend(d, list(series), x=WIDTH - 115, top=HEIGHT - 30)
    if y_label:
        d.add(String(0, HEIGHT - 24, y_label, fontName="Helvetica", fontSize=7))
    if x_label:
        d.add(
            String(plot.x + plot.width / 2, 4, x_label, fontName="Helvetica", fontSize=7, textAnchor="middle")
        )
    return d
