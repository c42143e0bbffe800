"""``spotter sync``: enrol this device with a sync server, sync now, or say where things stand.

Exit status 0 only when everything was pushed and pulled (and the check passed or was deferred);
otherwise one line on stderr says what is left.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.errors import SyncError


def add_sync_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sync", help="sync this device's workouts with a Spotter sync server")
    p.add_argument(
        "action", nargs="?", choices=("now", "enrol", "status"), default="now",
        help="now (the default): one sync with progress; enrol: join a server; status: where things stand",
    )  # fmt: skip
    p.add_argument("--server", help="enrol: the server's URL, e.g. http://gym.local:8787")
    p.add_argument("--code", help="enrol: the one-time code from `spotter-sync enrol-code`")
    p.add_argument("--name", help="enrol: this device's name (default: the host name)")


def sync_command(args: argparse.Namespace) -> int:
    from app.storage.paths import resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir)
    if args.action == "enrol":
        return _enrol(args, data_dir)
    if args.action == "status":
        return _status(data_dir)
    return _sync(data_dir)


def _enrol(args: argparse.Namespace, folder: Path) -> int:
    from .run import enrol

    if not args.server or not args.code:
        raise SyncError("spotter sync enrol needs --server URL and --code CODE.")
    state = enrol(folder, args.server, args.code, name=args.name)
    print(f"enrolled {state.device_name!r} with {state.server} (gym {state.gym}, device {state.device_id})")
    if state.token_store != "keyring":
        print(
            f"spotter: no keyring on this system: the device token is kept in {state.token_store} "
            "(readable by you only)",
            file=sys.stderr,
        )
    return 0


def _status(folder: Path) -> int:
    from app.storage import open_database

    from .run import pending_rows
    from .state import load_state, state_path

    state = load_state(folder)
    if state is None:
        print("not enrolled (spotter sync enrol --server URL --code CODE)")
        return 0
    with open_database(folder, start_writer=False) as db:
        pending = pending_rows(db, state)
    token = "the OS keyring" if state.token_store == "keyring" else f"the file {state.token_store}"
    print(f"server      {state.server}")
    print(f"gym         {state.gym}")
    print(f"device      {state.device_name} ({state.device_id})")
    print(f"token in    {token}")
    print(f"state file  {state_path(folder)}")
    print(f"to push     {pending} rows")
    print(f"cursor      {state.cursor} (pushed up to local change {state.pushed_upto})")
    print(f"last sync   {state.last_sync_at or 'never'}: {state.last_result or '-'}")
    return 0


def _sync(folder: Path) -> int:
    from app.storage import open_database

    from .run import pending_rows, sync_now
    from .state import load_state

    def progress(line: str) -> None:
        print(f"sync: {line}", file=sys.stderr, flush=True)

    with open_database(folder) as db:
        try:
            report = sync_now(db, folder, progress=progress)
        except SyncError as exc:
            state = load_state(folder)
            if state is None:
                raise
            left = pending_rows(db, state)
            what = (
                f"{left} local rows are not yet on the server" if left else "every local row is on the server"
            )
            raise SyncError(f"{exc} {what}; run `spotter sync` again.") from exc
    print(report.describe())
    return 0
