"""Profiles on a shared device (a gym kiosk: many members, one screen): add, list, remove, check PIN.

Writes are functions of a ``Connection`` for ``DatabaseWriter``; removal is a tombstone, so the
member's workouts stay (and sync) and the name can be reused by a new profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from app.errors import StorageError

from . import records as rec
from . import schema as s
from .pins import verify_pin

KINDS = ("home", "member")
PIN_MIN_DIGITS = 4


@dataclass(frozen=True, slots=True)
class ProfileRow:
    id: str
    name: str
    kind: str
    unit: str
    has_pin: bool
    created_at: str


def check_pin_format(pin: str) -> str:
    if not pin.isdigit() or len(pin) < PIN_MIN_DIGITS:
        raise StorageError(f"A PIN is at least {PIN_MIN_DIGITS} digits.")
    return pin


def add_profile(
    conn: Connection, name: str, *, kind: str = "member", pin: str | None = None, unit: str = "kg"
) -> str:
    name = name.strip()
    if not name:
        raise StorageError("A profile needs a name.")
    if kind not in KINDS:
        raise StorageError(f"Unknown profile kind {kind!r}; choose {' or '.join(KINDS)}.")
    if rec.find_profile(conn, name) is not None:
        raise StorageError(f"There is already a profile called {name!r}.")
    return rec.create_profile(conn, name, kind=kind, pin=check_pin_format(pin) if pin else None, unit=unit)


def list_profiles(conn: Connection) -> list[ProfileRow]:
    p = s.profiles.c
    rows = conn.execute(
        select(p.id, p.name, p.kind, p.unit, p.pin_hash, p.created_at)
        .where(p.deleted_at.is_(None))
        .order_by(p.name)
    )
    return [ProfileRow(r[0], r[1], r[2], r[3], r[4] is not None, r[5]) for r in rows]


def require_profile(conn: Connection, name: str) -> str:
    """The id of the profile called ``name``; ``StorageError`` if there is none."""
    pid = rec.find_profile(conn, name)
    if pid is None:
        raise StorageError(f"No profile called {name!r}; `spotter profile list` lists them.")
    return pid


def remove_profile(conn: Connection, name: str) -> str:
    """Tombstone the profile called ``name`` (its workouts are kept); returns its id."""
    pid = require_profile(conn, name)
    rec.soft_delete(conn, s.profiles, pid)
    return pid


def pin_hash_of(conn: Connection, name: str) -> str | None:
    """The stored PIN hash of the profile called ``name``; None if it has no PIN or does not exist."""
    row = conn.execute(
        select(s.profiles.c.pin_hash).where(s.profiles.c.name == name, s.profiles.c.deleted_at.is_(None))
    ).first()
    return None if row is None or row[0] is None else str(row[0])


def check_profile_pin(conn: Connection, name: str, pin: str) -> bool:
    """True if ``pin`` opens the profile (a profile without a PIN is open to any PIN)."""
    row = conn.execute(
        select(s.profiles.c.pin_hash).where(s.profiles.c.name == name, s.profiles.c.deleted_at.is_(None))
    ).first()
    if row is None:
        raise StorageError(f"No profile called {name!r}; `spotter profile list` lists them.")
    return row[0] is None or verify_pin(pin, str(row[0]))
