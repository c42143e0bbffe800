"""Storage operations that every front end calls (the CLI, the Qt screens): profiles, PINs,
saving an analysed video, workout history.

Each takes an open ``Database`` (its caller opens and closes it) and typed values, returns typed
values, and raises ``StorageError`` (or a subclass) with a message for the person at the screen.
Asking for a PIN (a prompt, a dialog, ``$SPOTTER_PIN``) is the front end's part; whether one is
needed and whether it is right is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.engine.exercises.neighbours import NeighbourBank
from app.errors import StorageError
from app.programs.metrics import Record

from . import profiles as prof
from . import queries as q
from .db import Database
from .pins import PinLockout, verify_pin
from .profiles import ProfileRow
from .recorder import SetResult, WorkoutRecorder

if TYPE_CHECKING:
    from app.engine.offline import AnalysisResult

PIN_ENV = "SPOTTER_PIN"  # where the CLI looks for a PIN not given with --pin


class PinRequired(StorageError):  # noqa: N818 (the name the Qt screens use)
    """The profile is protected by a PIN and none was given."""


class WrongPin(StorageError):  # noqa: N818
    """The PIN given does not open the profile."""


# ------------------------------------------------------------------------------------ profiles
def list_profiles(db: Database) -> list[ProfileRow]:
    """The profiles on this device, by name (removed ones left out)."""
    with db.read() as conn:
        return prof.list_profiles(conn)


def add_profile(
    db: Database, name: str, *, kind: str = "member", pin: str | None = None, unit: str = "kg"
) -> str:
    """A new profile (``kind`` "member" or "home"; ``pin``: at least four digits); its id."""
    return db.writer.call(lambda c: prof.add_profile(c, name, kind=kind, pin=pin, unit=unit))


def remove_profile(db: Database, name: str) -> str:
    """Tombstone the profile called ``name`` (its workouts are kept); its id."""
    return db.writer.call(lambda c: prof.remove_profile(c, name))


def needs_pin(db: Database, name: str) -> bool:
    """True if the profile called ``name`` exists and is protected by a PIN."""
    with db.read() as conn:
        return prof.pin_hash_of(conn, name) is not None


def check_pin(
    db: Database,
    name: str,
    pin: str | None,
    *,
    consequence: str = "nothing was done",
    lockout: PinLockout | None = None,
) -> None:
    """Refuse to act for a PIN-protected profile without its right PIN: ``PinRequired`` when no PIN
    (None or empty) is given, ``WrongPin`` when it does not open the profile; ``consequence`` ends
    the message ("nothing was saved"). A profile without a PIN, or a name with no profile yet, passes.
    With a ``lockout`` (the app, the kiosk), wrong PINs in a row lock the profile for a while.
    """
    with db.read() as conn:
        stored = prof.pin_hash_of(conn, name)
    if stored is None:
        return
    if not pin:
        raise PinRequired(
            f"The profile {name!r} is protected by a PIN: give --pin or set {PIN_ENV} ({consequence})."
        )
    if lockout is not None:
        lockout.check(name)
    if not verify_pin(pin.strip(), stored):
        if lockout is not None:
            lockout.failed(name)
        raise WrongPin(f"Wrong PIN for the profile {name!r}; {consequence}.")
    if lockout is not None:
        lockout.succeeded(name)


def pin_matches(db: Database, name: str, pin: str) -> bool:
    """True if ``pin`` opens the profile called ``name`` (one without a PIN opens to any PIN);
    ``StorageError`` if there is no such profile (``spotter profile check``)."""
    with db.read() as conn:
        return prof.check_profile_pin(conn, name, pin)


# ------------------------------------------------------------------------ an analysed video
@dataclass(frozen=True, slots=True)
class SavedAnalysis:
    """What ``save_analysis`` stored: one set of reps, or for a timed exercise one set per hold."""

    profile: str
    workout_id: str  # for a hold exercise with no hold found: the workout, tombstoned (not kept)
    reps: int
    set_id: str | None  # the set of reps (None for holds: each is a set of its own)
    holds_s: tuple[float, ...]  # seconds held, one per hold (a hold exercise only)
    program_session: int | None  # the active program's session (0-based) this workout did
    exercise: str = ""
    hold: bool = False  # a timed exercise (plank): saved as holds, not reps
    records: tuple[Record, ...] = ()  # personal records the sets set

    @property
    def saved(self) -> bool:
        """False when nothing was kept (a hold exercise with no hold found)."""
        return not self.hold or bool(self.holds_s)

    def describe(self) -> str:
        """One line: "saved 5 reps (set ...) for Ana, session 2 of the active program"."""
        if not self.saved:
            return f"nothing saved for {self.profile}: no {self.exercise} hold was found"
        if self.hold:
            n = len(self.holds_s)
            times = ", ".join(f"{h:.1f} s" for h in self.holds_s)
            what = f"{n} {self.exercise} hold{'s' if n > 1 else ''} ({times})"
        else:
            what = f"{self.reps} reps (set {self.set_id})"
        session = self.program_session
        program = "" if session is None else f", session {session + 1} of the active program"
        return f"saved {what} for {self.profile}{program}"


def save_analysis(
    db: Database, profile: str, result: AnalysisResult, *, load: float | None = None, unit: str = "kg"
) -> SavedAnalysis:
    """Store an analysed video as one workout of ``profile`` (created if new): one set of its reps
    (a commit per rep) at ``load``, or for a timed exercise (plank) one set per hold, its time held
    as the amount. A PIN-protected profile: ``check_pin`` first, before any work."""
    recorder = WorkoutRecorder(db, profile, source="video")
    exercise, hold = result.exercise, result.analyzer.spec.kind == "hold"
    sets: list[SetResult]
    if hold:
        sets = [recorder.hold(exercise, end - start) for start, end in result.analyzer.holds]
        recorder.finish()  # a workout without a hold is not kept
    else:
        recorder.start_set(exercise, load=load, unit=unit)
        for rep in result.analyzer.reps:
            recorder.rep(rep)
        sets = [recorder.finish_set(partial_reps=len(result.analyzer.partial_reps))]
        recorder.finish()
    return SavedAnalysis(
        profile=profile,
        workout_id=recorder.workout_id,
        reps=sum(s.reps for s in sets),
        set_id=None if hold else sets[0].set_id,
        holds_s=tuple(s.hold_s for s in sets if s.hold_s is not None) if hold else (),
        program_session=recorder.program_session,
        exercise=exercise,
        hold=hold,
        records=tuple(r for s in sets for r in s.records),
    )


# ------------------------------------------------------------------------------------- history
def workout_history(
    db: Database, *, profile: str | None = None, since: str = "", until: str = "9999", limit: int = 10_000
) -> list[q.WorkoutRow]:
    """One row per workout with sets whose local day is in ``[since, until)`` (``YYYY-MM-DD``;
    ``""``/``"9999"``: open), newest first, of everyone or of the profile called ``profile``."""
    with db.read() as conn:
        pid = None if profile is None else prof.require_profile(conn, profile)
        return q.workout_history(conn, profile_id=pid, since=since, until=until, limit=limit)


def neighbour_bank(db: Database) -> NeighbourBank:
    """Every signed rep in the database with its exercise: what recognition by neighbours votes
    with (this device's history, and what it pulled from its gym)."""
    with db.read() as conn:
        return NeighbourBank.of(q.signed_reps(conn))
