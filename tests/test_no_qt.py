"""The engine never imports Qt: import all of it in a fresh interpreter with Qt made unimportable."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import pkgutil
    import sys
    import traceback

    BLOCKED = ("PySide2", "PySide6", "PyQt4", "PyQt5", "PyQt6", "shiboken2", "shiboken6", "sip")


    class QtBlocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in BLOCKED or top.startswith(("PyQt", "PySide", "shiboken")):
                raise ImportError(f"Qt is blocked in the engine: {name}")
            return None


    sys.meta_path.insert(0, QtBlocker())
    try:
        import PySide6  # noqa: F401
    except ImportError as exc:
        assert "blocked" in str(exc), exc
    else:
        raise AssertionError("the Qt blocker does not work")

    import app.engine
    import app.errors  # noqa: F401

    failures = []
    imported = ["app.errors"]


    def onerror(name):
        failures.append((name, traceback.format_exc()))


    for info in pkgutil.walk_packages(app.engine.__path__, "app.engine.", onerror=onerror):
        try:
            importlib.import_module(info.name)
            imported.append(info.name)
        except BaseException:
            failures.append((info.name, traceback.format_exc()))

    qt = sorted(m for m in sys.modules if m.partition(".")[0].startswith(("PySide", "PyQt", "shiboken")))
    for name, tb in failures:
        sys.stderr.write(f"FAILED {name}\\n{tb}\\n")
    sys.stdout.write("\\n".join(imported) + "\\n")
    assert not qt, qt
    assert "PySide6" not in sys.modules
    sys.exit(1 if failures else 0)
    """
)


def test_engine_imports_without_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    imported = result.stdout.split()
    for module in (
        "app.errors",
        "app.engine.capture",
        "app.engine.slot",
        "app.engine.pipeline",
        "app.engine.sinks",
    ):
        assert module in imported
