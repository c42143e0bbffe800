"""``spotter program new|show|next``: the active plan of a profile, and what to do next time."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from sqlalchemy import Connection, text

from app.errors import ConfigError, StorageError
from app.storage import open_database
from app.storage import records as rec

from .catalog import Equipment
from .plans import Goal, Level, Plan, PlanRequest, Prescription, make_plan
from .progression import Decision, ProgressState, advance


def replay(rx: Prescription, sessions: list[tuple[list[int], float | None]]) -> Decision | None:
    """Run double progression over past sessions (reps per set, load) of one exercise."""
    decision: Decision | None = None
    state = ProgressState(rx)
    for reps, load in sessions:
        if state.prescription.load is None and load is not None:
            state = ProgressState(replace(state.prescription, load=load))
        decision = advance(state, reps)
        state = decision.state
    return decision


def program_command(args: argparse.Namespace) -> int:
    db = open_database(args.data_dir)
    try:
        if args.action == "new":
            plan = make_plan(_request(args))

            def create(c: Connection) -> str:
                pid = rec.profile_id_for(c, args.profile)
                c.execute(text("UPDATE programs SET active = 0 WHERE profile_id = :p"), {"p": pid})
                return rec.create_program(c, pid, plan, name=f"{plan.request.goal.value} plan")

            db.writer.call(create)
            print(_describe(plan))
            return 0
        with db.read() as conn:
            plan, created = _active(conn, args.profile)
            if args.action == "show":
                print(_describe(plan))
                return 0
            print(_next(conn, plan, created, args.profile))
        return 0
    finally:
        db.close()


def _request(args: argparse.Namespace) -> PlanRequest:
    try:
        equipment = frozenset(Equipment(e.strip()) for e in args.equipment.split(",") if e.strip())
        return PlanRequest(Goal(args.goal), Level(args.level), equipment, args.days, args.unit)
    except ValueError as exc:
        raise ConfigError(f"{exc}; equipment is any of {', '.join(e.value for e in Equipment)}.") from exc


def _active(conn: Connection, profile: str) -> tuple[Plan, str]:
    row = conn.execute(
        text(
            "SELECT g.plan_json, g.created_at FROM programs g JOIN profiles p ON p.id = g.profile_id "
            "WHERE p.name = :n AND g.active = 1 AND g.deleted_at IS NULL ORDER BY g.created_at DESC LIMIT 1"
        ),
        {"n": profile},
    ).first()
    if row is None:
        raise StorageError(f"{profile} has no program yet; create one with `spotter program new`.")
    return Plan.from_json(json.loads(row[0])), str(row[1])


def _describe(plan: Plan) -> str:
    r = plan.request
    lines = [
        f"{r.goal.value} plan, {r.level.value}, {r.days_per_week} days/week, {', '.join(sorted(r.equipment))}"
    ]
    for day in plan.days:
        lines.append(f"  {day.name}")
        for p in day.items:
            load = f" @ {p.load:g} {p.unit}" if p.load is not None else ""
            lines.append(f"    {p.exercise:18s} {p.sets} x {p.rep_lo}-{p.rep_hi}{load}, rest {p.rest_s} s")
    lines += [f"  note: {n}" for n in plan.notes]
    return "\n".join(lines)


def _next(conn: Connection, plan: Plan, created: str, profile: str) -> str:
    done = conn.execute(
        text(
            "SELECT COUNT(*) FROM workouts w JOIN profiles p ON p.id = w.profile_id "
            "WHERE p.name = :n AND w.started_at >= :c AND w.deleted_at IS NULL"
        ),
        {"n": profile, "c": created},
    ).scalar_one()
    day = plan.days[int(done) % len(plan.days)]
    lines = [f"Next: {day.name}"]
    for rx in day.items:
        sessions = _sessions(conn, profile, rx.exercise, created)
        decision = replay(rx, sessions)
        nxt = decision.state.prescription if decision else rx
        why = (
            decision.note if decision else "first session: pick a load you can lift for the top of the range"
        )
        load = f" @ {nxt.load:g} {nxt.unit}" if nxt.load is not None else ""
        lines.append(f"  {nxt.exercise:18s} {nxt.sets} x {nxt.rep_lo}-{nxt.rep_hi}{load}  ({why})")
    return "\n".join(lines)


def _sessions(
    conn: Connection, profile: str, exercise: str, since: str
) -> list[tuple[list[int], float | None]]:
    rows = conn.execute(
        text(
            "SELECT s.workout_id, s.achieved_reps, s.load FROM sets s JOIN profiles p ON p.id = s.profile_id "
            "WHERE p.name = :n AND s.exercise = :e AND s.started_at >= :c AND s.deleted_at IS NULL "
            "ORDER BY s.started_at"
        ),
        {"n": profile, "e": exercise, "c": since},
    ).all()
    by_workout: dict[str, tuple[list[int], float | None]] = {}
    for wid, reps, load in rows:
        by_workout.setdefault(wid, ([], load))[0].append(int(reps))
    return list(by_workout.values())
