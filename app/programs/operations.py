"""Program operations that every front end calls (the CLI, the Qt screens): create or store a
profile's plan, its active plan, the next session's targets and where the profile stands.

Each takes an open ``Database`` (its caller opens and closes it) and typed values and returns typed
values; errors are ``StorageError`` or ``ConfigError``. The ``Connection`` functions below them
(``plan_next``, ``program_progress``, ...) serve other reads that hold a connection already (reports).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import Connection, text

from app.errors import ConfigError, StorageError
from app.storage import records as rec
from app.storage.db import Database
from app.storage.localtime import local_day_sql
from app.storage.program_link import sessions_done

from .catalog import CATALOG, Equipment
from .metrics import week_start
from .plans import DayPlan, Plan, PlanRequest, Prescription, make_plan
from .progression import Decision, ProgressState, advance
from .sessions import session_day


# ------------------------------------------------------------------------------- operations
def parse_equipment(text: str) -> frozenset[Equipment]:
    """Comma-separated equipment ("bodyweight,dumbbells"); ``ConfigError`` names the choices."""
    try:
        return frozenset(Equipment(e.strip()) for e in text.split(",") if e.strip())
    except ValueError as exc:
        raise ConfigError(f"{exc}; equipment is any of {', '.join(e.value for e in Equipment)}.") from exc


def create_program(db: Database, profile: str, request: PlanRequest) -> Plan:
    """A plan made for ``request``, stored as the profile's active program (the old one is kept,
    inactive; a new profile name is created)."""
    plan = make_plan(request)
    save_plan(db, profile, plan)
    return plan


def save_plan(db: Database, profile: str, plan: Plan, *, name: str | None = None) -> str:
    """Store ``plan`` (made or edited) as the profile's active program, deactivating the old one;
    its id. ``name`` defaults to "<goal> plan"."""

    def store(c: Connection) -> str:
        pid = rec.profile_id_for(c, profile)
        rec.deactivate_programs(c, pid)
        return rec.create_program(c, pid, plan, name=name or f"{plan.request.goal.value} plan")

    return db.writer.call(store)


def active_plan(db: Database, profile: str) -> Plan | None:
    """The profile's active plan, or None."""
    with db.read() as conn:
        found = active_program(conn, profile)
    return None if found is None else found[0]


def require_plan(db: Database, profile: str) -> Plan:
    """The profile's active plan; ``StorageError`` ("... has no program yet; ...") without one."""
    with db.read() as conn:
        return _active(conn, profile)[0]


@dataclass(frozen=True, slots=True)
class NextSession:
    """The active plan's next session and each exercise's target in it."""

    day: DayPlan
    items: tuple[NextItem, ...]


def next_session(db: Database, profile: str) -> NextSession:
    """The next session of the profile's active program; ``StorageError`` if it has none."""
    with db.read() as conn:
        plan, created = _active(conn, profile)
        day, items = plan_next(conn, plan, created, profile)
    return NextSession(day, tuple(items))


def progress(db: Database, profile: str, *, today: date) -> ProgramProgress | None:
    """This (local) week's sessions of the profile's active program and the next one; None without one."""
    with db.read() as conn:
        return program_progress(conn, profile, today=today)


def describe_plan(plan: Plan) -> str:
    """The plan as text: its request, then each day's exercises with sets, reps, load and rest."""
    r = plan.request
    lines = [
        f"{r.goal.value} plan, {r.level.value}, {r.days_per_week} days/week, {', '.join(sorted(r.equipment))}"
    ]
    for day in plan.days:
        lines.append(f"  {day.name}")
        for p in day.items:
            load = f" @ {p.load:g} {p.unit}" if p.load is not None else ""
            secs = " s" if _is_hold(p) else ""
            lines.append(
                f"    {p.exercise:18s} {p.sets} x {p.rep_lo}-{p.rep_hi}{secs}{load}, rest {p.rest_s} s"
            )
    lines += [f"  note: {n}" for n in plan.notes]
    return "\n".join(lines)


def describe_next(session: NextSession) -> str:
    """The next session as text: its day, then each exercise's target, load and why."""
    lines = [f"Next: {session.day.name}"]
    for item in session.items:
        load = f" @ {item.load}" if item.load else ""
        lines.append(f"  {item.prescription.exercise:18s} {item.target}{load}  ({item.note})")
    return "\n".join(lines)


# ------------------------------------------------------------------ progression, connections
def replay(
    rx: Prescription, sessions: list[tuple[list[int], float | None]], *, hold: bool = False
) -> Decision | None:
    """Run double progression over past sessions (reps per set, or seconds held per set for a
    ``hold``; load) of one exercise.

    A session done at another load than prescribed restarts progression from the load lifted.
    """
    decision: Decision | None = None
    state = ProgressState(rx)
    for reps, load in sessions:
        if load is not None and load != state.prescription.load:
            state = ProgressState(replace(state.prescription, load=load))
        decision = advance(state, reps, hold=hold)
        state = decision.state
    return decision


LOAD_EQUIPMENT = frozenset({Equipment.DUMBBELLS, Equipment.BARBELL, Equipment.BANDS})


@dataclass(frozen=True, slots=True)
class NextItem:
    """One exercise of the next session: its target and why."""

    prescription: Prescription
    note: str
    hold: bool  # counted in seconds
    loaded: bool = False  # progresses by a load the plan's equipment provides

    @property
    def target(self) -> str:
        rx = self.prescription
        return f"{rx.sets} x {rx.rep_lo}-{rx.rep_hi}{' s' if self.hold else ''}"

    @property
    def load(self) -> str:
        rx = self.prescription
        return "" if rx.load is None else f"{rx.load:g} {rx.unit or ''}".strip()


