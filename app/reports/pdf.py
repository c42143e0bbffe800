"""The PDF report: summary, per-workout set tables, charts, records, program progress.

Everything prints in black and white: tables use rules and light grey bands, charts tell series
apart by marker and dash as well as grey level. Every page carries the title and its number.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .charts import bar_chart, line_chart
from .data import DayPoint, ReportData, ReportSet, ReportWorkout
from .files import written_whole

log = logging.getLogger(__name__)

PAPERS = {"a4": A4, "letter": LETTER}
STYLES = getSampleStyleSheet()
CELL = STYLES["BodyText"].clone("cell", fontName="Helvetica", fontSize=8, leading=9.5)
RIGHT_CELL = CELL.clone("right_cell", alignment=2)  # TA_RIGHT
WORKOUT_HEADING = STYLES["Heading3"].clone("workout", fontSize=10, leading=12, spaceBefore=8, spaceAfter=3)
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.4, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.Color(0.93, 0.93, 0.93)]),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
MAX_CHART_SERIES = 6
SET_COLUMNS = ["#", "Exercise", "Load", "Target", "Done", "Partial", "Good form", "Mean ROM",
               "Down / pause / up (s)"]  # fmt: skip
SET_WIDTHS = [8, 30, 22, 13, 18, 13, 17, 17, 33]  # mm: 171, inside A4 and Letter with 18 mm margins


def _table(rows: list[list[Any]], widths_mm: Sequence[float] | None = None) -> Table:
    widths = [w * mm for w in widths_mm] if widths_mm else None
    t = Table(rows, repeatRows=1, hAlign="LEFT", colWidths=widths)
    t.setStyle(TABLE_STYLE)
    return t


def _load(load: float | None, unit: str | None) -> str:
    return "bodyweight" if load is None else f"{load:g} {unit or ''}".strip()


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


# ---------------------------------------------------------------------------------- summary
def _summary(data: ReportData) -> list[Flowable]:
    ws = data.workouts
    reps, clean = sum(w.reps for w in ws), sum(w.clean_reps for w in ws)
    held = sum(w.hold_s for w in ws)
    head = ["Workouts", "Sets", "Reps", "Reps with good form", "Volume (kg)"]
    row = [str(len(ws)), str(sum(w.sets for w in ws)), str(reps), _pct(clean, reps),
           f"{sum(w.volume_kg for w in ws):,.0f}"]  # fmt: skip
    if held:
        head.append("Time held")
        row.append(f"{held:.0f} s")
    out: list[Flowable] = [Paragraph("Summary", STYLES["Heading2"]), _table([head, row])]
    if not ws:
        out.append(Paragraph("No workouts were saved in this period.", STYLES["BodyText"]))
    people = sorted({w.profile for w in ws})
    if len(people) > 1:  # a kiosk's or a gym's report: each member's share first
        members: list[list[Any]] = [["Member", "Workouts", "Sets", "Reps", "Good form", "Volume (kg)"]]
        for name in people:
            mine = [w for w in ws if w.profile == name]
            r, c = sum(w.reps for w in mine), sum(w.clean_reps for w in mine)
            members.append([Paragraph(escape(name), CELL), str(len(mine)), str(sum(w.sets for w in mine)),
                            str(r), _pct(c, r), f"{sum(w.volume_kg for w in mine):,.0f}"])  # fmt: skip
        out += [Spacer(1, 4 * mm), _table(members, [60, 22, 18, 20, 22, 25])]
    if len(ws) > 1:
        who = len(people) > 1
        table: list[list[Any]] = [["Date and time (local)", *(["Member"] if who else []), "Exercises", "Sets",
                                   "Reps", "Good form", "Volume (kg)"]]  # fmt: skip
        for w in sorted(ws, key=lambda w: w.started_at):
            exercises = Paragraph(w.exercises.replace(",", ", "), CELL)
            member = [Paragraph(escape(w.profile), CELL)] if who else []
            table.append([f"{w.local_start:%a %d %b %Y, %H:%M}", *member, exercises, str(w.sets), str(w.reps),
                          _pct(w.clean_reps, w.reps), f"{w.volume_kg:,.0f}"])  # fmt: skip
        widths = [38, 28, 42, 12, 14, 18, 19] if who else [38, 70, 12, 14, 18, 19]
        out += [Spacer(1, 4 * mm), _table(table, widths)]
    return out


# ---------------------------------------------------------------------------- set tables
def _set_row(i: int, s: ReportSet) -> list[Any]:
    r, m = s.row, s.means
    if r.hold_s is not None:
        return [str(i), r.exercise, _load(r.load, r.unit), "-", f"{r.hold_s:.1f} s", "-", "-", "-", "held"]
    rom = f"{m.rom_deg:.0f} deg" if m is not None and m.rom_deg is not None else "-"
    tempo = "-"
    if m is not None and m.concentric_s is not None:
        tempo = f"{m.eccentric_s or 0:.1f} / {m.pause_s or 0:.1f} / {m.concentric_s:.1f}"
    return [str(i), r.exercise, _load(r.load, r.unit), str(r.target_reps or "-"), f"{r.achieved_reps} reps",
            str(r.partial_reps), _pct(r.clean_reps, r.achieved_reps), rom, tempo]  # fmt: skip


def _workout_block(d: ReportWorkout, *, who: bool = False) -> list[Flowable]:
    """One workout's sets under a heading (naming its member when the report covers several)."""
    w = d.workout
    facts = [f"{w.sets} set{'s' if w.sets != 1 else ''}", f"{w.reps} reps"]
    if w.hold_s:
        facts.append(f"{w.hold_s:.0f} s held")
    if w.volume_kg:
        facts.append(f"{w.volume_kg:,.0f} kg lifted")
    name = f"{escape(w.profile)} &nbsp;&middot;&nbsp; " if who else ""
    heading = Paragraph(f"{name}{w.local_start:%A %d %B %Y, %H:%M} &nbsp;&middot;&nbsp; {', '.join(facts)}",
                        WORKOUT_HEADING)  # fmt: skip
    rows = [SET_COLUMNS, *(_set_row(i, s) for i, s in enumerate(d.sets, 1))]
    # heading and the first rows stay together; a long table then breaks with its header repeated
    return [KeepTogether([heading, _table(rows, SET_WIDTHS)])]


