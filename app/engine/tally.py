"""The running tally of a live workout: exercises, sets and reps as the events report them.

Pure (events in, a structure out), shared by the app's screens and its unattended summary. Its set
boundaries are the recorder's (``app.storage.live.RecordingSink``): a set opens on ``SetStarted`` or
its first rep, closes on ``SetFinished``, a "next set" command (spoken or pressed: a ``VoiceCommand``,
read by its ``intent`` so the engine needs no import of the voice package) or the end of the stream; a
hold of a timed exercise is a set of its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.engine.events import (
    EngineFailed,
    Event,
    HoldEnded,
    PartialRep,
    RepCounted,
    RepDetail,
    SetFinished,
    SetStarted,
    StreamEnded,
    rep_to_json,
)


@dataclass(slots=True)
class SetTally:
    exercise: str
    start_t: float
    reps: list[RepDetail] = field(default_factory=list)
    partial_reps: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    end_t: float | None = None
    hold_s: float | None = None  # seconds held: a set of a timed exercise

    @property
    def open(self) -> bool:
        return self.end_t is None

    def mean(self, name: str) -> float | None:
        """The mean of one rep field (``eccentric_s``, ``rom_deg``...) over the reps that have it."""
        values = [v for r in self.reps if (v := getattr(r, name)) is not None]
        return sum(values) / len(values) if values else None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "reps": len(self.reps),
            "partial_reps": self.partial_reps,
            "reps_detail": [rep_to_json(r) for r in self.reps],
        }
        if self.hold_s is not None:
            out["hold_s"] = round(self.hold_s, 2)
        return out


class SessionTally:
    """Feed it every event of a workout (any order the pipeline emits); read sets and totals."""

    def __init__(self) -> None:
        self.sets: list[SetTally] = []
        self.last_t = 0.0
        self.first_t: float | None = None
        self.ended = False

    @property
    def current(self) -> SetTally | None:
        """The open set, if any."""
        return self.sets[-1] if self.sets and self.sets[-1].open else None

    @property
    def total_reps(self) -> int:
        return sum(len(s.reps) for s in self.sets)

    @property
    def exercises(self) -> list[str]:
        """Exercises in the order they were first done."""
        return list(dict.fromkeys(s.exercise for s in self.sets))

    def close_set(self, t: float) -> SetTally | None:
        """Close the open set (a "next set" from the person); returns it."""
        current = self.current
        if current is not None:
            current.end_t = t
        return current

    def feed(self, event: Event) -> None:
        if self.first_t is None:
            self.first_t = event.t
        self.last_t = max(self.last_t, event.t)
        if isinstance(event, SetStarted):
            self._open(event.exercise, event.t)
        elif isinstance(event, RepCounted):
            current = self._open(event.exercise, event.rep.start_s)
            current.reps.append(event.rep)
            current.faults.update(event.rep.faults)  # a rep's faults, once each (FormFault repeats them)
        elif isinstance(event, PartialRep):
            if self.current is not None:
                self.current.partial_reps += 1
        elif isinstance(event, SetFinished):
            finishing = self.current
            if finishing is not None:
                finishing.partial_reps = event.partial_reps
                finishing.end_t = event.end_s
        elif isinstance(event, HoldEnded):
            self.close_set(event.start_s)
            held = SetTally(event.exercise, event.start_s, end_t=event.end_s)
            held.hold_s = event.end_s - event.start_s
            self.sets.append(held)
        elif getattr(event, "intent", None) == "next_set":  # a "next set" command (app.voice.control)
            self.close_set(event.t)  # as the recorder does: the reps after it are a new set
        elif isinstance(event, StreamEnded | EngineFailed):
            self.close_set(event.t)
            self.ended = True

    def sets_since(self, index: int, exercise: str | None = None) -> int:
        """Sets from ``index`` on (of ``exercise``, when given), holds included."""
        return sum(1 for s in self.sets[index:] if exercise is None or s.exercise == exercise)

    def _open(self, exercise: str, t: float) -> SetTally:
        current = self.current
        if current is not None and current.exercise == exercise:
            return current
        if current is not None:
            current.end_t = t
        new = SetTally(exercise, t)
        self.sets.append(new)
        return new

    def to_json(self, *, profile: str | None, duration_s: float) -> dict[str, object]:
        """``{"profile", "exercises": [{"exercise", "sets": [...]}], "total_reps", "duration_s"}``."""
        exercises = [
            {"exercise": name, "sets": [s.to_json() for s in self.sets if s.exercise == name]}
            for name in self.exercises
        ]
        return {
            "profile": profile,
            "exercises": exercises,
            "total_reps": self.total_reps,
            "duration_s": round(duration_s, 2),
        }
