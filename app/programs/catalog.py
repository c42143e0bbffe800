"""What each exercise Spotter can count needs and trains, for planning and substitutions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Equipment(StrEnum):
    BODYWEIGHT = "bodyweight"
    DUMBBELLS = "dumbbells"
    BARBELL = "barbell"
    BANDS = "bands"
    PULL_UP_BAR = "pull_up_bar"


class Pattern(StrEnum):
    SQUAT = "squat"
    HINGE = "hinge"
    LUNGE = "lunge"
    PUSH = "push"  # horizontal press
    PRESS = "press"  # vertical press
    PULL = "pull"
    ARMS = "arms"
    CORE = "core"
    CONDITIONING = "conditioning"


@dataclass(frozen=True, slots=True)
class ExerciseInfo:
    id: str  # the engine's exercise spec id
    pattern: Pattern
    equipment: frozenset[Equipment]  # any one of these is enough
    loaded: bool  # progresses by load (else by reps)
    hold: bool = False  # counted in seconds, not reps


def _info(
    ex_id: str, pattern: Pattern, *equipment: Equipment, loaded: bool, hold: bool = False
) -> ExerciseInfo:
    return ExerciseInfo(ex_id, pattern, frozenset(equipment), loaded, hold)


E, P = Equipment, Pattern
CATALOG: dict[str, ExerciseInfo] = {
    i.id: i
    for i in (
        _info("squat", P.SQUAT, E.BODYWEIGHT, E.DUMBBELLS, E.BARBELL, loaded=True),
        _info("deadlift", P.HINGE, E.BARBELL, E.DUMBBELLS, loaded=True),
        _info("lunge", P.LUNGE, E.BODYWEIGHT, E.DUMBBELLS, loaded=True),
        _info("side_lunge", P.LUNGE, E.BODYWEIGHT, E.DUMBBELLS, loaded=True),
        _info("bench_press", P.PUSH, E.BARBELL, E.DUMBBELLS, loaded=True),
        _info("push_up", P.PUSH, E.BODYWEIGHT, loaded=False),
        _info("shoulder_press", P.PRESS, E.DUMBBELLS, E.BARBELL, E.BANDS, loaded=True),
        _info("front_raise", P.PRESS, E.DUMBBELLS, E.BANDS, loaded=True),
        _info("pull_up", P.PULL, E.PULL_UP_BAR, loaded=False),
        _info("shrug", P.PULL, E.DUMBBELLS, E.BARBELL, loaded=True),
        _info("biceps_curl", P.ARMS, E.DUMBBELLS, E.BARBELL, E.BANDS, loaded=True),
        _info("triceps_pushdown", P.ARMS, E.BANDS, loaded=True),
        _info("sit_up", P.CORE, E.BODYWEIGHT, loaded=False),
        _info("plank", P.CORE, E.BODYWEIGHT, loaded=False, hold=True),
        _info("jumping_jack", P.CONDITIONING, E.BODYWEIGHT, loaded=False),
    )
}


def available(ex_id: str, equipment: frozenset[Equipment]) -> bool:
    info = CATALOG[ex_id]
    return bool(info.equipment & (equipment | {Equipment.BODYWEIGHT}))


def substitute(
    ex_id: str, equipment: frozenset[Equipment], *, avoid: frozenset[str] = frozenset()
) -> str | None:
    """``ex_id`` if the equipment allows it, else the first same-pattern exercise that fits (or None)."""
    if ex_id not in avoid and available(ex_id, equipment):
        return ex_id
    pattern = CATALOG[ex_id].pattern
    for other in CATALOG.values():
        if other.pattern is pattern and other.id not in avoid and available(other.id, equipment):
            return other.id
    return None
