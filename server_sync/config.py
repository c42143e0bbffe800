"""The server's settings: ``DATABASE_URL`` names any Postgres; without it, the embedded one in
``<data dir>/postgres``. Other settings come from ``SPOTTER_SYNC_*`` variables or the command line."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field

DATA_DIR_ENV = "SPOTTER_SYNC_DATA_DIR"


def default_data_dir() -> Path:
    """The user's data folder; for root, /var/lib/spotter-sync (Postgres then runs as an
    unprivileged user, who cannot reach into /root)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/spotter-sync")
    return Path(user_data_dir("spotter-sync", appauthor=False))


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = None  # None: the embedded Postgres in data_dir
    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8787
    rate_per_s: float = 20.0  # requests a second per device token (or address), on average
    rate_burst: float = 60.0
    pull_limit: int = 5000

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @classmethod
    def from_env(cls, **overrides: object) -> ServerConfig:
        values: dict[str, object] = {}
        if os.environ.get("DATABASE_URL"):
            values["database_url"] = os.environ["DATABASE_URL"]
        if os.environ.get(DATA_DIR_ENV):
            values["data_dir"] = Path(os.environ[DATA_DIR_ENV]).expanduser()
        for name in ("rate_per_s", "rate_burst"):
            env = os.environ.get(f"SPOTTER_SYNC_{name.upper()}")
            if env:
                values[name] = float(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
