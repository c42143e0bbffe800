"""``spotter report`` and ``spotter export``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from app.programs.metrics import MemberStats, leaderboard
from app.storage import open_database
from app.storage.queries import leaderboard_stats
from app.storage.records import record_export

from .data import gather, period_bounds
from .export import export_data, write_csv, write_json
from .pdf import write_pdf


def report_command(args: argparse.Namespace) -> int:
    if args.profile:  # a member's report on a kiosk needs the member's PIN
        from app.storage.commands import check_profile_pin

        check_profile_pin(args, "no report was made")
    db = open_database(args.data_dir)
    try:
        with db.read() as conn:
            data = gather(conn, workout_id=args.workout, period=args.period, profile=args.profile)
        write_pdf(data, args.pdf, paper=args.paper)
    finally:
        db.close()
    print(args.pdf)
    return 0


def export_command(args: argparse.Namespace) -> int:
    db = open_database(args.data_dir)
    try:
        with db.read() as conn:
            document = export_data(conn)
        if args.format == "json":
            if args.out is None:
                from .export import validate

                validate(document)
                json.dump(document, sys.stdout, indent=1)
                return 0
            rows = write_json(document, args.out)
        else:
            rows = write_csv(document, args.out or Path("spotter-export"))
        path = str(args.out or "spotter-export")
        db.writer.call(lambda c: record_export(c, args.format, path, rows))
        print(f"{rows} rows written to {path}", file=sys.stderr)
    finally:
        db.close()
    return 0


BOARD_TITLES = {
    "reps": "reps", "volume": "volume (kg)", "streak": "streak (days)", "form": "form-weighted reps",
}  # fmt: skip


def leaderboard_command(args: argparse.Namespace) -> int:
    today = date.today()
    if args.period == "all":
        since, until, label = "", "9999", "all time"
    else:
        start, end = period_bounds(args.period, today)
        since, until, label = start.isoformat(), end.isoformat(), f"this {args.period} (from {start})"
    db = open_database(args.data_dir)
    try:
        with db.read() as conn:
            members = leaderboard_stats(conn, since=since, until=until, today=today)
    finally:
        db.close()
    print(format_leaderboard(leaderboard(members, by=args.by), by=args.by, label=label, limit=args.limit))
    return 0


def format_leaderboard(ranked: list[tuple[int, MemberStats]], *, by: str, label: str, limit: int = 20) -> str:
    lines = [f"Leaderboard, {BOARD_TITLES[by]}, {label}"]
    if not ranked:
        return "\n".join([*lines, "  no workouts yet"])
    lines.append(
        f"  {'#':>3}  {'name':20s} {'score':>9} {'reps':>7} {'good form':>9} {'volume kg':>10} {'streak':>6}"
    )
    for rank, m in ranked[:limit]:
        score = {"reps": m.reps, "volume": m.volume_kg, "streak": m.streak, "form": m.form_weighted_reps}[by]
        good = f"{100 * m.clean_reps / m.reps:.0f} %" if m.reps else "-"
        lines.append(
            f"  {rank:>3}  {m.name[:20]:20s} {score:>9,.0f} {m.reps:>7} {good:>9} {m.volume_kg:>10,.0f} "
            f"{m.streak:>6}"
        )
    return "\n".join(lines)
