"""The PDF report: summary, per-set tables, charts, records, program progress."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .charts import bar_chart, line_chart
from .data import ReportData

log = logging.getLogger(__name__)

PAPERS = {"a4": A4, "letter": LETTER}
STYLES = getSampleStyleSheet()
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.4, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.Color(0.93, 0.93, 0.93)]),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
    ]
)
MAX_WORKOUT_ROWS = 40


def _table(rows: list[list[str]]) -> Table:
    t = Table(rows, repeatRows=1, hAlign="LEFT")
    t.setStyle(TABLE_STYLE)
    return t


def _load(load: float | None, unit: str | None) -> str:
    return "bodyweight" if load is None else f"{load:g} {unit or ''}".strip()


def _summary(data: ReportData) -> list[Flowable]:
    reps = sum(w.reps for w in data.workouts)
    clean = sum(w.clean_reps for w in data.workouts)
    volume = sum(w.volume_kg for w in data.workouts)
    form = f"{100 * clean / reps:.0f} %" if reps else "-"
    rows = [
        ["Workouts", "Sets", "Reps", "Reps with good form", "Volume (kg)"],
        [str(len(data.workouts)), str(sum(w.sets for w in data.workouts)), str(reps), form, f"{volume:,.0f}"],
    ]
    out: list[Flowable] = [Paragraph("Summary", STYLES["Heading2"]), _table(rows)]
    if len(data.workouts) > 1:
        table = [["Date (UTC)", "Exercises", "Sets", "Reps", "Good form", "Volume (kg)"]]
        for w in data.workouts[:MAX_WORKOUT_ROWS]:
            good = f"{100 * w.clean_reps / w.reps:.0f} %" if w.reps else "-"
            table.append([w.started_at[:16].replace("T", " "), w.exercises.replace(",", ", "), str(w.sets),
                          str(w.reps), good, f"{w.volume_kg:,.0f}"])  # fmt: skip
        out += [Spacer(1, 4 * mm), _table(table)]
    return out


def _sets(data: ReportData) -> list[Flowable]:
    if not data.sets or data.detail_workout is None:
        return []
    when = data.detail_workout.started_at[:16].replace("T", " ")
    out: list[Flowable] = [Paragraph(f"Sets of the workout on {when} UTC", STYLES["Heading2"])]
    rows = [["#", "Exercise", "Load", "Target", "Reps", "Partial", "Good form", "Mean ROM", "Mean up (s)"]]
    for i, s in enumerate(data.sets, 1):
        roms = [r.rom_deg for r in s.reps if r.rom_deg is not None]
        ups = [r.concentric_s for r in s.reps]
        rows.append([
            str(i), s.row.exercise, _load(s.row.load, s.row.unit), str(s.row.target_reps or "-"),
            str(s.row.achieved_reps), str(s.row.partial_reps),
            f"{100 * s.row.clean_reps / s.row.achieved_reps:.0f} %" if s.row.achieved_reps else "-",
            f"{sum(roms) / len(roms):.0f} deg" if roms else "-", f"{sum(ups) / len(ups):.2f}" if ups else "-",
        ])  # fmt: skip
    out.append(_table(rows))
    return out


def _charts(data: ReportData) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("Charts", STYLES["Heading2"])]
    labels = [f"{i}. {s.row.exercise}" for i, s in enumerate(data.sets, 1)]
    out.append(bar_chart("Reps per set", labels, [s.row.achieved_reps for s in data.sets], y_label="reps"))
    first = next((s for s in data.sets if s.reps), None)
    if first is not None:
        tempo = {
            "down": [(r.index, r.eccentric_s) for r in first.reps],
            "pause": [(r.index, r.pause_s) for r in first.reps],
            "up": [(r.index, r.concentric_s) for r in first.reps],
        }
        name = f"set 1 ({first.row.exercise})"
        out.append(line_chart(f"Tempo per rep, {name}", tempo, y_label="seconds", x_label="rep"))
        rom = {
            s.row.exercise: [(r.index, r.rom_deg) for r in s.reps if r.rom_deg is not None] for s in data.sets
        }
        out.append(line_chart("Range of motion per rep (each exercise's first set)", rom, y_label="degrees",
                              x_label="rep"))  # fmt: skip
    form = {
        ex: [(float(d.toordinal() - _day0(data)), 100 * v) for d, v in pts] for ex, pts in data.form.items()
    }
    out.append(line_chart("Good-form reps over time (%)", dict(list(form.items())[:6]), y_label="%",
                          x_label="days since the first shown", y_max=100))  # fmt: skip
    weeks = [w.week.strftime("%d %b") for w in data.weekly]
    out.append(
        bar_chart("Weekly volume (kg lifted)", weeks, [w.volume_kg for w in data.weekly], y_label="kg")
    )
    return [KeepTogether(f) for f in out]


def _day0(data: ReportData) -> int:
    days = [d for pts in data.form.values() for d, _ in pts]
    return min(days).toordinal() if days else date.today().toordinal()


def _records(data: ReportData) -> list[Flowable]:
    if not data.records:
        return []
    names = {"max_reps": "most reps in a set", "max_load": "heaviest load", "e1rm_epley": "est. 1RM (Epley)",
             "e1rm_brzycki": "est. 1RM (Brzycki)"}  # fmt: skip
    rows = [["Exercise", "Record", "Value", "Date"]]
    for r in data.records:
        value = f"{r.value:g}" + (f" {r.unit}" if r.unit else "")
        rows.append([r.exercise, names.get(r.kind, r.kind), value, r.day.isoformat()])
    return [Paragraph("Personal records", STYLES["Heading2"]), _table(rows)]


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
    cell = STYLES["BodyText"].clone("cell", fontName="Helvetica", fontSize=8, leading=10)
    rows: list[list[object]] = [["Exercise", "Target", "Next load", "Why"]]
    for item in p.items:
        load = item.load or ("hold" if item.hold else "to choose" if item.loaded else "bodyweight")
        rows.append([item.prescription.exercise, item.target, load, Paragraph(item.note, cell)])
    table = Table(rows, repeatRows=1, hAlign="LEFT", colWidths=[32 * mm, 22 * mm, 26 * mm, 94 * mm])
    table.setStyle(TABLE_STYLE)
    table.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "LEFT"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
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
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
    )  # fmt: skip
    story: list[Flowable] = [Paragraph(data.title, STYLES["Title"]), Paragraph(data.period, STYLES["Italic"])]
    for part in (_summary, _sets, _charts, _records, _program):
        story += part(data)
    doc.build(story)
    log.info("report written to %s", path)
    return path
