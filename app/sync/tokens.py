"""The device token: in the OS keyring; where there is none, in a file only its owner can read
(0600) next to the database, said once when it is stored there."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.errors import SyncError

log = logging.getLogger(__name__)

SERVICE = "spotter-sync"
TOKEN_FILE = "sync-token"


def store_token(data_dir: Path, account: str, token: str) -> str:
    """Keep ``token``; where it went: "keyring", or the token file's path."""
    try:
        import keyring

        keyring.set_password(SERVICE, account, token)
        if keyring.get_password(SERVICE, account) == token:
            return "keyring"
    except Exception as exc:  # any keyring backend failure (no D-Bus, locked, none at all)
        log.info("no usable keyring (%s)", exc)
    path = data_dir / TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode())
    finally:
        os.close(fd)
    return str(path)


def load_token(store: str, account: str) -> str:
    """The token kept by ``store_token`` (``store`` is what it returned)."""
    if store == "keyring":
        try:
            import keyring

            token = keyring.get_password(SERVICE, account)
        except Exception as exc:  # the keyring went away since enrolment
            raise SyncError(f"Cannot read the device token from the keyring ({exc}).") from exc
        if not token:
            raise SyncError("The device token is not in the keyring; enrol the device again.")
        return token
    try:
        return Path(store).read_text().strip()
    except OSError as exc:
        raise SyncError(f"Cannot read the device token file {store}: {exc.strerror}; enrol again.") from exc
