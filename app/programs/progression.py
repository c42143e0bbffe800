"""Double progression: add reps within the range, then add load; deload after repeated stalls.

A hold (plank) runs the same rules on seconds held per set: at the top of the range everywhere the
range moves up by ``HOLD_STEP_S``; after repeated stalls it moves down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from .plans import Prescription

INCREMENTS = {"kg": 2.5, "lb": 5.0}
STALL_LIMIT = 3
REP_STEP = 2  # a bodyweight range moves by this many reps
HOLD_STEP_S = 5  # a hold's range moves by this many seconds
DELOAD_FACTOR = 0.9


class Action(StrEnum):
    ADD_LOAD = "add_load"  # every set reached the top of the range
    ADD_REPS = "add_reps"  # more total reps than the best so far at this load: keep going
    STALLED = "stalled"  # no better than before
    DELOAD = "deload"  # stalled STALL_LIMIT times in a row: lighter, build back up
    RAISE_RANGE = "raise_range"  # bodyweight: top of the range everywhere, so aim higher


@dataclass(frozen=True, slots=True)
class ProgressState:
    prescription: Prescription
    stalls: int = 0
    best_total: int = 0  # most total reps so far at the current load


@dataclass(frozen=True, slots=True)
class Decision:
    state: ProgressState
    action: Action
    note: str


def increment(unit: str | None) -> float:
    return INCREMENTS.get(unit or "kg", 2.5)


def round_down(load: float, step: float) -> float:
    return round(math.floor(load / step + 1e-9) * step, 3)


def advance(
    state: ProgressState, reps: list[int], *, stall_limit: int = STALL_LIMIT, hold: bool = False
) -> Decision:
    """The next session's prescription after a session whose sets achieved ``reps`` (seconds held
    per set when ``hold``)."""
    rx = state.prescription
    total = sum(reps)
    step_range, what = (HOLD_STEP_S, "s held") if hold else (REP_STEP, "reps")
    if len(reps) >= rx.sets and all(r >= rx.rep_hi for r in reps[: rx.sets]):
        if rx.load is None:
            nxt = replace(rx, rep_lo=rx.rep_lo + step_range, rep_hi=rx.rep_hi + step_range)
            return Decision(
                ProgressState(nxt), Action.RAISE_RANGE, f"aim for {nxt.rep_lo}-{nxt.rep_hi} {what}"
            )
        step = increment(rx.unit)
        nxt = replace(rx, load=round(rx.load + step, 3))
        return Decision(
            ProgressState(nxt), Action.ADD_LOAD, f"add {step:g} {rx.unit}: {nxt.load:g} {rx.unit}"
        )
    if total > state.best_total:
        more = "hold a little longer" if hold else "add a rep where you can"
        return Decision(replace(state, stalls=0, best_total=total), Action.ADD_REPS, more)
    stalls = state.stalls + 1
    if stalls < stall_limit:
        return Decision(replace(state, stalls=stalls), Action.STALLED, f"stalled {stalls}x; same target")
    if rx.load is None:
        lo, hi = max(1, rx.rep_lo - step_range), max(2, rx.rep_hi - step_range)
        nxt = replace(rx, rep_lo=lo, rep_hi=hi)
        return Decision(ProgressState(nxt), Action.DELOAD, f"deload: aim for {lo}-{hi} {what}")
    step = increment(rx.unit)
    lighter = max(step, round_down(rx.load * DELOAD_FACTOR, step))
    nxt = replace(rx, load=lighter)
    return Decision(ProgressState(nxt), Action.DELOAD, f"deload to {lighter:g} {rx.unit} and build back up")
