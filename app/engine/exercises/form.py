"""Form rules: per-rep measures over the frames of one rep, compared with the spec's limits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import features as feat
from .spec import FormRule

FloatArray = feat.FloatArray


def _nanmin(x: FloatArray) -> float:
    return float(np.nanmin(x)) if np.isfinite(x).any() else float("nan")


def _nanmax(x: FloatArray) -> float:
    return float(np.nanmax(x)) if np.isfinite(x).any() else float("nan")


def _either_side(values: list[float], *, highest: bool) -> float:
    """The higher (or lower) of both sides' values, skipping a side that was not measured."""
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return float("nan")
    return max(finite) if highest else min(finite)


def _best_side(track: feat.Track, joints: tuple[str, ...]) -> str:
    vis = {s: float(np.nanmean(feat.side_visibility(track, joints, s))) for s in feat.SIDES}
    return max(vis, key=lambda s: vis[s])


def hip_sag(track: feat.Track) -> float:
    """How far the hips drop below the shoulder-ankle line, in torso lengths (side view).

    Positive is sagging (hips below the line, towards the floor), negative is piking.
    """
    side = _best_side(track, ("shoulder", "hip", "ankle"))
    px = track.pixels
    s = px[:, feat.landmark_index("shoulder", side)]
    h = px[:, feat.landmark_index("hip", side)]
    a = px[:, feat.landmark_index("ankle", side)]
    line = a - s
    frac = np.sum((h - s) * line, axis=1) / np.maximum(np.sum(line * line, axis=1), 1e-9)
    on_line = s + frac[:, None] * line
    below = (h[:, 1] - on_line[:, 1]) / np.maximum(feat.torso_length(track), 1e-6)
    return float(np.nanmedian(below)) if np.isfinite(below).any() else float("nan")


def elbow_drift(track: feat.Track) -> float:
    """Largest angle between upper arm and torso during the rep, degrees (elbow swinging forward)."""
    side = _best_side(track, ("shoulder", "elbow", "wrist"))
    return _nanmax(feat.side_angle(track, ("hip", "shoulder", "elbow"), side, world=True))


def knee_valgus(track: feat.Track) -> float:
    """Knee width over ankle width at the deepest frame (front views only; NaN from the side)."""
    px = track.pixels
    knees = np.abs(
        px[:, feat.landmark_index("knee", "left"), 0] - px[:, feat.landmark_index("knee", "right"), 0]
    )
    ankles = np.abs(
        px[:, feat.landmark_index("ankle", "left"), 0] - px[:, feat.landmark_index("ankle", "right"), 0]
    )
    hips = np.abs(
        px[:, feat.landmark_index("hip", "left"), 0] - px[:, feat.landmark_index("hip", "right"), 0]
    )
    frontal = hips > 0.35 * feat.torso_length(track)
    knee_angle = (
        feat.side_angle(track, ("hip", "knee", "ankle"), "left", world=True)
        + feat.side_angle(track, ("hip", "knee", "ankle"), "right", world=True)
    ) / 2
    if not (frontal & np.isfinite(knee_angle)).any():
        return float("nan")
    deepest = int(np.nanargmin(np.where(frontal, knee_angle, np.nan)))
    return float(knees[deepest] / max(float(ankles[deepest]), 1e-6))


def knee_over_toe(track: feat.Track) -> float:
    """How far the front knee passes the toes, in shin lengths (side view), at the deepest frame."""
    px = track.pixels
    best = float("-inf")
    for side in feat.SIDES:
        knee = px[:, feat.landmark_index("knee", side)]
        toe = px[:, feat.landmark_index("foot_index", side)]
        heel = px[:, feat.landmark_index("heel", side)]
        ankle = px[:, feat.landmark_index("ankle", side)]
        forward = np.sign(toe[:, 0] - heel[:, 0])
        shin = np.linalg.norm(knee - ankle, axis=1)
        past = forward * (knee[:, 0] - toe[:, 0]) / np.maximum(shin, 1e-6)
        best = max(best, _nanmax(past))
    return best


def _both_sides(track: feat.Track, joints: tuple[str, str, str]) -> FloatArray:
    """A joint angle, mean of both sides per frame (world landmarks)."""
    left = feat.side_angle(track, joints, "left", world=True)
    right = feat.side_angle(track, joints, "right", world=True)
    return np.asarray((left + right) / 2, np.float64)


