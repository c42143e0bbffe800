"""Which person to follow: pure functions over body circles and torsos, in pixels.

BlazePose follows one person. Two situations need a decision:

- (re)acquiring, when the detector runs and may return several people: prefer the one where the
  person we lost was, if that was recent; otherwise the largest and most confident (the person
  exercising is usually the one nearest the camera);
- tracking, when the landmark model, cropping around last frame's pose, slides onto somebody who
  walks past: the torso then jumps further, or changes size more, than a body moves in one frame.
  The caller treats that as a switch and looks for the previous person with the detector.

A body circle is what both the detector (keypoints 0 and 1) and the landmark model (its two
auxiliary landmarks) give: the hip centre and a radius enclosing the whole body.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.engine.pose.types import Float32Array, Landmark


@dataclass(frozen=True, slots=True)
class BodyCircle:
    """A person's hip centre and body radius, in pixels."""

    x: float
    y: float
    radius: float

    @classmethod
    def from_points(cls, centre: Float32Array, edge: Float32Array, image_size: tuple[int, int]) -> BodyCircle:
        """From normalised centre and circle points (detector keypoints 0, 1 or auxiliary landmarks)."""
        w, h = image_size
        x, y = float(centre[0]) * w, float(centre[1]) * h
        return cls(x, y, math.hypot(float(edge[0]) * w - x, float(edge[1]) * h - y))

    def box(self) -> tuple[float, float, float, float]:
        return self.x - self.radius, self.y - self.radius, self.x + self.radius, self.y + self.radius


@dataclass(frozen=True, slots=True)
class SelectionParams:
    memory_s: float = 2.0  # how long after losing a person their place is preferred
    min_iou: float = 0.3  # body boxes overlapping at least this much may be the same person
    max_centre_distance: float = 0.75  # ... if their centres are this close, in body radii


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def same_person(a: BodyCircle, b: BodyCircle, params: SelectionParams = SelectionParams()) -> bool:
    """Whether two body circles plausibly belong to the same person (overlap and close centres)."""
    radius = max(a.radius, b.radius, 1e-6)
    close = math.hypot(a.x - b.x, a.y - b.y) / radius <= params.max_centre_distance
    return close and box_iou(a.box(), b.box()) >= params.min_iou


def match_candidate(
    candidates: Sequence[BodyCircle], previous: BodyCircle, params: SelectionParams = SelectionParams()
) -> int | None:
    """Index of the candidate that is ``previous`` again (best overlap), or None."""
    best, best_iou = None, -1.0
    for i, candidate in enumerate(candidates):
        if same_person(candidate, previous, params):
            iou = box_iou(candidate.box(), previous.box())
            if iou > best_iou:
                best, best_iou = i, iou
    return best


def choose_candidate(
    candidates: Sequence[BodyCircle],
    scores: Sequence[float],
    previous: BodyCircle | None = None,
    *,
    since_lost_s: float | None = None,
    params: SelectionParams = SelectionParams(),
) -> int | None:
    """Index of the person to follow among detector ``candidates``, or None if there are none.

    The person lost ``since_lost_s`` seconds ago at ``previous`` wins if still there and the loss is
    recent; otherwise the largest body weighted by detector confidence.
    """
    if not candidates:
        return None
    if previous is not None and since_lost_s is not None and since_lost_s <= params.memory_s:
        match = match_candidate(candidates, previous, params)
        if match is not None:
            return match
    return max(range(len(candidates)), key=lambda i: candidates[i].radius * scores[i])


def rank_candidates(
    candidates: Sequence[BodyCircle],
    scores: Sequence[float],
    previous: BodyCircle | None = None,
    *,
    since_lost_s: float | None = None,
    params: SelectionParams = SelectionParams(),
) -> list[int]:
    """All candidate indices, the chosen one first, then by size and confidence."""
    first = choose_candidate(candidates, scores, previous, since_lost_s=since_lost_s, params=params)
    rest = sorted(
        (i for i in range(len(candidates)) if i != first), key=lambda i: -candidates[i].radius * scores[i]
    )
    return [] if first is None else [first, *rest]


@dataclass(frozen=True, slots=True)
class Torso:
    """Torso centre and size in pixels."""

    x: float
    y: float
    scale: float


_TORSO = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP]


def torso_of(image: Float32Array, image_size: tuple[int, int]) -> Torso:
    """Torso of normalised (33, >=2) landmarks: centre of shoulders and hips; size the largest of
    torso length, shoulder width and hip width (stable whether seen from the front or the side)."""
    w, h = image_size
    ls, rs, lh, rh = (image[_TORSO, :2] * np.array([w, h], np.float32)).astype(np.float64)
    shoulders, hips = (ls + rs) / 2.0, (lh + rh) / 2.0
    centre = (shoulders + hips) / 2.0
    scale = max(
        float(np.linalg.norm(shoulders - hips)),
        float(np.linalg.norm(ls - rs)),
        float(np.linalg.norm(lh - rh)),
    )
    return Torso(float(centre[0]), float(centre[1]), max(scale, 1e-6))


@dataclass(frozen=True, slots=True)
class JumpLimits:
    """How far a torso may move between two frames, in torso sizes (log-ratio for size)."""

    max_step: float = 0.5  # allowed at any frame interval: model noise, fast moves
    max_speed: float = 4.0  # per second on top of max_step
    max_scale_step: float = 0.35  # log size change allowed at any interval (~ x1.4)
    max_scale_rate: float = 2.0  # per second on top of max_scale_step


def is_implausible_jump(
    previous: Torso, current: Torso, dt: float, *, limits: JumpLimits = JumpLimits()
) -> bool:
    """Whether going from ``previous`` to ``current`` in ``dt`` seconds is more than a body does."""
    dt = max(dt, 0.0)
    moved = math.hypot(current.x - previous.x, current.y - previous.y) / previous.scale
    resized = abs(math.log(current.scale / previous.scale))
    return (
        moved > limits.max_step + limits.max_speed * dt
        or resized > limits.max_scale_step + limits.max_scale_rate * dt
    )
