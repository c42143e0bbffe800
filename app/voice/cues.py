"""The cue engine: what the coach says, and when. Pure: engine events and times in, lines out.

Rules: rep counts (every rep, the last three of a target, or none); form cues by severity, at most
one every few reps, never the same cue twice in a row, and not again within a cooldown; set start and
end; a rest countdown; sparse encouragement. One line at a time: while a line plays nothing else
starts, except a safety cue (severity 3), which interrupts. Stale lines expire instead of queueing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from app.engine.events import (
    Event,
    ExerciseRecognized,
    FormFault,
    HoldEnded,
    HoldStarted,
    PartialRep,
    PersonLost,
    RepCounted,
    SetFinished,
    SetStarted,
    WorkoutPaused,
    WorkoutResumed,
)
from app.voice.numbers import number_words


class Priority(IntEnum):
    ENCOURAGEMENT = 0
    COUNT = 1
    INFO = 2
    FORM = 3
    SAFETY = 4


@dataclass(frozen=True, slots=True)
class Cue:
    text: str
    kind: str  # "count", "form", "safety", "set", "rest", "hold", "info", "encouragement"
    priority: Priority
    created: float  # clock time
    ttl_s: float = 4.0

    @property
    def interrupts(self) -> bool:
        return self.priority is Priority.SAFETY


@dataclass(frozen=True, slots=True)
class CueSpoken(Event):
    """Caption: a line the coach started saying (``t`` is clock time, as the cue engine's)."""

    text: str
    kind: str
    audible: bool  # False when running silent (no audio device, muted)


ENCOURAGEMENTS = ("Nice pace.", "Strong.", "Keep it up.", "Looking good.", "Good control.")


@dataclass(frozen=True, slots=True)
class CueSettings:
    rep_counts: Literal["every", "last_three", "none"] = "every"
    target_reps: int | None = None  # for "last_three"
    fault_every_reps: int = 3  # a (non-safety) form cue at most every N reps
    cue_cooldown_s: float = 20.0  # the same form cue text not again within this
    safety_cooldown_s: float = 4.0
    encouragement_every_reps: int = 6
    rest_s: int = 60  # after a set; 0: no rest countdown
    countdown_at: tuple[int, ...] = (30, 10, 3, 2, 1)


@dataclass(slots=True)
class _State:
    busy_until: float = 0.0
    pending: list[Cue] = field(default_factory=list)
    last_spoken: Cue | None = None
    last_fault_text: str = ""
    last_fault_rep: int = -(10**6)
    fault_times: dict[str, float] = field(default_factory=dict)
    set_number: int = 0
    reps: int = 0
    rest_end: float | None = None
    countdown_left: list[int] = field(default_factory=list)
    last_encouragement: str = ""
    muted: bool = False


def exercise_line(exercise: str) -> str:
    """What the coach says when it recognises the exercise: its name."""
    from app.engine.exercises.spec import get_spec

    return f"{get_spec(exercise).name}."


class CueEngine:
    def __init__(self, settings: CueSettings | None = None, *, seed: int = 0) -> None:
        self.settings = settings or CueSettings()
        self._s = _State()
        self._rng = random.Random(seed)

    # ------------------------------------------------------------------ inputs
    def feed(self, event: Event, now: float) -> None:
        s, cfg = self._s, self.settings
        if isinstance(event, SetStarted):
            s.set_number += 1
            s.reps = 0
            s.rest_end = None
            s.countdown_left = []
            self._add(f"Set {number_words(min(s.set_number, 999))}. Go!", "set", Priority.INFO, now)
        elif isinstance(event, RepCounted):
            s.reps += 1  # counted within the set (the engine numbers reps across sets of an exercise)
            self._on_rep(s.reps, now)
        elif isinstance(event, FormFault):
            self._on_fault(event, now)
        elif isinstance(event, PartialRep):
            self._add("All the way.", "form", Priority.FORM, now, ttl_s=2.0)
        elif isinstance(event, SetFinished):
            reps = f"{number_words(min(event.reps, 999))} rep{'s' if event.reps != 1 else ''}"
            self._add(f"Set done: {reps}.", "set", Priority.INFO, now)
            if cfg.rest_s > 0:
                self.start_rest(cfg.rest_s, now, announce=False)
        elif isinstance(event, HoldStarted):
            self._add("Hold it.", "hold", Priority.INFO, now)
        elif isinstance(event, HoldEnded):
            secs = round(event.end_s - event.start_s)
            self._add(f"Hold done: {number_words(min(secs, 999))} seconds.", "hold", Priority.INFO, now)
        elif isinstance(event, PersonLost):
            self._add("I can't see you.", "info", Priority.INFO, now)
        elif isinstance(event, ExerciseRecognized):
            self._add(exercise_line(event.exercise), "info", Priority.INFO, now)
        elif isinstance(event, WorkoutPaused):
            s.pending.clear()  # nothing said before the pause is still worth saying
            self._add("Paused.", "info", Priority.INFO, now)
        elif isinstance(event, WorkoutResumed):
            self._add("Let's go.", "info", Priority.INFO, now)

    def start_rest(self, seconds: int, now: float, *, announce: bool = True) -> None:
        s = self._s
        s.rest_end = now + seconds
        s.countdown_left = sorted((c for c in self.settings.countdown_at if c < seconds), reverse=True)
        if announce:
            self._add(f"Rest {number_words(min(seconds, 999))} seconds.", "rest", Priority.INFO, now)

    def skip_rest(self) -> None:
        """End a running rest countdown now, silently (the next set is up to the athlete)."""
        self._s.rest_end = None
        self._s.countdown_left = []

    def add_rest(self, seconds: int, now: float) -> None:
        """Lengthen a running rest countdown by ``seconds`` (said once); nothing when no rest runs."""
        s = self._s
        if s.rest_end is None:
            return
        s.rest_end += seconds
        left = s.rest_end - now
        s.countdown_left = sorted((c for c in self.settings.countdown_at if c < left), reverse=True)
        self._add(f"{number_words(min(seconds, 999))} more seconds.", "rest", Priority.INFO, now)

    def reps_left(self, now: float) -> None:
        """Answer "how many reps left": against the target when there is one, else the count so far."""
        s, target = self._s, self.settings.target_reps
        if target is not None:
            left = max(target - s.reps, 0)
            text = f"{number_words(left)} rep{'s' if left != 1 else ''} left." if left else "Target reached."
        else:
            text = f"{number_words(min(s.reps, 999))} rep{'s' if s.reps != 1 else ''} so far."
        self._add(text, "info", Priority.INFO, now)

    def repeat(self, now: float) -> None:
        last = self._s.last_spoken
        if last is not None:
            self._s.pending.append(Cue(last.text, last.kind, Priority.INFO, now))

    def set_muted(self, muted: bool) -> None:
        self._s.muted = muted

    # ------------------------------------------------------------------ output
    @property
    def has_pending(self) -> bool:
        """Lines waiting to be said (a running rest countdown aside)."""
        return bool(self._s.pending)

    def poll(self, now: float) -> Cue | None:
        """The next line to start now, or None. Call ``speaking`` with its duration once started."""
        s = self._s
        self._tick_rest(now)
        s.pending = [c for c in s.pending if now - c.created <= c.ttl_s]
        if not s.pending:
            return None
        best = max(s.pending, key=lambda c: (c.priority, -c.created))  # highest first, then oldest
        if now < s.busy_until and not (best.interrupts and not self._speaking_safety(now)):
            return None
        s.pending.remove(best)
        s.last_spoken = best
        return best

    def speaking(self, cue: Cue, duration_s: float, now: float) -> None:
        self._s.busy_until = now + duration_s
        self._s.last_spoken = cue

    def done(self, now: float) -> None:
        """Playback ended (possibly early)."""
        self._s.busy_until = min(self._s.busy_until, now)

    # ------------------------------------------------------------------ rules
    def _add(self, text: str, kind: str, priority: Priority, now: float, *, ttl_s: float = 4.0) -> None:
        if self._s.muted and priority is not Priority.SAFETY:
            return
        self._s.pending.append(Cue(text, kind, priority, now, ttl_s))

    def _speaking_safety(self, now: float) -> bool:
        last = self._s.last_spoken
        return last is not None and last.interrupts and now < self._s.busy_until

    def _on_rep(self, index: int, now: float) -> None:
        cfg = self.settings
        say = cfg.rep_counts == "every" or (
            cfg.rep_counts == "last_three" and cfg.target_reps is not None and index > cfg.target_reps - 3
        )
        if say:
            self._add(number_words(min(index, 999)), "count", Priority.COUNT, now, ttl_s=1.0)
        if cfg.encouragement_every_reps and index % cfg.encouragement_every_reps == 0:
            options = [e for e in ENCOURAGEMENTS if e != self._s.last_encouragement]
            text = self._rng.choice(options)
            self._s.last_encouragement = text
            self._add(text, "encouragement", Priority.ENCOURAGEMENT, now, ttl_s=3.0)

    def _on_fault(self, fault: FormFault, now: float) -> None:
        s, cfg = self._s, self.settings
        last_time = s.fault_times.get(fault.cue)
        if fault.severity >= 3:
            if last_time is None or now - last_time >= cfg.safety_cooldown_s:
                s.fault_times[fault.cue] = now
                self._add(fault.cue, "safety", Priority.SAFETY, now, ttl_s=2.0)
            return
        if fault.cue == s.last_fault_text:
            return  # never the same cue twice in a row
        if fault.rep_index - s.last_fault_rep < cfg.fault_every_reps:
            return
        if last_time is not None and now - last_time < cfg.cue_cooldown_s:
            return
        s.last_fault_text, s.last_fault_rep = fault.cue, fault.rep_index
        s.fault_times[fault.cue] = now
        self._add(fault.cue, "form", Priority.FORM, now, ttl_s=3.0)

    def _tick_rest(self, now: float) -> None:
        s = self._s
        if s.rest_end is None:
            return
        left = s.rest_end - now
        while s.countdown_left and left <= s.countdown_left[0]:
            mark = s.countdown_left.pop(0)
            if left > mark - 1.0:  # only if still current; a late tick skips stale numbers
                text = f"{number_words(mark)} seconds." if mark >= 10 else number_words(mark)
                self._add(text, "rest", Priority.INFO, now, ttl_s=0.9)
        if left <= 0:
            s.rest_end = None
            self._add("Rest over. Next set.", "rest", Priority.INFO, now)