def torso_swing(track: feat.Track) -> float:
    """How far the torso rocks during the rep: range of its inclination, degrees (cheating a row or
    a raise with momentum)."""
    incl = feat.torso_inclination(track)
    return _nanmax(incl) - _nanmin(incl)


def torso_lean(track: feat.Track) -> float:
    """Largest torso inclination from vertical during the rep, degrees."""
    return _nanmax(feat.torso_inclination(track))


def torso_rise(track: feat.Track) -> float:
    """Smallest torso inclination from vertical during the rep, degrees: lying flat is 90, a crunch
    curls the shoulders up to about 60-70."""
    return _nanmin(feat.torso_inclination(track))


def knee_bend(track: feat.Track) -> float:
    """Deepest knee flexion during the rep (180 minus the smallest knee angle), degrees."""
    return 180.0 - _nanmin(_both_sides(track, ("hip", "knee", "ankle")))


def hip_extension(track: feat.Track) -> float:
    """Largest hip angle (shoulder-hip-knee) during the rep, degrees: 180 is fully extended."""
    return _nanmax(_both_sides(track, ("shoulder", "hip", "knee")))


def arm_raise(track: feat.Track) -> float:
    """Highest upper arm during the rep: its angle from the torso (hip-shoulder-elbow) on the
    higher side, degrees (90 is level with the shoulder)."""
    return _either_side(
        [
            _nanmax(feat.side_angle(track, ("hip", "shoulder", "elbow"), side, world=True))
            for side in feat.SIDES
        ],
        highest=True,
    )


def elbow_flare(track: feat.Track) -> float:
    """Widest the elbows get during the rep, in shoulder widths (world)."""
    elbows = feat.world_distance(track, "elbow", "left", "elbow", "right")
    shoulders = feat.world_distance(track, "shoulder", "left", "shoulder", "right")
    return _nanmax(elbows / np.maximum(shoulders, 1e-6))


def knee_drive(track: feat.Track) -> float:
    """Smallest hip angle (shoulder-hip-knee) of either leg during the rep, degrees: a knee driven
    to hip height closes it to about 90."""
    return _either_side(
        [
            _nanmin(feat.side_angle(track, ("shoulder", "hip", "knee"), side, world=True))
            for side in feat.SIDES
        ],
        highest=False,
    )


def twist_reach(track: feat.Track) -> float:
    """Farthest the hands get beside a hip during the rep, metres (a Russian twist's touch)."""
    return _either_side(
        [_nanmax(feat.lateral_offset(track, "wrist", "hip", side)) for side in feat.SIDES], highest=True
    )


#: Measures of the whole rep's frames, and whether a value *above* the limit is the fault.
MEASURES: dict[str, tuple[Callable[[feat.Track], float], bool]] = {
    "torso_swing": (torso_swing, True),
    "torso_lean": (torso_lean, True),
    "shallow_curl": (torso_rise, True),
    "knee_bend": (knee_bend, True),
    "hip_extension": (hip_extension, False),
    "short_raise": (arm_raise, False),
    "high_elbows": (arm_raise, True),
    "elbow_flare": (elbow_flare, True),
    "low_knees": (knee_drive, True),
    "short_twist": (twist_reach, False),
}


def evaluate(rule: FormRule, track: feat.Track, signal: FloatArray) -> bool:
    """True when the rep breaks the rule. ``signal`` is the raw (unoriented) rep signal."""
    if rule.measure == "min_signal":
        value = _nanmin(signal)
        return bool(value > rule.limit)
    if rule.measure == "max_signal":
        return bool(_nanmax(signal) < rule.limit)
    if rule.measure == "lockout":
        return bool(_nanmax(signal) < rule.limit)
    if rule.measure == "hip_sag":
        return bool(hip_sag(track) > rule.limit)
    if rule.measure == "elbow_drift":
        return bool(elbow_drift(track) > rule.limit)
    if rule.measure == "knee_valgus":
        value = knee_valgus(track)
        return bool(np.isfinite(value) and value < rule.limit)
    if rule.measure == "knee_over_toe":
        return bool(knee_over_toe(track) > rule.limit)
    if rule.measure in MEASURES:
        measure, above = MEASURES[rule.measure]
        value = measure(track)
        if not np.isfinite(value):
            return False
        return bool(value > rule.limit) if above else bool(value < rule.limit)
    raise ValueError(f"unknown form measure {rule.measure!r}")
