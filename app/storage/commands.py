"""``spotter db`` and ``spotter analyze --save``: thin shells over the storage package."""

from __future__ import annotations

import argparse
import json
import sqlite3
from contextlib import closing

from app.errors import StorageError

from .db import open_database
from .recorder import SetResult, WorkoutRecorder


def db_command(args: argparse.Namespace) -> int:
    import sqlite_utils

    db = open_database(args.data_dir)
    try:
        if args.action == "path":
            print(db.path)
            return 0
        with closing(sqlite3.connect(f"{db.path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            sdb = sqlite_utils.Database(conn)
            if args.action == "tables":
                for name in sdb.table_names():
                    print(f"{name:22s} {sdb.table(name).count:>9d}")
                return 0
            if not args.table or args.table not in sdb.table_names():
                raise StorageError(f"No table {args.table!r}; `spotter db tables` lists them.")
            rows = sdb.table(args.table).rows
            if args.json:
                print(json.dumps(list(rows), indent=1))
            else:
                for row in rows:
                    print("\t".join("" if v is None else str(v) for v in row.values()))
        return 0
    finally:
        db.close()


def save_analysis(args: argparse.Namespace, result: object) -> SetResult:
    """Store an ``AnalysisResult`` as one workout with one set, a commit per rep."""
    from app.engine.offline import AnalysisResult

    assert isinstance(result, AnalysisResult)
    db = open_database(args.data_dir)
    try:
        recorder = WorkoutRecorder(db, args.profile, source="video")
        recorder.start_set(result.exercise, load=args.load, unit=args.unit)
        for rep in result.analyzer.reps:
            recorder.rep(rep)
        saved = recorder.finish_set(partial_reps=len(result.analyzer.partial_reps))
        recorder.finish()
        return saved
    finally:
        db.close()
