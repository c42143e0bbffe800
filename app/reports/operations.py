"""Report operations that every front end calls (the CLI, the Qt screens): a report's data or
PDF, exports, the kiosk leaderboard.

Each takes an open ``Database`` (its caller opens and closes it) and typed values and returns typed
values; errors are ``StorageError`` (a PIN refusal: ``PinRequired``/``WrongPin``) or ``ConfigError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from app.errors import ConfigError
from app.programs.metrics import BOARDS, MemberStats, board_score, leaderboard
from app.storage.db import Database
from app.storage.operations import check_pin
from app.storage.queries import leaderboard_stats
from app.storage.records import record_export

from .data import PERIODS, ReportData, gather, period_bounds
from .export import export_data, validate, write_csv, write_json
from .pdf import write_pdf

NO_REPORT = "no report was made"  # ends a PIN refusal
BOARD_TITLES = {
    "reps": "reps", "volume": "volume (kg)", "streak": "streak (days)", "form": "form-weighted reps",
}  # fmt: skip


# ------------------------------------------------------------------------------------- reports
def report_data(
    db: Database,
    *,
    workout_id: str | None = None,
    period: str | None = None,
    profile: str | None = None,
    today: date | None = None,
    pin: str | None = None,
) -> ReportData:
    """What a report shows: one workout (``workout_id``), the latest (neither given) or a calendar
    ``period`` ("week"/"month") of local days (``today``: the local date, default now); ``profile``
    narrows it to one person.

    A member's report needs the member's PIN: with ``profile`` set, ``pin`` must open a protected
    profile (``PinRequired``/``WrongPin`` otherwise, before anything is read).
    """
    if profile:
        check_pin(db, profile, pin, consequence=NO_REPORT)
    if period is not None and period not in PERIODS:
        raise ConfigError(f"Unknown report period {period!r}; choose {' or '.join(PERIODS)}.")
    with db.read() as conn:
        return gather(conn, workout_id=workout_id, period=period, today=today, profile=profile)


def write_report(
    db: Database,
    path: Path,
    *,
    workout_id: str | None = None,
    period: str | None = None,
    profile: str | None = None,
    paper: str = "a4",
    today: date | None = None,
    pin: str | None = None,
) -> Path:
    """The report of ``report_data`` (the same choices, and the same PIN rule) as a PDF at ``path``
    (``paper`` "a4" or "letter"), written whole or not at all; the path."""
    data = report_data(db, workout_id=workout_id, period=period, profile=profile, today=today, pin=pin)
    return write_pdf(data, path, paper=paper)


# ------------------------------------------------------------------------------------- exports
def export_document(db: Database) -> dict[str, Any]:
    """Every workout, set and rep as one JSON document, checked against the published schema."""
    with db.read() as conn:
        document = export_data(conn)
    validate(document)
    return document


def export_files(db: Database, fmt: Literal["csv", "json"], out: Path) -> int:
    """Export everything as one JSON file or a folder of CSV files (one per table) at ``out``,
    written whole, and note the export in the database; the rows written."""
    with db.read() as conn:
        document = export_data(conn)
    rows = write_json(document, out) if fmt == "json" else write_csv(document, out)
    db.writer.call(lambda c: record_export(c, fmt, str(out), rows))
    return rows


# --------------------------------------------------------------------------------- leaderboard
@dataclass(frozen=True, slots=True)
class Board:
    """The kiosk leaderboard: members ranked on one board (equal scores share a rank)."""

    by: str  # "reps", "volume", "streak" or "form"
    period: str  # "week", "month" or "all"
    label: str  # "this week (from 2025-03-10)", "all time"
    title: str  # what the score is: "reps", "volume (kg)", "streak (days)", "form-weighted reps"
    rows: tuple[tuple[int, MemberStats], ...]  # (rank, member), best first

    @property
    def heading(self) -> str:
        """The first line: "Leaderboard, reps, this week (from 2025-03-10)"."""
        return f"Leaderboard, {self.title}, {self.label}"

    def score(self, member: MemberStats) -> float:
        """The member's score on this board."""
        return board_score(member, self.by)


def leaderboard_board(
    db: Database, *, period: str = "week", by: str = "reps", today: date | None = None
) -> Board:
    """Every profile ranked ``by`` one board over this (local) week or month, or all time
    (``period`` "all"); ``today``: the local date, default now."""
    if by not in BOARDS:
        raise ConfigError(f"Unknown leaderboard {by!r}; choose from {', '.join(BOARDS)}.")
    if period not in (*PERIODS, "all"):
        raise ConfigError(f"Unknown leaderboard period {period!r}; choose from {', '.join(PERIODS)} or all.")
    today = today or date.today()
    if period == "all":
        since, until, label = "", "9999", "all time"
    else:
        start, end = period_bounds(period, today)
        since, until, label = start.isoformat(), end.isoformat(), f"this {period} (from {start})"
    with db.read() as conn:
        members = leaderboard_stats(conn, since=since, until=until, today=today)
    return Board(by, period, label, BOARD_TITLES[by], tuple(leaderboard(members, by=by)))


def format_leaderboard(board: Board, *, limit: int = 20) -> str:
    """The board as a text table of its first ``limit`` rows."""
    lines = [board.heading]
    if not board.rows:
        return "\n".join([*lines, "  no workouts yet"])
    lines.append(
        f"  {'#':>3}  {'name':20s} {'score':>9} {'reps':>7} {'good form':>9} {'volume kg':>10} {'streak':>6}"
    )
    for rank, m in board.rows[:limit]:
        score = board.score(m)
        good = f"{100 * m.clean_reps / m.reps:.0f} %" if m.reps else "-"
        lines.append(
            f"  {rank:>3}  {m.name[:20]:20s} {score:>9,.0f} {m.reps:>7} {good:>9} {m.volume_kg:>10,.0f} "
            f"{m.streak:>6}"
        )
    return "\n".join(lines)