def _sets(data: ReportData) -> list[Flowable]:
    if not data.sets:
        return []
    title = "Sets" if data.span is None else "Sets, workout by workout"
    who = len({d.workout.profile for d in data.details}) > 1
    blocks = [f for d in data.details for f in _workout_block(d, who=who)]
    # the section's title stays with its first workout (never alone at the foot of a page)
    return [KeepTogether([Paragraph(title, STYLES["Heading2"]), blocks[0]]), *blocks[1:]]


# -------------------------------------------------------------------------------- charts
def _charts(data: ReportData) -> list[Flowable]:
    out = _period_charts(data) if data.span is not None else _workout_charts(data)
    out.append(_form_chart(data))
    weeks = [w.week.strftime("%d %b") for w in data.weekly]
    out.append(
        bar_chart("Weekly volume (kg lifted)", weeks,
                  [w.volume_kg for w in data.weekly], y_label="kg")
    )  # fmt: skip
    heading = Paragraph("Charts", STYLES["Heading2"])
    return [KeepTogether([heading, out[0]]), *(KeepTogether(f) for f in out[1:])]


def _workout_charts(data: ReportData) -> list[Flowable]:
    sets = [s for s in data.sets if s.row.hold_s is None]
    holds = [s for s in data.sets if s.row.hold_s is not None]
    out: list[Flowable] = []
    if sets or not holds:
        labels = [f"{i}. {s.row.exercise}" for i, s in enumerate(sets, 1)]
        out.append(bar_chart("Reps per set", labels, [s.row.achieved_reps for s in sets], y_label="reps"))
    if holds:
        labels = [f"{i}. {s.row.exercise}" for i, s in enumerate(holds, 1)]
        out.append(bar_chart("Time held per hold", labels, [s.row.hold_s or 0.0 for s in holds], y_label="s"))
    first = next((s for s in sets if s.reps), None)
    if first is not None:
        tempo = {
            "down": [(r.index, r.eccentric_s) for r in first.reps],
            "pause": [(r.index, r.pause_s) for r in first.reps],
            "up": [(r.index, r.concentric_s) for r in first.reps],
        }
        name = f"the first set ({first.row.exercise})"
        out.append(line_chart(f"Tempo per rep, {name}", tempo, y_label="seconds", x_label="rep"))
        rom: dict[str, list[tuple[float, float]]] = {}
        for s in sets:
            if s.row.exercise not in rom:
                rom[s.row.exercise] = [(r.index, r.rom_deg) for r in s.reps if r.rom_deg is not None]
        firsts = dict(list(rom.items())[:MAX_CHART_SERIES])
        title = "Range of motion per rep (each exercise's first set)"
        out.append(line_chart(title, firsts, y_label="degrees", x_label="rep"))
    return out


