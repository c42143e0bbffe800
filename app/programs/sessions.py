"""Which planned session a saved workout did: the rule, as a pure function.

A program's sessions are numbered from 0; session ``n`` follows ``plan.days[n % len(plan.days)]``.
The rule, applied when a set of ``exercise`` starts in a workout not yet linked to the program:

1. If the same local day already has a session of this program and ``exercise`` is planned in it,
   the workout is part of that session (one session may be saved as several clips or live runs).
2. Otherwise, if ``exercise`` is planned in the next session (the one after the highest done),
   the workout is that session: it is done, and ``program next`` moves on.
3. Otherwise the workout is extra training: saved, but not a session of the program.

So a workout counts as a session as soon as one of its exercises is planned for it; exercises
outside the plan (a warm-up) never make or break a session. Progression then replays, per
exercise, the sets of each session in order.
"""

from __future__ import annotations

from .plans import DayPlan, Plan


def session_day(plan: Plan, session: int) -> DayPlan:
    return plan.days[session % len(plan.days)]


def planned(plan: Plan, session: int) -> frozenset[str]:
    return frozenset(rx.exercise for rx in session_day(plan, session).items)


def match_session(
    plan: Plan, exercise: str, *, next_session: int, same_day_session: int | None
) -> int | None:
    """The session a workout doing ``exercise`` belongs to, or None (see the module docstring)."""
    if same_day_session is not None and exercise in planned(plan, same_day_session):
        return same_day_session
    if exercise in planned(plan, next_session):
        return next_session
    return None
