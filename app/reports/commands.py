"""``spotter report``, ``spotter export`` and ``spotter leaderboard``: thin shells over
``app.reports.operations``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.storage import open_database
from app.storage.commands import ask_pin

from . import operations as ops


def report_command(args: argparse.Namespace) -> int:
    with open_database(args.data_dir) as db:
        # a member's report on a kiosk needs the member's PIN (the rule: ops.report_data)
        pin = ask_pin(db, args.profile, args.pin, ops.NO_REPORT) if args.profile else None
        ops.write_report(
            db, args.pdf, workout_id=args.workout, period=args.period, profile=args.profile,
            paper=args.paper, pin=pin,
        )  # fmt: skip
    print(args.pdf)
    return 0


def export_command(args: argparse.Namespace) -> int:
    with open_database(args.data_dir) as db:
        if args.format == "json" and args.out is None:
            json.dump(ops.export_document(db), sys.stdout, indent=1)
            return 0
        out = args.out or Path("spotter-export")
        rows = ops.export_files(db, args.format, out)
    print(f"{rows} rows written to {out}", file=sys.stderr)
    return 0


def leaderboard_command(args: argparse.Namespace) -> int:
    with open_database(args.data_dir) as db:
        board = ops.leaderboard_board(db, period=args.period, by=args.by)
    print(ops.format_leaderboard(board, limit=args.limit))
    return 0
