"""Where the database lives: ``--data-dir``, else ``SPOTTER_DATA_DIR``, else the user data folder."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DB_FILENAME = "spotter.db"
ENV_DATA_DIR = "SPOTTER_DATA_DIR"


def resolve_data_dir(explicit: Path | str | None = None) -> Path:
    """The data folder, by precedence: the explicit argument, the environment, the platform default."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("spotter", appauthor=False))
