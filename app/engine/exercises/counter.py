"""A causal repetition counter on one 1-D movement signal.

The signal is oriented so that the rest (start and end) position is high and the turning point low.
Counting is a zig-zag with hysteresis: a rep starts when the signal leaves the running top by more
than the hysteresis band, turns at its lowest point, and completes when it climbs back by
``return_fraction`` of its depth. Whether it is a full rep, a partial rep or noise depends on its
depth relative to the person's own range (median of their recent reps, starting from the spec's
prior), never below the spec's absolute floor. Reps that are too short, too long or that span a
gap in the signal are dropped. No threads, no I/O: ``update(t, value)`` in, completed reps out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from .spec import CountingSpec, SignalSpec

#: A gap inside a rep up to this long is bridged if the signal comes back near where it left, s.
MAX_BRIDGE_S = 1.5
#: Two depths within this factor of each other are alike.
ALIKE_DEPTHS = 1.4
#: The turning point's band, as a share of the rep's depth: time spent inside it is the pause.
BOTTOM_BAND = 0.06
#: The shortest rep the set's own pace can allow, s (three poses at 15 a second).
MIN_REP_S = 0.2


def _climb_end(samples: np.ndarray, t: float, value: float, top_band: float) -> float:
    """When the climb reaches ``top_band`` at its pace over the last 0.4 s (``inf`` if not climbing)."""
    recent = samples[samples[:, 0] >= t - 0.4]
    if recent.shape[0] < 2 or value >= top_band:
        return t
    speed = (recent[-1, 1] - recent[0, 1]) / max(recent[-1, 0] - recent[0, 0], 1e-3)
    return float(t + (top_band - value) / speed) if speed > 0 else float("inf")


class _State(Enum):
    START = "start"
    TOP = "top"
    DOWN = "down"
    UP = "up"


@dataclass(frozen=True, slots=True)
class RepCandidate:
    """A completed movement cycle, in signal units (oriented: rest high)."""

    start_t: float
    turn_t: float
    end_t: float  # where the movement reaches the rest position (estimated from its pace)
    bottom_enter_t: float  # first time within the bottom band (end of the first phase)
    bottom_exit_t: float  # last time within the bottom band (start of the second phase)
    top_value: float
    bottom_value: float
    peak_speed: float  # signal units per second, second phase
    full: bool
    counted_t: float  # when the counter decided: the time of its events
    clipped: bool = False  # began before the stream did: only its second half was seen

    @property
    def depth(self) -> float:
        return self.top_value - self.bottom_value


class RepCounter:
    """Zig-zag counter with hysteresis and a range that adapts to the person."""

    def __init__(self, spec: CountingSpec, signal: SignalSpec) -> None:
        self._spec = spec
        self._min_rom = signal.min_rom
        self._typical_rom = signal.typical_rom
        self._depths: deque[float] = deque(maxlen=5)
        self._durations: deque[float] = deque(maxlen=5)  # of the same full reps, start to counted
        self._short: deque[RepCandidate] = deque(maxlen=2)  # the latest reps short of the range
        #: a rep that was short of the range until the one just completed showed the range had
        #: changed: it is a full rep after all (read it after ``update``, it lasts one call)
        self.promoted: RepCandidate | None = None
        self.reset(stream_start=True)

    # ------------------------------------------------------------------ state
    def reset(self, *, stream_start: bool = False) -> None:
        """Forget the rep in progress (after a gap, a camera cut, a lost person).

        At the start of a stream the first samples may be the second half of a rep (a clip that
        starts at the bottom): that ascent counts if it spans a full range.
        """
        self._state = _State.START if stream_start else _State.TOP
        self._first_t: float | None = None
        self._top_v = -np.inf
        self._top_t = 0.0
        self._bot_v = np.inf
        self._bot_t = 0.0
        self._up_v = -np.inf
        self._last_t: float | None = None
        self._samples: list[tuple[float, float]] = []
        self._turn_held_s = 0.0  # time the rep in progress has spent at its turning point

    @property
    def person_range(self) -> float:
        """Current estimate of the person's full range of motion, in signal units.

        Before the first rep it is the spec's typical range (which sets the noise band), but the
        first rep itself is judged only against the absolute floor: a short-range person's first
        rep is still a rep, and later ones are judged against it.
        """
        if not self._depths:
            return self._typical_rom
        return max(float(np.median(self._depths)), self._min_rom)

    def _full_depth(self) -> float:
        if not self._depths:
            return self._min_rom
        return max(self._min_rom, self._spec.full_fraction * self.person_range)

    @property
    def in_rep(self) -> bool:
        return self._state in (_State.DOWN, _State.UP)

    @property
    def excursion(self) -> float:
        """How far the rep in progress has moved from its top (0 outside a rep)."""
        return float(self._top_v - self._bot_v) if self.in_rep else 0.0

    def _min_rep_s(self) -> float:
        """The shortest a rep may be: the spec's floor, or, once the person's reps show their pace, 0.4 of
        its median (a cadence that doubles within the set, 1.7 s a rep then 0.9 s, with a pose's worth of
        slack at each end), whichever is shorter; never shorter than ``MIN_REP_S`` (a flicker of the
        estimate)."""
        if len(self._durations) < 2:
            return self._spec.min_rep_s
        return max(min(self._spec.min_rep_s, 0.4 * float(np.median(self._durations))), MIN_REP_S)

    def _hysteresis(self) -> float:
        return max(self._spec.hysteresis_fraction * self.person_range, 0.25 * self._min_rom)

    # ------------------------------------------------------------------ update
    def update(self, t: float, value: float | None) -> RepCandidate | None:
        """Feed one sample (None: not measurable in this frame). Returns a rep when one completes."""
        self.promoted = None
        spec = self._spec
        h = self._hysteresis()
        # inside a rep, a joint hidden at the bottom (knees out of a close frame) is bridged when the
        # signal comes back still short of the top: the same rep, seen going down and coming up;
        # elsewhere, after longer, or back at the top already, the gap ends what was going on
        limit = max(spec.max_gap_s, MAX_BRIDGE_S) if self.in_rep else spec.max_gap_s
        if value is None or not np.isfinite(value):
            if self._last_t is not None and t - self._last_t > limit:
                self.reset()
            return None
        gap = t - self._last_t if self._last_t is not None else 0.0
        if gap > spec.max_gap_s and (gap > limit or value >= self._top_v - h):
            self.reset()
        self._last_t = t

        if self._state is _State.START:
            return self._update_start(t, value, h)
        if self._state is _State.TOP:
            if value >= self._top_v:
                self._top_v, self._top_t = value, t
                self._samples = [(t, value)]
            else:
                self._samples.append((t, value))
                if value <= self._top_v - h:
                    self._state = _State.DOWN
                    self._bot_v, self._bot_t = value, t
                    self._turn_held_s = 0.0
                    self._mark_start(h)
            return None

        self._samples.append((t, value))
        if value <= self._bot_v + 0.5 * h:  # at the turn: held there, or the last of the way to it
            self._turn_held_s += t - self._samples[-2][0] if len(self._samples) > 1 else 0.0
        # time held at the turn lengthens the limit (by the rep's own limit again, unless the spec says): a
        # pause squat's 5-7 s at the bottom is a rep, half a minute sat on the bench is not
        hold = spec.max_rep_s if spec.max_turn_hold_s is None else spec.max_turn_hold_s
        if t - self._top_t > spec.max_rep_s + min(self._turn_held_s, hold):
            self._restart_from(t, value)
            return None

        if self._state is _State.DOWN:
            if value < self._bot_v:
                self._bot_v, self._bot_t = value, t
            elif value >= self._bot_v + h:
                self._state = _State.UP
                self._up_v = value
            return None

        # UP: climbing back towards the rest position
        self._up_v = max(self._up_v, value)
        depth = self._top_v - self._bot_v
        if value >= self._bot_v + spec.return_fraction * depth:
            rep = self._finish(t, value)
            return rep
        if value <= self._up_v - h:
            # turned down again before returning: one longer rep with a second bottom
            self._state = _State.DOWN
            if value < self._bot_v:
                self._bot_v, self._bot_t = value, t
        return None

    def finish(self, t: float) -> RepCandidate | None:
        """End of stream: a full-depth rep already a third of the way back up is a rep whose end
        the camera did not see (the clip or the session stopped as the person stood up)."""
        if self._state is not _State.UP or self._last_t is None:
            return None
        depth = self._top_v - self._bot_v
        climbed = self._up_v - self._bot_v
        if depth < self._full_depth() or climbed < depth / 3:
            return None
        return self._finish(self._last_t, self._up_v)

    def _mark_start(self, h: float) -> None:
        """The rep starts where the signal last left the top, not where the top was first reached
        (a long rest before the rep is not part of it)."""
        near_top = self._top_v - 0.3 * h
        for st, sv in reversed(self._samples):
            if sv >= near_top:
                self._top_t = st
                break
        self._samples = [(st, sv) for st, sv in self._samples if st >= self._top_t]

    def _update_start(self, t: float, value: float, h: float) -> RepCandidate | None:
        """First samples of a stream: a plain top, or the ascent of a rep already under way."""
        if self._first_t is None:
            self._first_t = t
            self._bot_v, self._bot_t = value, t
            self._top_v, self._top_t = value, t
            self._samples = [(t, value)]
            return None
        self._samples.append((t, value))
        if value < self._bot_v:
            self._bot_v, self._bot_t = value, t
        if value >= self._top_v:
            self._top_v, self._top_t = value, t
        fell_first = self._top_v - self._bot_v >= h and self._bot_t > self._top_t
        full_depth = max(self._min_rom, self._spec.full_fraction * self.person_range)
        climbed = self._top_v - self._bot_v >= full_depth and value < self._top_v
        # a full range climbed faster than half the shortest rep is no rep's second half, but the estimate
        # settling as the person comes into view (a fade-in, a dim first frame)
        settling = climbed and self._climb_s() < 0.5 * self._spec.min_rep_s
        late = self._bot_t - self._first_t > 1.0 or t - self._first_t > self._spec.max_rep_s
        if fell_first or settling or late:
            # not an ascent from the stream's first frames: count normally from the highest point
            top_v, top_t = self._top_v, self._top_t
            kept = [(st, sv) for st, sv in self._samples if st >= top_t]
            self._state = _State.TOP
            self._samples = kept
            self._top_v, self._top_t = top_v, top_t
            if fell_first:
                self._state = _State.DOWN
                self._mark_start(h)
            return None
        if climbed:
            # climbed a full range and stopped rising: the ascent of a rep that began off camera
            depth = self._top_v - self._bot_v
            rep = RepCandidate(
                start_t=self._first_t,
                turn_t=self._bot_t,
                end_t=t,
                bottom_enter_t=self._bot_t,
                bottom_exit_t=self._bot_t,
                top_value=self._top_v,
                bottom_value=self._bot_v,
                peak_speed=0.0,
                full=True,
                counted_t=t,
                clipped=True,
            )
            self._depths.append(depth)
            self._restart_from(t, value)
            return rep
        return None

    def _climb_s(self) -> float:
        """How long the stream's first ascent took from its bottom to within a tenth of its top."""
        near_top = self._top_v - 0.1 * (self._top_v - self._bot_v)
        reached = (st for st, sv in self._samples if st >= self._bot_t and sv >= near_top)
        return next(reached, self._top_t) - self._bot_t

    def _restart_from(self, t: float, value: float) -> None:
        self.reset()
        self._top_v, self._top_t = value, t
        self._last_t = t
        self._samples = [(t, value)]

    def _finish(self, t: float, value: float) -> RepCandidate | None:
        spec = self._spec
        depth = self._top_v - self._bot_v
        samples = np.asarray(self._samples, np.float64)
        start_t, top_v, bot_v, turn_t = self._top_t, self._top_v, self._bot_v, self._bot_t
        self._restart_from(t, value)

        duration = t - start_t
        full_depth = self._full_depth()
        partial_depth = max(0.5 * self._min_rom, spec.partial_fraction * self.person_range)
        if depth < partial_depth or duration < self._min_rep_s():
            return None
        band = bot_v + BOTTOM_BAND * depth
        in_band = np.flatnonzero(samples[:, 1] <= band)
        enter_t = float(samples[in_band[0], 0]) if in_band.size else turn_t
        exit_t = float(samples[in_band[-1], 0]) if in_band.size else turn_t
        if enter_t - start_t < spec.min_phase_s or t - exit_t < spec.min_phase_s:
            return None
        rising = samples[samples[:, 0] >= exit_t]
        speed = 0.0
        if rising.shape[0] >= 3:
            dt = np.diff(rising[:, 0])
            dv = np.diff(rising[:, 1])
            speed = float(np.max(dv / np.maximum(dt, 1e-3)))
        full = depth >= full_depth
        if full:
            self._short.clear()
            self._depths.append(depth)
            self._durations.append(duration)
        # The rep is counted 3/4 of the way back; its end is where the same pace reaches the top band,
        # the pace of the climb itself: a pause on the way back (a hold halfway up) is not stretched
        # past the end of the rep into the next one
        covered = spec.return_fraction - BOTTOM_BAND
        end_t = exit_t + (t - exit_t) * (1.0 - 2 * BOTTOM_BAND) / covered if covered > 0 else t
        end_t = min(float(end_t), _climb_end(samples, t, value, bot_v + (1.0 - BOTTOM_BAND) * depth))
        rep = RepCandidate(
            start_t=start_t,
            turn_t=turn_t,
            end_t=max(end_t, t),
            counted_t=t,
            bottom_enter_t=enter_t,
            bottom_exit_t=exit_t,
            top_value=top_v,
            bottom_value=bot_v,
            peak_speed=speed,
            full=full,
        )
        return rep if full else self._adapt(rep)

    def _adapt(self, rep: RepCandidate) -> RepCandidate:
        """Two alike reps in a row short of a range that a single movement set mean that movement
        was not like the rest (lifting the weight into place, a rep under way as the stream
        started): both are full reps, and their depths the new range. A range that two full reps
        agree on stays: half reps after it are partial reps."""
        self._short.append(rep)
        depths = [c.depth for c in self._short]
        if (
            len(self._depths) > 1
            or len(depths) < 2
            or min(depths) < self._min_rom  # the absolute floor holds
            or max(depths) > ALIKE_DEPTHS * min(depths)
            or rep.start_t - self._short[0].end_t > self._spec.max_rep_s
        ):
            return rep
        self._depths.clear()
        self._depths.extend(depths)
        self.promoted = replace(self._short[0], full=True)
        self._short.clear()
        return replace(rep, full=True)
