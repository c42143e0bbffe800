"""History metrics: streaks, weekly volume, personal records, form quality, a kiosk leaderboard."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

LB_TO_KG = 0.45359237
MAX_E1RM_REPS = 12  # estimates from longer sets are too loose to call a record
FAULTY_REP_WEIGHT = 0.5  # a rep with a form fault counts half on the form-weighted board


@dataclass(frozen=True, slots=True)
class SetSummary:
    exercise: str
    day: date
    reps: int
    clean_reps: int = 0
    load: float | None = None
    unit: str | None = None
    hold_s: float | None = None  # seconds held, for a time-based exercise (plank)

    @property
    def load_kg(self) -> float:
        if self.load is None:
            return 0.0
        return self.load * LB_TO_KG if self.unit == "lb" else self.load

    @property
    def volume_kg(self) -> float:
        return self.reps * self.load_kg


@dataclass(frozen=True, slots=True)
class Streak:
    current: int  # consecutive training days ending today (or yesterday: today is not over)
    longest: int


def streak(days: Iterable[date], *, today: date) -> Streak:
    ordered = sorted(set(days))
    longest = run = 0
    prev: date | None = None
    for d in ordered:
        run = run + 1 if prev is not None and d - prev == timedelta(days=1) else 1
        longest = max(longest, run)
        prev = d
    current = run if prev is not None and (today - prev).days <= 1 else 0
    return Streak(current, longest)


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True, slots=True)
class WeekVolume:
    week: date  # the Monday
    reps: int
    volume_kg: float


def weekly_volume(sets: Iterable[SetSummary]) -> list[WeekVolume]:
    reps: dict[date, int] = defaultdict(int)
    volume: dict[date, float] = defaultdict(float)
    for s in sets:
        w = week_start(s.day)
        reps[w] += s.reps
        volume[w] += s.volume_kg
    return [WeekVolume(w, reps[w], round(volume[w], 3)) for w in sorted(reps)]


def e1rm_epley(load: float, reps: int) -> float:
    """Epley: ``load * (1 + reps / 30)``; one rep is the load itself."""
    return load if reps == 1 else load * (1 + reps / 30)


def e1rm_brzycki(load: float, reps: int) -> float:
    """Brzycki: ``load * 36 / (37 - reps)``; undefined from 37 reps."""
    if reps >= 37:
        raise ValueError("Brzycki's formula needs fewer than 37 reps")
    return load * 36 / (37 - reps)


@dataclass(frozen=True, slots=True)
class Record:
    exercise: str
    kind: str  # "max_reps" | "max_load" | "e1rm_epley" | "e1rm_brzycki" | "max_hold"
    value: float
    unit: str | None  # "s" for max_hold
    day: date


def set_records(s: SetSummary) -> list[Record]:
    """The record candidates one set offers (a hold offers only its time)."""
    if s.hold_s is not None:
        return [Record(s.exercise, "max_hold", round(s.hold_s, 1), "s", s.day)]
    out = [Record(s.exercise, "max_reps", float(s.reps), None, s.day)]
    if s.load is not None and s.reps > 0:
        out.append(Record(s.exercise, "max_load", s.load, s.unit, s.day))
        if s.reps <= MAX_E1RM_REPS:
            out.append(Record(s.exercise, "e1rm_epley", round(e1rm_epley(s.load, s.reps), 2), s.unit, s.day))
            out.append(
                Record(s.exercise, "e1rm_brzycki", round(e1rm_brzycki(s.load, s.reps), 2), s.unit, s.day)
            )
    return out


def personal_records(sets: Iterable[SetSummary]) -> dict[tuple[str, str], Record]:
    """The best of each (exercise, kind); the earliest set wins a tie."""
    best: dict[tuple[str, str], Record] = {}
    for s in sorted(sets, key=lambda x: x.day):
        for r in set_records(s):
            key = (r.exercise, r.kind)
            if key not in best or r.value > best[key].value:
                best[key] = r
    return best


def new_records(previous: dict[tuple[str, str], float], s: SetSummary) -> list[Record]:
    """Records ``s`` beats, given the best values so far."""
    return [r for r in set_records(s) if r.value > previous.get((r.exercise, r.kind), 0.0) and r.value > 0]


def form_score(reps: int, clean_reps: int) -> float | None:
    return None if reps <= 0 else clean_reps / reps


def form_over_time(sets: Iterable[SetSummary]) -> dict[str, list[tuple[date, float]]]:
    """Per exercise, per day: the share of reps without a form fault."""
    reps: dict[tuple[str, date], int] = defaultdict(int)
    clean: dict[tuple[str, date], int] = defaultdict(int)
    for s in sets:
        reps[s.exercise, s.day] += s.reps
        clean[s.exercise, s.day] += s.clean_reps
    out: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for ex, d in sorted(reps):
        if reps[ex, d]:
            out[ex].append((d, round(clean[ex, d] / reps[ex, d], 4)))
    return dict(out)


@dataclass(frozen=True, slots=True)
class MemberStats:
    name: str
    reps: int
    clean_reps: int
    volume_kg: float
    streak: int

    @property
    def form_weighted_reps(self) -> float:
        return self.clean_reps + FAULTY_REP_WEIGHT * (self.reps - self.clean_reps)


BOARDS = ("reps", "volume", "streak", "form")
_SCORES: dict[str, Callable[[MemberStats], float]] = {
    "reps": lambda m: float(m.reps), "volume": lambda m: m.volume_kg,
    "streak": lambda m: float(m.streak), "form": lambda m: m.form_weighted_reps,
}  # fmt: skip


def board_score(m: MemberStats, by: str) -> float:
    """The member's score on the board ``by`` (one of ``BOARDS``)."""
    return _score(by)(m)


def _score(by: str) -> Callable[[MemberStats], float]:
    if by not in _SCORES:
        raise ValueError(f"unknown board {by!r}; choose from {', '.join(BOARDS)}")
    return _SCORES[by]


def leaderboard(members: Iterable[MemberStats], *, by: str = "reps") -> list[tuple[int, MemberStats]]:
    """Members ranked by one board; equal scores share a rank (1, 1, 3); names break display ties."""
    key = _score(by)
    ordered = sorted(members, key=lambda m: (-key(m), m.name))
    ranked: list[tuple[int, MemberStats]] = []
    for i, m in enumerate(ordered):
        rank = ranked[-1][0] if ranked and key(ranked[-1][1]) == key(m) else i + 1
        ranked.append((rank, m))
    return ranked
