"""A rep is a movement like the set's other reps.

Set-up movement before a set (unracking a bar, picking a kettlebell up with a hip hinge, stepping
into a stance, lying down on a bench) often moves the counting signal as far as a rep does. What
gives it away is that it is not like the reps that follow: a different size, a different pace,
other joints doing the work. So the first movements of a set are held until two of them agree;
those that agree with nothing are set-up and are not counted. A rep already under way when the
stream starts shows that the set is too (set-up comes before a set). Once a set is established, every
rep counts at once (cadence and range may drift within a set, and a slow grinding last rep is
still a rep); the judge only ever delays the first rep of a set, by one rep.

Pure and causal: ``offer`` a candidate, get back the reps confirmed by it (in time order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from . import features as feat

#: The main joint angles whose ranges say which joints do the work.
PROFILE_ANGLES: tuple[tuple[str, str, str], ...] = (
    ("hip", "knee", "ankle"),
    ("shoulder", "hip", "knee"),
    ("shoulder", "elbow", "wrist"),
    ("hip", "shoulder", "elbow"),
)
#: Two movements are alike when their sizes are within this factor of each other...
SIZE_RATIO = 2.0
#: ...their return phases within this factor (the first phase may carry set-up drift)...
PACE_RATIO = 2.5
#: ...and the share of the work each main joint does differs by at most this much in total.
PROFILE_DISTANCE = 0.6

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Shape:
    """What a movement looks like, for comparison with the set's other movements."""

    size: float  # depth over the signal's typical range (comparable across signals)
    return_s: float  # from leaving the turning point back to the rest position: the rep's pace
    profile: tuple[float, ...]  # share of the angular range at knees, hips, elbows, shoulders
    clipped: bool = False  # began before the stream: the set was already under way


def joint_profile(track: feat.Track | None) -> tuple[float, ...]:
    """Share of the movement at each main joint (the larger side), summing to 1; () if unknown."""
    if track is None or len(track) < 3:
        return ()
    ranges = []
    for joints in PROFILE_ANGLES:
        best = 0.0
        for side in feat.SIDES:
            a = feat.side_angle(track, joints, side, world=True)
            a = a[np.isfinite(a)]
            if a.size >= 3:
                best = max(best, float(np.percentile(a, 95) - np.percentile(a, 5)))
        ranges.append(best)
    total = sum(ranges)
    return tuple(r / total for r in ranges) if total > 0 else ()


def differences(a: Shape, b: Shape) -> int:
    """In how many ways two movements differ: size, pace, the joints that do them."""
    n = int(max(a.size, b.size) > SIZE_RATIO * max(min(a.size, b.size), 1e-9))
    n += int(max(a.return_s, b.return_s) > PACE_RATIO * max(min(a.return_s, b.return_s), 1e-3))
    if a.profile and b.profile:
        n += int(sum(abs(x - y) for x, y in zip(a.profile, b.profile, strict=True)) > PROFILE_DISTANCE)
    return n


def alike(a: Shape, b: Shape) -> bool:
    """Two movements are the same kind of movement unless they differ in two ways or more: each
    measure alone is fooled by real video (a camera cut changes the joint profile, a rep already
    under way when the clip starts is shallower, the last rep grinds), set-up differs in several."""
    return differences(a, b) < 2


class SetJudge(Generic[T]):
    """Holds a set's first movements until two agree; later ones pass straight through."""

    def __init__(self) -> None:
        self._pending: list[tuple[Shape, T]] = []
        self.established = False
        self.dropped: list[T] = []  # set-up found by the latest offer: what agreed with nothing

    @property
    def pending(self) -> int:
        return len(self._pending)

    def offer(self, shape: Shape, item: T) -> list[T]:
        """A new candidate rep; returns the reps it confirms (possibly none, possibly earlier ones)."""
        self.dropped = []
        if self.established:
            return [item]
        if shape.clipped:  # the stream began inside the set: what came before it was not set-up
            held = [it for _, it in self._pending]
            self._pending.clear()
            self.established = True
            return [*held, item]
        partners = [i for i, (s, _) in enumerate(self._pending) if alike(s, shape)]
        if not partners:
            self._pending.append((shape, item))
            return []
        # the earliest movement that this one agrees with starts the set; anything before it that
        # agrees with neither was set-up; in between, what agrees with the set still counts
        first = partners[0]
        keep = [i >= first and alike(s, shape) for i, (s, _) in enumerate(self._pending)]
        confirmed = [it for k, (_, it) in zip(keep, self._pending, strict=True) if k]
        self.dropped = [it for k, (_, it) in zip(keep, self._pending, strict=True) if not k]
        self._pending.clear()
        self.established = True
        return [*confirmed, item]

    def close(self) -> list[T]:
        """The set ended before two movements agreed: a set of one rep (or of movements that
        never agreed) counts what it has, since nothing shows which was set-up."""
        held = [it for _, it in self._pending]
        self._pending.clear()
        self.established = False
        return held

    def reset(self) -> None:
        self._pending.clear()
        self.established = False
