"""``spotter-sync``: serve the sync API, migrate its database, print device enrolment codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from .config import ServerConfig
from .db import make_engine, migrate
from .embedded import EmbeddedPostgres
from .errors import ServerError

EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spotter-sync", description="Spotter's sync server.")
    parser.add_argument(
        "--data-dir", type=Path, help="server data folder, the embedded Postgres's included "
        "(default: $SPOTTER_SYNC_DATA_DIR, else the user data folder, /var/lib/spotter-sync for root); "
        "ignored with $DATABASE_URL",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve the API (starts the embedded Postgres unless $DATABASE_URL)")
    p.add_argument(
        "--data-dir", type=Path, dest="serve_data_dir", metavar="DIR", help="as spotter-sync --data-dir"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default: 8787)")
    sub.add_parser("migrate", help="bring the database to the newest schema")
    p = sub.add_parser("enrol-code", help="print a one-time device enrolment code for a gym")
    p.add_argument("--gym", required=True, help="the gym's name (created if new)")
    p.add_argument("--hours", type=float, default=24.0, help="how long the code is valid (default: 24)")
    p = sub.add_parser("devices", help="list the enrolled devices: gym, last seen, last check")
    p.add_argument("--gym", help="only this gym's")
    p = sub.add_parser("revoke", help="revoke a device's token (it must enrol again)")
    p.add_argument("device_id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = getattr(args, "serve_data_dir", None) or args.data_dir
    config = ServerConfig.from_env(data_dir=data_dir)
    try:
        if args.command == "serve":
            return serve(config, host=args.host, port=args.port)
        with database(config) as engine:
            if args.command == "migrate":
                migrate(engine)
                print("the sync database is at the newest schema", file=sys.stderr)
                return 0
            if args.command == "devices":
                return list_devices(engine, gym=args.gym)
            if args.command == "revoke":
                return revoke(engine, args.device_id)
            return enrol_code(engine, args.gym, hours=args.hours)
    except ServerError as exc:
        if os.environ.get("SPOTTER_DEBUG"):
            raise
        print(f"spotter-sync: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def serve(config: ServerConfig, *, host: str, port: int) -> int:
    import uvicorn

    from .api import create_app
    from .observe import configure_json_logging

    configure_json_logging()
    with _serving(config):
        app = create_app(config.model_copy(update={"host": host, "port": port}))
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=10
        )
    return 0


@contextmanager
def _serving(config: ServerConfig) -> Iterator[None]:
    """One ``serve`` per data folder: a second is refused while the first runs (the lock goes with
    its process, so one killed with SIGKILL leaves nothing to clean up; its Postgres is taken over)."""
    if config.database_url is not None:
        yield
        return
    import fcntl

    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = config.data_dir / "serve.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise ServerError(
                f"Another spotter-sync serve (pid {fh.read().strip() or '?'}) uses {config.data_dir}."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield


@contextmanager
def database(config: ServerConfig) -> Iterator[Engine]:
    """An engine on the configured database; an embedded Postgres started here is stopped after
    (one that a running server owns is left running)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    embedded = None
    url = config.database_url
    if url is None:
        embedded = EmbeddedPostgres(config.postgres_dir)
        url = embedded.start()
    engine = make_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()
        if embedded is not None and not embedded.took_over:
            embedded.stop()


def enrol_code(engine: Engine, gym: str, *, hours: float) -> int:
    from datetime import timedelta

    from .service import create_enrol_code

    migrate(engine)
    with engine.begin() as conn:
        code = create_enrol_code(conn, gym, ttl=timedelta(hours=hours))
    print(code)
    print(f"one device of {gym!r} may enrol with it within {hours:g} hours", file=sys.stderr)
    return 0


def list_devices(engine: Engine, *, gym: str | None) -> int:
    from .service import devices

    migrate(engine)
    with engine.connect() as conn:
        rows = devices(conn, gym=gym)
    for d in rows:
        seen = d.last_seen_at.isoformat(timespec="seconds") if d.last_seen_at else "never"
        state = "revoked" if d.revoked_at else (d.last_check or "not checked")
        print(f"{d.id}  {d.gym:16s} {d.name:20s} {d.platform:8s} seen {seen}  {state}")
    if not rows:
        print("no devices", file=sys.stderr)
    return 0


def revoke(engine: Engine, device_id: str) -> int:
    from .service import revoke_device

    migrate(engine)
    with engine.begin() as conn:
        if not revoke_device(conn, device_id):
            raise ServerError(f"No device {device_id!r} (spotter-sync devices lists them).")
    print(f"device {device_id} revoked: its token no longer works", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