def next_item(
    rx: Prescription, decision: Decision | None, *, equipment: frozenset[Equipment] = LOAD_EQUIPMENT
) -> NextItem:
    """The next target for ``rx``; a load hint only where the exercise progresses by a load that
    the plan's ``equipment`` provides (a squat at home without weights is a bodyweight squat)."""
    info = CATALOG.get(rx.exercise)
    if info is None:
        loaded, hold = rx.unit is not None, False
    else:
        loaded, hold = info.loaded and bool(info.equipment & equipment & LOAD_EQUIPMENT), info.hold
    if hold:  # progress is hold time, not reps or load
        if decision is None:
            return NextItem(rx, f"first session: hold {rx.rep_lo}-{rx.rep_hi} s per set with good form", True)
        return NextItem(decision.state.prescription, decision.note, hold=True)
    if decision is None:
        if loaded and rx.load is None:
            note = "first session: pick a load you can lift for the top of the range"
            return NextItem(rx, note, hold=False, loaded=True)
        return NextItem(rx, f"first session: aim for {rx.rep_lo}-{rx.rep_hi} reps per set", False, loaded)
    nxt = decision.state.prescription
    note = decision.note
    if loaded and nxt.load is None:
        note += "; save the load you use (--load) so it can progress"
    return NextItem(nxt, note, False, loaded)


def plan_next(conn: Connection, plan: Plan, created: str, profile: str) -> tuple[DayPlan, list[NextItem]]:
    """The plan's next session (after the sessions done, see ``app.programs.sessions``) and each
    exercise's target, progressed over the sets of the sessions done so far."""
    program_id = _program_id(conn, profile, created)
    done = 0 if program_id is None else sessions_done(conn, program_id)
    day = session_day(plan, done)
    eq = plan.request.equipment
    items = [
        next_item(rx, replay(rx, _sessions(conn, program_id, rx.exercise), hold=_is_hold(rx)), equipment=eq)
        for rx in day.items
    ]
    return day, items


def active_program(conn: Connection, profile: str) -> tuple[Plan, str] | None:
    """The profile's active plan and when it was created, or None."""
    try:
        return _active(conn, profile)
    except StorageError:
        return None


@dataclass(frozen=True, slots=True)
class ProgramProgress:
    """Where a profile stands in its active program: this week's sessions and the next targets."""

    description: str
    week_start: date
    sessions_done: int  # sessions of the program done this week (workouts linked to it)
    sessions_planned: int
    next_day: str
    items: tuple[NextItem, ...]


def program_progress(conn: Connection, profile: str, *, today: date) -> ProgramProgress | None:
    """This (local) week's sessions of the profile's active program, and the next session."""
    found = active_program(conn, profile)
    if found is None:
        return None
    plan, created = found
    monday = week_start(today)
    program_id = _program_id(conn, profile, created)
    day_sql = local_day_sql("w")
    done = conn.execute(
        text(
            "SELECT COUNT(DISTINCT w.program_session) FROM workouts w "
            f"WHERE w.program_id = :g AND w.deleted_at IS NULL AND {day_sql} >= :since AND {day_sql} < :until"
        ),
        {"g": program_id, "since": monday.isoformat(), "until": (monday + timedelta(days=7)).isoformat()},
    ).scalar_one()
    day, items = plan_next(conn, plan, created, profile)
    r = plan.request
    description = f"{r.goal.value} plan, {r.level.value}, {r.days_per_week} days a week"
    return ProgramProgress(description, monday, int(done), r.days_per_week, day.name, tuple(items))


def _active(conn: Connection, profile: str) -> tuple[Plan, str]:
    row = conn.execute(
        text(
            "SELECT g.plan_json, g.created_at FROM programs g JOIN profiles p ON p.id = g.profile_id "
            "WHERE p.name = :n AND p.deleted_at IS NULL AND g.active = 1 AND g.deleted_at IS NULL "
            "ORDER BY g.created_at DESC LIMIT 1"
        ),
        {"n": profile},
    ).first()
    if row is None:
        raise StorageError(f"{profile} has no program yet; create one with `spotter program new`.")
    return Plan.from_json(json.loads(row[0])), str(row[1])


def _program_id(conn: Connection, profile: str, created: str) -> str | None:
    row = conn.execute(
        text(
            "SELECT g.id FROM programs g JOIN profiles p ON p.id = g.profile_id WHERE p.name = :n "
            "AND p.deleted_at IS NULL AND g.active = 1 AND g.deleted_at IS NULL AND g.created_at = :c"
        ),
        {"n": profile, "c": created},
    ).first()
    return None if row is None else str(row[0])


def _is_hold(rx: Prescription) -> bool:
    info = CATALOG.get(rx.exercise)
    return info is not None and info.hold


def _sessions(
    conn: Connection, program_id: str | None, exercise: str
) -> list[tuple[list[int], float | None]]:
    """Reps per set (seconds held, for a hold) and load of ``exercise`` in each session of the
    program, in session order."""
    if program_id is None:
        return []
    rows = conn.execute(
        text(
            "SELECT w.program_session, COALESCE(CAST(s.hold_s AS INTEGER), s.achieved_reps), s.load "
            "FROM sets s JOIN workouts w ON w.id = s.workout_id "
            "WHERE w.program_id = :g AND w.program_session IS NOT NULL AND w.deleted_at IS NULL "
            "AND s.exercise = :e AND s.deleted_at IS NULL ORDER BY w.program_session, s.started_at"
        ),
        {"g": program_id, "e": exercise},
    ).all()
    by_session: dict[int, tuple[list[int], float | None]] = {}
    for session, reps, load in rows:
        by_session.setdefault(int(session), ([], load))[0].append(int(reps))
    return list(by_session.values())
