"""Session fixtures: one pose estimator for the tests that run real inference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def litert_full() -> Iterator[Any]:
    from app.engine.pose.estimators import create_estimator

    estimator = create_estimator("litert", "full", threads=2)
    yield estimator
    estimator.close()


import os  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # GUI tests never need a display

from sync_support import sync_engine, sync_postgres  # noqa: E402, F401 (session fixtures of the sync tests)
