"""Goal-based plans: which exercises, how many sets and reps, on which days."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum

from app.errors import ConfigError

from .catalog import CATALOG, Equipment, Pattern, substitute


class Goal(StrEnum):
    STRENGTH = "strength"
    HYPERTROPHY = "hypertrophy"
    ENDURANCE = "endurance"
    GENERAL = "general"


class Level(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


@dataclass(frozen=True, slots=True)
class Prescription:
    exercise: str
    sets: int
    rep_lo: int
    rep_hi: int
    rest_s: int
    load: float | None = None  # None: bodyweight, or not chosen yet (first session picks it)
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class DayPlan:
    name: str
    items: tuple[Prescription, ...]


@dataclass(frozen=True, slots=True)
class PlanRequest:
    goal: Goal
    level: Level
    equipment: frozenset[Equipment]
    days_per_week: int
    unit: str = "kg"


@dataclass(frozen=True, slots=True)
class Plan:
    request: PlanRequest
    days: tuple[DayPlan, ...]
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        req = asdict(self.request)
        req["equipment"] = sorted(e.value for e in self.request.equipment)
        return {"request": req, "days": [asdict(d) for d in self.days], "notes": list(self.notes)}

    @staticmethod
    def from_json(data: dict[str, object]) -> Plan:
        req = dict(data["request"])  # type: ignore[call-overload]
        request = PlanRequest(
            goal=Goal(req["goal"]), level=Level(req["level"]),
            equipment=frozenset(Equipment(e) for e in req["equipment"]),
            days_per_week=int(req["days_per_week"]), unit=str(req["unit"]),
        )  # fmt: skip
        days = tuple(
            DayPlan(d["name"], tuple(Prescription(**p) for p in d["items"]))
            for d in data["days"]  # type: ignore[attr-defined]
        )
        notes = data.get("notes", [])
        return Plan(request, days, tuple(str(n) for n in notes) if isinstance(notes, list) else ())

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


# sets, lowest reps, highest reps, rest in seconds
GOAL_DOSE: dict[Goal, tuple[int, int, int, int]] = {
    Goal.STRENGTH: (5, 3, 6, 180),
    Goal.HYPERTROPHY: (3, 8, 12, 90),
    Goal.ENDURANCE: (2, 15, 20, 45),
    Goal.GENERAL: (3, 8, 15, 60),
}
LEVEL_SETS = {Level.BEGINNER: -1, Level.INTERMEDIATE: 0, Level.ADVANCED: 1}
PREFERRED: dict[Pattern, str] = {
    Pattern.SQUAT: "squat", Pattern.HINGE: "deadlift", Pattern.LUNGE: "lunge", Pattern.PUSH: "bench_press",
    Pattern.PRESS: "shoulder_press", Pattern.PULL: "pull_up", Pattern.ARMS: "biceps_curl",
    Pattern.CORE: "plank", Pattern.CONDITIONING: "jumping_jack",
}  # fmt: skip
P = Pattern
SPLITS: dict[str, tuple[tuple[str, tuple[Pattern, ...]], ...]] = {
    "full_body": (
        ("Full body A", (P.SQUAT, P.PUSH, P.PULL, P.CORE)),
        ("Full body B", (P.HINGE, P.PRESS, P.LUNGE, P.ARMS)),
    ),
    "upper_lower": (
        ("Lower", (P.SQUAT, P.HINGE, P.LUNGE, P.CORE)),
        ("Upper", (P.PUSH, P.PULL, P.PRESS, P.ARMS)),
    ),
    "push_pull_legs": (
        ("Push", (P.PUSH, P.PRESS, P.ARMS)),
        ("Pull", (P.PULL, P.ARMS, P.CORE)),
        ("Legs", (P.SQUAT, P.HINGE, P.LUNGE)),
    ),
}


def split_for(days_per_week: int) -> str:
    if not 1 <= days_per_week <= 7:
        raise ConfigError(f"Days per week must be 1 to 7, not {days_per_week}.")
    return "full_body" if days_per_week <= 3 else "upper_lower" if days_per_week == 4 else "push_pull_legs"


def make_plan(request: PlanRequest) -> Plan:
    """A week of training for the goal, level, equipment and number of days asked for."""
    sets, lo, hi, rest = GOAL_DOSE[request.goal]
    sets = max(1, sets + LEVEL_SETS[request.level])
    if request.goal is Goal.ENDURANCE or request.level is Level.BEGINNER:
        sets = min(sets, 3)
    templates = SPLITS[split_for(request.days_per_week)]
    notes: list[str] = []
    days: list[DayPlan] = []
    for day in range(request.days_per_week):
        name, patterns = templates[day % len(templates)]
        items: list[Prescription] = []
        for pattern in patterns:
            wanted = PREFERRED[pattern]
            chosen = substitute(wanted, request.equipment, avoid=frozenset(i.exercise for i in items))
            if chosen is None:
                notes.append(f"{name}: no {pattern.value} exercise for this equipment; skipped.")
                continue
            if chosen != wanted:
                notes.append(f"{name}: {chosen} replaces {wanted} (equipment).")
            info = CATALOG[chosen]
            rx = Prescription(chosen, sets, lo, hi, rest, unit=request.unit if info.loaded else None)
            if info.hold:  # holds are prescribed in seconds
                rx = replace(rx, rep_lo=20, rep_hi=60)
            items.append(rx)
        days.append(DayPlan(f"Day {day + 1}: {name}", tuple(items)))
    return Plan(request, tuple(days), tuple(dict.fromkeys(notes)))
