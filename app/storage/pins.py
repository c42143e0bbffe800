"""Profile PINs, stored as salted scrypt hashes (``scrypt$n$r$p$salt$hash``, hex)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from app.errors import StorageError

N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return f"scrypt${N}${R}${P}${salt.hex()}${key.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, key_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        key = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=len(key_hex) // 2
        )
    except ValueError:
        return False
    return hmac.compare_digest(key.hex(), key_hex)


class PinLockout:
    """Wrong PINs counted per name: after ``max_tries`` in a row, no try is taken for ``wait_s``
    seconds (a kiosk's PIN pad: a four-digit PIN is not to be guessed by trying). One per process."""

    def __init__(
        self, *, max_tries: int = 5, wait_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        self.max_tries, self.wait_s, self._clock = max_tries, wait_s, clock
        self._wrong: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def check(self, name: str) -> None:
        """``StorageError`` while ``name`` is locked out."""
        with self._lock:
            tries, last = self._wrong.get(name, (0, 0.0))
            left = self.wait_s - (self._clock() - last)
        if tries >= self.max_tries and left > 0:
            raise StorageError(f"Too many wrong PINs for {name}: wait {left:.0f} s and try again.")

    def failed(self, name: str) -> None:
        with self._lock:
            tries, last = self._wrong.get(name, (0, 0.0))
            if tries >= self.max_tries and self._clock() - last >= self.wait_s:
                tries = 0  # the wait is over: a fresh count
            self._wrong[name] = (tries + 1, self._clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._wrong.pop(name, None)


def check_admin_pin(stored: str | None, pin: str, *, lockout: PinLockout | None = None) -> bool:
    """True if ``pin`` is the kiosk's admin PIN (None stored: there is none, so nobody leaves);
    counted by ``lockout`` like a member's PIN."""
    if stored is None:
        return False
    if lockout is not None:
        lockout.check("the administrator")
    ok = verify_pin(pin.strip(), stored)
    if lockout is not None:
        (lockout.succeeded if ok else lockout.failed)("the administrator")
    return ok