WEEKLY_AFTER_DAYS = 62  # a longer period is charted week by week (a year's days would be a smudge)


def _by_week(points: Sequence[DayPoint], start: date) -> list[DayPoint]:
    """Each week's points of one exercise merged: sets and reps summed, tempo and ROM weighted by reps."""
    weeks: dict[tuple[date, str], list[DayPoint]] = {}
    for p in points:
        monday = start + timedelta(days=7 * ((p.day - start).days // 7))
        weeks.setdefault((monday, p.exercise), []).append(p)

    def mean(group: list[DayPoint], attr: str) -> float | None:
        had = [(getattr(p, attr), p.reps) for p in group if getattr(p, attr) is not None and p.reps]
        n = sum(r for _, r in had)
        return sum(v * r for v, r in had) / n if n else None

    return [
        DayPoint(day, ex, sum(p.sets for p in g), sum(p.reps for p in g), mean(g, "eccentric_s"),
                 mean(g, "pause_s"), mean(g, "concentric_s"), mean(g, "rom_deg"))
        for (day, ex), g in sorted(weeks.items())
    ]  # fmt: skip


def _period_charts(data: ReportData) -> list[Flowable]:
    assert data.span is not None
    start, end = data.span
    step = 7 if (end - start).days > WEEKLY_AFTER_DAYS else 1
    days = _by_week(data.days, start) if step == 7 else data.days
    x_range = (1, -(-(end - start).days // step))
    x_label = _period_axis(start, end) if step == 1 else f"week of {start:%Y} (1 = the week of {start:%d %b})"
    each = "week" if step == 7 else "day"

    def x(d: date) -> float:
        return float((d - start).days // step + 1)

    by_sets: dict[str, int] = {}
    for p in days:
        by_sets[p.exercise] = by_sets.get(p.exercise, 0) + p.sets
    top = sorted(by_sets, key=lambda e: (-by_sets[e], e))[:MAX_CHART_SERIES]
    reps = {e: [(x(p.day), p.reps / p.sets) for p in days if p.exercise == e and p.sets] for e in top}
    rom = {e: [(x(p.day), p.rom_deg) for p in days if p.exercise == e and p.rom_deg is not None] for e in top}
    tempo: dict[str, list[tuple[float, float]]] = {"down": [], "pause": [], "up": []}
    for day in sorted({p.day for p in days}):
        points = [p for p in days if p.day == day and p.concentric_s is not None]
        n = sum(p.reps for p in points)
        if n:
            for key, attr in (("down", "eccentric_s"), ("pause", "pause_s"), ("up", "concentric_s")):
                tempo[key].append((x(day), sum((getattr(p, attr) or 0.0) * p.reps for p in points) / n))

    def chart(title: str, series: Mapping[str, Sequence[tuple[float, float]]], unit: str) -> Flowable:
        return line_chart(title, series, y_label=unit, x_label=x_label, x_range=x_range)

    out: list[Flowable] = [
        chart(f"Reps per set (mean of each {each}'s sets)", reps, "reps"),
        chart(f"Tempo per rep (mean of each {each}'s reps)", tempo, "seconds"),
        chart(f"Range of motion per rep (mean of each {each}'s reps)", rom, "degrees"),
    ]
    holds: dict[date, float] = {}
    for d in data.details:
        for s in d.sets:
            if s.row.hold_s is not None:
                day = d.workout.local_start.date()
                day = start + timedelta(days=step * ((day - start).days // step))
                holds[day] = max(holds.get(day, 0.0), s.row.hold_s)
    if holds:
        series = {"longest hold": [(x(day), v) for day, v in sorted(holds.items())]}
        out.append(
            line_chart(f"Longest hold of each {each}", series, y_label="s", x_label=x_label, x_range=x_range)
        )
    return out


def _period_axis(start: date, end: date) -> str:
    if (end - start).days > 7:
        return f"day of {start:%B %Y}"
    return f"day of the week (1 = {start:%a %d %b})"


def _form_chart(data: ReportData) -> Flowable:
    title = "Reps with good form (%, per day)"
    top = sorted(data.form, key=lambda e: -len(data.form[e]))[:MAX_CHART_SERIES]
    if data.span is not None:
        start, end = data.span
        if (end - start).days > WEEKLY_AFTER_DAYS:  # a week's days averaged, as the other charts
            weekly: dict[str, list[tuple[float, float]]] = {}
            for e in top:
                weeks: dict[int, list[float]] = {}
                for d, v in data.form[e]:
                    weeks.setdefault((d - start).days // 7 + 1, []).append(v)
                weekly[e] = [(float(w), 100 * sum(vs) / len(vs)) for w, vs in sorted(weeks.items())]
            label = f"week of {start:%Y} (1 = the week of {start:%d %b})"
            return line_chart("Reps with good form (%, per week)", weekly, y_label="%", x_label=label,
                              y_max=100, x_range=(1, -(-(end - start).days // 7)))  # fmt: skip
        form = {e: [(float((d - start).days + 1), 100 * v) for d, v in data.form[e]] for e in top}
        return line_chart(title, form, y_label="%", x_label=_period_axis(start, end), y_max=100,
                          x_range=(1, (end - start).days))  # fmt: skip
    days = [d for e in top for d, _ in data.form[e]]
    day0 = min(days) if days else date.today()
    form = {e: [(float((d - day0).days), 100 * v) for d, v in data.form[e]] for e in top}
    return line_chart(title, form, y_label="%", x_label=f"days since {day0:%d %b %Y}", y_max=100)


# ------------------------------------------------------------------------ records, program
RECORD_KINDS = {
    "max_reps": "Most reps in a set", "max_load": "Heaviest load", "e1rm_epley": "Est. 1RM (Epley)",
    "e1rm_brzycki": "Est. 1RM (Brzycki)", "max_hold": "Longest hold",
}  # fmt: skip


def _records(data: ReportData) -> list[Flowable]:
    """One row per exercise, one column per kind of record: the value and the day it was set."""
    if not data.records:
        return []
    kinds = [k for k in RECORD_KINDS if any(r.kind == k for r in data.records)]
    best = {(r.exercise, r.kind): r for r in data.records}
    rows: list[list[Any]] = [["Exercise", *(RECORD_KINDS[k] for k in kinds)]]
    for ex in sorted({r.exercise for r in data.records}):
        row: list[Any] = [ex]
        for k in kinds:
            r = best.get((ex, k))
            value = "" if r is None else f"{r.value:g}" + (f" {r.unit}" if r.unit else "")
            row.append(
                Paragraph(f"{value}<br/><font size=6.5>{r.day:%d %b %Y}</font>", RIGHT_CELL) if r else "-"
            )
        rows.append(row)
    table = _table(rows, [30.0] + [140.0 / len(kinds)] * len(kinds))
    table.setStyle(TableStyle([("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    return [KeepTogether([Paragraph("Personal records", STYLES["Heading2"]), table])]


def _program(data: ReportData) -> list[Flowable]:
    p = data.program
    if p is None:
        return []
    week = f"week of {p.week_start.strftime('%d %b %Y')}"
    out: list[Flowable] = [
        Paragraph("Program progress", STYLES["Heading2"]),
        Paragraph(f"{p.description.capitalize()}.", STYLES["BodyText"]),
        Paragraph(
            f"<b>{p.sessions_done} of {p.sessions_planned}</b> sessions done this {week}:", STYLES["BodyText"]
        ),
        Spacer(1, 1.5 * mm),
        _session_boxes(p.sessions_done, p.sessions_planned),
        Spacer(1, 3 * mm),
        Paragraph(f"Next session: <b>{p.next_day}</b>", STYLES["BodyText"]),
        Spacer(1, 1.5 * mm),
    ]
    rows: list[list[Any]] = [["Exercise", "Target", "Next load", "Why"]]
    for item in p.items:
        load = item.load or ("hold" if item.hold else "to choose" if item.loaded else "bodyweight")
        rows.append([item.prescription.exercise, item.target, load, Paragraph(item.note, CELL)])
    table = _table(rows, [32, 22, 26, 94])
    table.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "LEFT")]))
    out.append(table)
    return [KeepTogether(out)]


def _session_boxes(done: int, planned: int) -> Table:
    """One box per planned session, filled black when done: readable in black and white."""
    n = max(planned, done)
    labels = [["done" if i < done else "" for i in range(n)]]
    boxes = Table(labels, colWidths=[14 * mm] * n, rowHeights=[6 * mm], hAlign="LEFT")
    style = [
        ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
        ("FONT", (0, 0), (-1, -1), "Helvetica-Bold", 7),
        ("TEXTCOLOR", (0, 0), (-1, -1), colors.white),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if done:
        style.append(("BACKGROUND", (0, 0), (done - 1, 0), colors.black))
    boxes.setStyle(TableStyle(style))
    return boxes


def write_pdf(data: ReportData, path: Path, *, paper: str = "a4") -> Path:
    doc = SimpleDocTemplate(
        str(path), pagesize=PAPERS[paper], title=data.title, author="Spotter",
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm, bottomMargin=18 * mm,
    )  # fmt: skip
    made = datetime.now().strftime("%d %b %Y")

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setLineWidth(0.4)
        y = 11 * mm
        canvas.line(
            document.leftMargin, y + 3.5 * mm, document.pagesize[0] - document.rightMargin, y + 3.5 * mm
        )
        canvas.drawString(document.leftMargin, y, f"{data.title} - {data.period}")
        canvas.drawRightString(
            document.pagesize[0] - document.rightMargin, y, f"made {made}, page {document.page}"
        )
        canvas.restoreState()

    title = Paragraph(escape(data.title), STYLES["Title"])  # names may hold "&" or "<"
    story: list[Flowable] = [title, Paragraph(data.period, STYLES["Italic"])]
    # one workout: its sets come first; a period's many set tables come last, after the overview
    parts = (_summary, _sets, _charts, _records, _program) if data.span is None else (
        _summary, _program, _records, _charts, _sets)  # fmt: skip
    for part in parts:
        story += part(data)
    with written_whole(path) as whole:
        doc.filename = str(whole)
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    log.info("report written to %s", path)
    return path
