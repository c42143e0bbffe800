"""``spotter db`` and ``spotter analyze --save``: thin shells over the storage package."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sqlite3
import sys
from contextlib import closing

from app.errors import StorageError

from . import profiles as prof
from .db import open_database
from .pins import verify_pin
from .recorder import WorkoutRecorder

PIN_ENV = "SPOTTER_PIN"


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


def check_save_pin(args: argparse.Namespace) -> None:
    """Before ``--save`` for a PIN-protected ``--profile``: the PIN must be given and right.

    From ``--pin``, else ``$SPOTTER_PIN``, else asked with getpass when stdin is a terminal;
    otherwise (a script, a pipe) a ``StorageError``. A wrong PIN is a ``StorageError`` too. Run it
    before any work, so a refusal saves nothing. A profile without a PIN (or a new one) needs none.
    """
    check_profile_pin(args, "nothing was saved")


def check_profile_pin(args: argparse.Namespace, consequence: str) -> None:
    """``check_save_pin`` for any command acting for ``args.profile``; ``consequence`` ends the refusal."""
    db = open_database(args.data_dir)
    try:
        with db.read() as conn:
            stored = prof.pin_hash_of(conn, args.profile)
    finally:
        db.close()
    if stored is None:
        return
    pin = getattr(args, "pin", None) or os.environ.get(PIN_ENV)
    if not pin:
        if not sys.stdin.isatty():
            raise StorageError(
                f"The profile {args.profile!r} is protected by a PIN: give --pin or set {PIN_ENV} "
                f"({consequence})."
            )
        try:
            pin = getpass.getpass(f"PIN for {args.profile}: ")
        except EOFError:
            raise StorageError(f"No PIN was entered for {args.profile!r}; {consequence}.") from None
    if not verify_pin(pin.strip(), stored):
        raise StorageError(f"Wrong PIN for the profile {args.profile!r}; {consequence}.")


def save_analysis(args: argparse.Namespace, result: object) -> str:
    """Store an ``AnalysisResult`` as one workout: one set of reps (a commit per rep), or for a
    timed exercise (plank) one set per hold, its time held as the amount. Returns what was saved."""
    from app.engine.offline import AnalysisResult

    assert isinstance(result, AnalysisResult)
    db = open_database(args.data_dir)
    try:
        recorder = WorkoutRecorder(db, args.profile, source="video")
        if result.analyzer.spec.kind == "hold":
            held = [recorder.hold(result.exercise, end - start) for start, end in result.analyzer.holds]
            recorder.finish()  # a workout without a hold is not kept
            if not held:
                return f"nothing saved for {args.profile}: no {result.exercise} hold was found"
            times = ", ".join(f"{h.hold_s:.1f} s" for h in held if h.hold_s is not None)
            what = f"{len(held)} {result.exercise} hold{'s' if len(held) > 1 else ''} ({times})"
        else:
            recorder.start_set(result.exercise, load=args.load, unit=args.unit)
            for rep in result.analyzer.reps:
                recorder.rep(rep)
            saved = recorder.finish_set(partial_reps=len(result.analyzer.partial_reps))
            recorder.finish()
            what = f"{saved.reps} reps (set {saved.set_id})"
        session = recorder.program_session
        program = "" if session is None else f", session {session + 1} of the active program"
        return f"saved {what} for {args.profile}{program}"
    finally:
        db.close()


def profile_command(args: argparse.Namespace) -> int:
    """``spotter profile add|list|remove|check``; ``check`` exits 0 for a right PIN, 2 otherwise."""
    if args.action != "list" and not args.name:
        raise StorageError(f"`spotter profile {args.action}` needs a profile NAME.")
    db = open_database(args.data_dir)
    try:
        if args.action == "list":
            with db.read() as conn:
                for p in prof.list_profiles(conn):
                    lock = "PIN" if p.has_pin else "-"
                    print(f"{p.name:24s} {p.kind:7s} {p.unit:3s} {lock:4s} since {p.created_at[:10]}")
            return 0
        if args.action == "add":
            pin = _read_pin(args, confirm=True) if args.pin or args.pin_stdin else None
            db.writer.call(lambda c: prof.add_profile(c, args.name, kind=args.kind, pin=pin, unit=args.unit))
            print(f"added {args.name}" + (" (PIN set)" if pin else ""), file=sys.stderr)
            return 0
        if args.action == "remove":
            db.writer.call(lambda c: prof.remove_profile(c, args.name))
            print(f"removed {args.name} (their workouts are kept)", file=sys.stderr)
            return 0
        with db.read() as conn:
            ok = prof.check_profile_pin(conn, args.name, _read_pin(args, confirm=False))
        print("PIN accepted" if ok else "wrong PIN", file=sys.stderr)
        return 0 if ok else 2
    finally:
        db.close()


def _read_pin(args: argparse.Namespace, *, confirm: bool) -> str:
    if args.pin_stdin:
        return sys.stdin.readline().strip()
    try:
        pin = getpass.getpass("PIN: ")
        if confirm and getpass.getpass("PIN again: ") != pin:
            raise StorageError("The two PINs differ; nothing was changed.")
    except EOFError:
        raise StorageError("No PIN was entered (use --pin-stdin to pipe one in).") from None
    return pin.strip()
