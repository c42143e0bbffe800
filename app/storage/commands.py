"""``spotter db``, ``spotter profile`` and the PIN of ``--profile``: thin shells over the storage
package (its rules are in ``app.storage.operations``)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sqlite3
import sys
from contextlib import closing

from app.errors import StorageError

from . import operations as ops
from .db import Database, open_database


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
    with open_database(args.data_dir) as db:
        pin = ask_pin(db, args.profile, getattr(args, "pin", None), consequence)
        ops.check_pin(db, args.profile, pin, consequence=consequence)


def ask_pin(db: Database, profile: str, given: str | None, consequence: str) -> str | None:
    """The PIN to try for ``profile``: ``given`` (``--pin``), else ``$SPOTTER_PIN``, else asked with
    getpass when stdin is a terminal; None when the profile has no PIN or none could be had
    (``check_pin`` then refuses, saying how to give one)."""
    if not ops.needs_pin(db, profile):
        return None
    pin = given or os.environ.get(ops.PIN_ENV)
    if pin or not sys.stdin.isatty():
        return pin
    try:
        pin = getpass.getpass(f"PIN for {profile}: ")
    except EOFError:
        pin = ""
    if not pin:
        raise StorageError(f"No PIN was entered for {profile!r}; {consequence}.")
    return pin


def profile_command(args: argparse.Namespace) -> int:
    """``spotter profile add|list|remove|check``; ``check`` exits 0 for a right PIN, 2 otherwise."""
    if args.action != "list" and not args.name:
        raise StorageError(f"`spotter profile {args.action}` needs a profile NAME.")
    with open_database(args.data_dir) as db:
        if args.action == "list":
            for p in ops.list_profiles(db):
                lock = "PIN" if p.has_pin else "-"
                print(f"{p.name:24s} {p.kind:7s} {p.unit:3s} {lock:4s} since {p.created_at[:10]}")
            return 0
        if args.action == "add":
            pin = _read_pin(args, confirm=True) if args.pin or args.pin_stdin else None
            ops.add_profile(db, args.name, kind=args.kind, pin=pin, unit=args.unit)
            print(f"added {args.name}" + (" (PIN set)" if pin else ""), file=sys.stderr)
            return 0
        if args.action == "remove":
            ops.remove_profile(db, args.name)
            print(f"removed {args.name} (their workouts are kept)", file=sys.stderr)
            return 0
        ok = ops.pin_matches(db, args.name, _read_pin(args, confirm=False))
        print("PIN accepted" if ok else "wrong PIN", file=sys.stderr)
        return 0 if ok else 2


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
