"""Set up Spotter's environment: the virtual environment, pinned dependencies and model files.

Runs with a bare Python 3.11 (standard library only). Idempotent and quick when already set up:
dependencies are reinstalled only when ``requirements.lock`` or ``pyproject.toml`` change, and
model files are fetched only when missing or failing their checksum.

usage: python3 scripts/bootstrap.py [--quiet]
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".spotter-deps"


def say(msg: str) -> None:
    print(f"[setup] {msg}", file=sys.stderr, flush=True)


def deps_digest() -> str:
    h = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_venv() -> None:
    if PY.exists():
        return
    say(f"creating the virtual environment in {VENV}")
    venv.EnvBuilder(with_pip=True, clear=False).create(VENV)


def ensure_deps() -> None:
    digest = deps_digest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    say("installing pinned dependencies (first run: a few minutes)")
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "install", "--no-input"]
    subprocess.run([*pip, "--no-deps", "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
    STAMP.write_text(digest)


def ensure_models() -> None:
    subprocess.run([str(BIN / "spotter"), "models", "ensure", "--quiet"], check=True)


def main() -> int:
    if sys.version_info[:2] != (3, 11):
        say(f"Spotter needs Python 3.11; this is {sys.version.split()[0]}. Run it with python3.11.")
        return 2
    try:
        ensure_venv()
        ensure_deps()
        ensure_models()
    except subprocess.CalledProcessError as exc:
        say(f"set-up failed: {' '.join(map(str, exc.cmd))} exited with {exc.returncode}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
