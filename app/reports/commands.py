"""``spotter report`` and ``spotter export``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.storage import open_database
from app.storage.records import record_export

from .data import gather
from .export import export_data, write_csv, write_json
from .pdf import write_pdf


def report_command(args: argparse.Namespace) -> int:
    db = open_database(args.data_dir)
    try:
        with db.read() as conn:
            data = gather(conn, workout_id=args.workout, period=args.period)
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
