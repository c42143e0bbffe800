"""Counting channels: every (signal, side) pair of an exercise has its own rep counter.

Only the *active* signal's reps count. The active signal is the one whose recent samples show the
largest movement, relative to its expected range, against its frame-to-frame jitter: a view
change or an occluded limb moves the count to a signal that still sees the movement, without any
per-view configuration.

With no exercise spec (``periodic``), the body's main signals are all candidates, each in both
orientations, and the active one is the one that *repeats* most clearly: a rep is a movement like
the set's other reps, so a signal whose recent history is self-similar at some period wins over
one that only moved a lot once (walking in, sitting down).

With a spec whose primary signal is a joint angle, the same angle measured in the picture is a last
candidate. World landmarks make angles independent of the view, but the world model guesses what it
cannot see and can flatten a movement the camera plainly shows (hands behind the head, arms
pointing at the lens); the picture is used only then (see ``ChannelSet._flattened``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from . import features as feat
from .counter import RepCandidate, RepCounter
from .signals import SideSignals, combine_sides, gate_mask, posture_mask, side_signals, single_side
from .spec import ExerciseSpec, SignalSpec

#: Seconds of history used to judge how clean each signal is.
QUALITY_WINDOW_S = 8.0
#: A signal replaces the active one only when it is this much cleaner (hysteresis).
SWITCH_MARGIN = 1.3
#: A posture outside the exercise's for this long abandons the rep in progress, seconds.
WRONG_POSTURE_S = 0.1
#: A torso tilted further than this from upright is upside down, degrees.
UPSIDE_DOWN_DEG = 135.0
#: How often the active signal is re-evaluated, seconds.
REVIEW_EVERY_S = 0.5
#: Seconds of history judged without a spec: long enough for two slow repetitions.
PERIODIC_WINDOW_S = 16.0
#: Repetition periods looked for without a spec, seconds (one arm of alternating curls: 7 s).
PERIOD_RANGE_S = (0.4, 8.0)
#: Without a spec, switching signals mid-set costs reps (each sees them at other times): a new
#: signal must be this much clearer.
PERIODIC_SWITCH_MARGIN = 1.6
#: Without a spec, a signal's reps count once it repeats this clearly (autocorrelation at its
#: period): fidgeting before a set moves the body too, but not regularly.
PERIODIC_MIN_STRENGTH = 0.4
#: Resampling rate for the periodicity estimate, samples per second.
PERIODIC_RATE = 10.0


@dataclass(slots=True)
class Channel:
    index: int  # position of the signal in the spec (0 = primary)
    side: str  # "both", "left" or "right"
    signal: SignalSpec
    counter: RepCounter
    history: deque[tuple[float, float]] = field(default_factory=deque)
    recent: deque[RepCandidate] = field(default_factory=lambda: deque(maxlen=8))


def signal_quality(values: feat.FloatArray, typical_rom: float) -> float:
    """How clearly ``values`` show repetitions: range against the expected range and jitter.

    0 when the signal is mostly missing. Jitter is the median distance of each sample from the
    mean of its neighbours, which ignores slow movement and catches flicker and spikes.
    """
    finite = values[np.isfinite(values)]
    if finite.size < 10 or finite.size < 0.5 * values.size:
        return 0.0
    amplitude = float(np.percentile(finite, 95) - np.percentile(finite, 5))
    if amplitude <= 0:
        return 0.0
    jitter = float(np.median(np.abs(finite[1:-1] - (finite[:-2] + finite[2:]) / 2)))
    coverage = finite.size / values.size
    return min(amplitude / typical_rom, 1.5) * amplitude / (amplitude + 8.0 * jitter) * coverage


def periodicity(times: feat.FloatArray, values: feat.FloatArray) -> float:
    """How strongly ``values`` repeat, in [0, 1].

    The normalised autocorrelation of the signal, resampled evenly, at its highest local peak
    within ``PERIOD_RANGE_S``; gaps shorter than a period are bridged linearly. 0 when the history
    is too short or too patchy to tell.
    """
    ok = np.isfinite(values)
    if ok.sum() < 10 or ok.mean() < 0.5:
        return 0.0
    t, v = times[ok], values[ok]
    grid = np.arange(t[0], t[-1], 1.0 / PERIODIC_RATE)
    lo = int(PERIOD_RANGE_S[0] * PERIODIC_RATE)
    hi = min(int(PERIOD_RANGE_S[1] * PERIODIC_RATE), grid.size // 2)
    if hi <= lo + 1:
        return 0.0
    x = np.interp(grid, t, v)
    x = x - x.mean()
    energy = float(np.dot(x, x))
    if energy <= 0:
        return 0.0
    lags = np.arange(1, hi + 1)
    acf = np.correlate(x, x, "full")[x.size : x.size + hi] / energy * x.size / (x.size - lags)
    peaks = [float(acf[k]) for k in range(lo, hi - 1) if acf[k - 1] <= acf[k] >= acf[k + 1]]
    return min(max([0.0, *peaks]), 1.0)


def rest_dwell(values: feat.FloatArray) -> float:
    """Share of the time near the oriented top among the time near either end, in [0, 1].

    People rest between repetitions at the start position: a signal whose top is where the body
    waits is the right way up for counting."""
    finite = values[np.isfinite(values)]
    if finite.size < 10:
        return 0.5
    lo, hi = np.percentile(finite, 5), np.percentile(finite, 95)
    if hi <= lo:
        return 0.5
    top = float(np.mean(finite >= hi - 0.25 * (hi - lo)))
    bottom = float(np.mean(finite <= lo + 0.25 * (hi - lo)))
    return top / max(top + bottom, 1e-9)


def periodic_quality(values: feat.FloatArray, typical_rom: float, strength: float) -> float:
    """How clearly a signal shows repetitions when no spec says which signal to watch: its
    cleanliness (``signal_quality``) weighted by how strongly it repeats (``periodicity``) and by
    whether its top is where the body rests."""
    clean = signal_quality(values, typical_rom)
    return clean * (0.1 + strength) * (0.5 + rest_dwell(values)) if clean > 0 else 0.0


def _moved(values: feat.FloatArray) -> float:
    """How far a signal moved over its history (5th to 95th percentile); 0 when mostly missing."""
    finite = values[np.isfinite(values)]
    if finite.size < 10:
        return 0.0
    return float(np.percentile(finite, 95) - np.percentile(finite, 5))


def _flipped(signal: SignalSpec) -> SignalSpec:
    return signal.model_copy(update={"rest": "low" if signal.rest == "high" else "high"})


class ChannelSet:
    """All counting channels of one exercise, and the choice of the active signal."""

    def __init__(self, spec: ExerciseSpec, *, periodic: bool = False) -> None:
        assert spec.movement is not None
        self._spec = spec
        self.periodic = periodic
        self._window_s = PERIODIC_WINDOW_S if periodic else QUALITY_WINDOW_S
        signals = list(spec.movement.signals)
        primary = spec.movement.primary
        if not periodic and primary.kind == "angle":  # the primary seen in the picture, last
            signals.append(primary.model_copy(update={"kind": "image_angle"}))
        if periodic:  # which end is the rest position is not known: try both
            signals += [_flipped(s) for s in signals]
        sides = ("left", "right") if spec.movement.sides == "independent" else ("both",)
        self.channels = [
            Channel(i, side, signal, RepCounter(spec.counting, signal))
            for i, signal in enumerate(signals)
            for side in sides
        ]
        self.active = 0
        self.trusted = not periodic  # the active signal's reps count (see PERIODIC_MIN_STRENGTH)
        self._next_review = 0.0
        self._wrong_posture_since: float | None = None

    def update(self, track: feat.Track | None, t: float) -> list[tuple[Channel, RepCandidate]]:
        """Feed one frame (a one-frame track, or None); returns reps completed on the active signal."""
        values = self._measure(track)
        completed: list[tuple[Channel, RepCandidate]] = []
        for channel, value in zip(self.channels, values, strict=True):
            channel.history.append((t, value))
            while channel.history and t - channel.history[0][0] > self._window_s:
                channel.history.popleft()
            cand = channel.counter.update(t, value)
            for done in (channel.counter.promoted, cand):
                if done is not None:
                    channel.recent.append(done)
                    if channel.index == self.active and self.trusted:
                        completed.append((channel, done))
        if t >= self._next_review:
            self._next_review = t + REVIEW_EVERY_S
            was_trusted = self.trusted
            changed = self._review()
            if self.trusted and (changed or not was_trusted):
                completed += self._recent_of_active(t)
        return completed

    def finish(self, t: float) -> list[tuple[Channel, RepCandidate]]:
        """End of stream: reps in progress on the active signal that had nearly completed, and
        the reps of a signal that never had the time to show it repeats (a set of one or two)."""
        done = [] if self.trusted else self._recent_of_active(t)
        for channel in self.channels:
            if channel.index == self.active:
                cand = channel.counter.finish(t)
                if cand is not None:
                    done.append((channel, cand))
        return done

    def _recent_of_active(self, t: float) -> list[tuple[Channel, RepCandidate]]:
        """Reps the newly active signal saw while another one was trusted: by the time a signal
        proves cleaner it has usually seen a rep or two that the old one missed."""
        return [
            (ch, cand)
            for ch in self.channels
            if ch.index == self.active
            for cand in ch.recent
            if t - cand.end_t <= self._window_s
        ]

    def _measure(self, track: feat.Track | None) -> list[float]:
        if track is None:
            return [float("nan")] * len(self.channels)
        spec = self._spec
        if feat.torso_inclination(track)[-1] > UPSIDE_DOWN_DEG:
            # a skeleton standing on its head is a broken estimate (no exercise here is done
            # upside down): a missing sample, not a change of posture that ends the rep
            return [float("nan")] * len(self.channels)
        if not posture_mask(track, spec.gate)[-1]:
            # out of the exercise's posture (bending over to pick something up during a set of
            # squats): a rep in progress is abandoned, not bridged like a moment of bad visibility;
            # a single odd frame is only a missing sample
            if self._wrong_posture_since is None:
                self._wrong_posture_since = float(track.t[-1])
            if float(track.t[-1]) - self._wrong_posture_since >= WRONG_POSTURE_S:
                for channel in self.channels:
                    channel.counter.reset()
            return [float("nan")] * len(self.channels)
        self._wrong_posture_since = None
        gate = gate_mask(track, spec.gate, spec.counting.min_visibility)
        per_signal: dict[int, SideSignals] = {}
        out: list[float] = []
        for channel in self.channels:
            sig = per_signal.get(channel.index)
            if sig is None:
                sig = side_signals(track, channel.signal, gate)
                per_signal[channel.index] = sig
            if channel.side == "both":
                value = combine_sides(sig, spec.counting.min_visibility)[-1]
            else:
                value = single_side(sig, channel.side, spec.counting.min_visibility)[-1]
            out.append(float(value))
        return out

    def any_in_rep(self) -> bool:
        """Some counter of the active signal is between the start and the end of a rep."""
        return any(ch.counter.in_rep for ch in self.channels if ch.index == self.active)

    def _flattened(self, twin: Channel) -> bool:
        """The world model flattens the primary angle where the picture shows it moving (hands
        behind the head, arms foreshortened towards the camera): over the window, the primary
        moves less than a rep's floor on every side. Only then is its picture twin a candidate;
        elsewhere the world angle, which does not depend on the view, is the better measure."""
        primary = [np.array([v for _, v in ch.history]) for ch in self.channels if ch.index == 0]
        moved = max((_moved(values) for values in primary), default=0.0)
        return moved < twin.signal.min_rom

    def _scores(self, index: int) -> tuple[float, float]:
        """A signal's quality (its clearer side) and, without a spec, how strongly it repeats."""
        first = next(ch for ch in self.channels if ch.index == index)
        if first.signal.kind == "image_angle" and index != self.active and not self._flattened(first):
            return 0.0, 0.0
        quality = strength = 0.0
        for ch in self.channels:
            if ch.index != index or not ch.history:
                continue
            values = np.array([v for _, v in ch.history])
            if self.periodic:
                repeats = periodicity(np.array([t for t, _ in ch.history]), values)
                strength = max(strength, repeats)
                quality = max(quality, periodic_quality(values, ch.signal.typical_rom, repeats))
            elif _moved(values) >= ch.signal.min_rom:
                # a signal wins only by showing a rep's worth of movement: in a still window (a long
                # hold, a pause between sets) every quality is jitter, and their ratio is chance
                quality = max(quality, signal_quality(values, ch.signal.typical_rom))
        return quality, strength

    def _review(self) -> bool:
        """Switch to a clearly cleaner signal; True when the active signal changed. Without a
        spec, the active signal's reps are trusted once it repeats (``PERIODIC_MIN_STRENGTH``)."""
        n_signals = len({ch.index for ch in self.channels})
        if n_signals < 2:
            return False
        scores, strengths = zip(*(self._scores(i) for i in range(n_signals)), strict=True)
        best = int(np.argmax(scores))
        margin = PERIODIC_SWITCH_MARGIN if self.periodic else SWITCH_MARGIN
        changed = best != self.active and scores[best] > margin * scores[self.active]
        if changed:
            self.active = best
        if self.periodic:
            self.trusted = strengths[self.active] >= PERIODIC_MIN_STRENGTH
        return changed
