"""The device's sync state: its server, device id, push watermark and pull cursor, in
``sync.json`` next to the database (written atomically: a crash leaves the old or the new)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from app.errors import SyncError

STATE_FILE = "sync.json"


class SyncState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server: str
    device_id: str
    gym: str
    device_name: str
    token_store: str = "keyring"  # "keyring" or the path of the token file
    pushed_upto: int = 0  # every local change with seq <= this is on the server
    cursor: int = 0  # every server row with server_seq <= this is here
    last_sync_at: str | None = None
    last_result: str | None = None


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def load_state(data_dir: Path) -> SyncState | None:
    """The state, or None when this device was never enrolled."""
    path = state_path(data_dir)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SyncError(f"Cannot read the sync state {path}: {exc.strerror}.") from exc
    try:
        return SyncState.model_validate_json(text)
    except ValueError as exc:
        raise SyncError(f"The sync state {path} is damaged; enrol the device again ({exc}).") from exc


def save_state(data_dir: Path, state: SyncState) -> None:
    path = state_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".sync-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(state.model_dump(mode="json"), fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SyncError(f"Cannot save the sync state {path}: {exc.strerror}.") from exc
