"""Turn a pose track into an exercise's movement signal, per side, with gating.

The signal comes from world landmarks (metres), so it survives front, side and oblique views;
heights use the image, where "up" is reliable. A frame whose joints are not visible enough, whose
posture does not match the exercise, or whose skeleton is implausible yields NaN: it cannot add
or complete a rep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import features as feat
from .spec import GateSpec, SignalSpec

FloatArray = feat.FloatArray


@dataclass(frozen=True, slots=True)
class SideSignals:
    """Oriented signal (rest high) per side, and the visibility behind each sample."""

    values: dict[str, FloatArray]  # side -> (T,)
    visibility: dict[str, FloatArray]
    gate: FloatArray  # (T,) bool as 0/1: the posture allows counting


def raw_signal(track: feat.Track, signal: SignalSpec, side: str) -> FloatArray:
    """The signal in its natural units (degrees or metres), unoriented."""
    j = signal.joints
    if signal.kind == "angle":
        return feat.side_angle(track, (j[0], j[1], j[2]), side, world=True)
    if signal.kind == "image_angle":
        return feat.side_angle(track, (j[0], j[1], j[2]), side, world=False)
    if signal.kind == "elevation":
        return feat.elevation(track, j[0], side)
    if signal.kind == "twist":
        return feat.twist(track, j[0], j[1], side)
    a = track.world[:, feat.landmark_index(j[0], side)]
    b = track.world[:, feat.landmark_index(j[1], side)]
    if signal.kind == "height":
        return np.asarray(b[:, 1] - a[:, 1], np.float64)  # world y points down
    return np.asarray(np.linalg.norm(a - b, axis=1), np.float64)


def posture_mask(track: feat.Track, gate: GateSpec) -> NDArray[np.bool_]:
    """False where a pose is present in a posture that is clearly not the exercise's.

    Only the torso's angle decides: it is measured reliably from world landmarks in every view.
    An unmeasurable angle is not a wrong posture.
    """
    lo, hi = gate.torso_inclination
    incl = feat.torso_inclination(track)
    wrong = np.isfinite(incl) & ((incl < lo) | (incl > hi))
    return np.asarray(~wrong, np.bool_)


def gate_mask(track: feat.Track, gate: GateSpec, min_visibility: float) -> FloatArray:
    """1.0 where the posture allows counting and the required joints are visible, 0.0 elsewhere."""
    ok = posture_mask(track, gate) & np.isfinite(track.image[:, 0, 0])
    if gate.wrists_above_shoulders is not None:
        above = feat.relative_height(track, "wrist", "shoulder") > 0
        ok &= above == gate.wrists_above_shoulders
    for joint in gate.required_joints:
        vis = np.maximum(
            track.visibility[:, feat.landmark_index(joint, "left")],
            track.visibility[:, feat.landmark_index(joint, "right")],
        )
        ok &= vis >= min_visibility
    return np.asarray(ok, np.float64)


def side_signals(track: feat.Track, signal: SignalSpec, gate: FloatArray) -> SideSignals:
    """The signal of both sides, oriented so that the rest position is high."""
    sign = 1.0 if signal.rest == "high" else -1.0
    values: dict[str, FloatArray] = {}
    vis: dict[str, FloatArray] = {}
    for side in feat.SIDES:
        values[side] = sign * raw_signal(track, signal, side)
        vis[side] = feat.side_visibility(track, signal.joints, side)
    return SideSignals(values, vis, gate)


def combine_sides(sig: SideSignals, min_visibility: float) -> FloatArray:
    """Visibility-weighted mean of both sides; a side below ``min_visibility`` is left out.

    World landmarks of a hidden side are inferred from the visible one and usually mirror it, so
    they get a small weight instead of none when the other side is clearly visible.
    """
    left, right = sig.values["left"], sig.values["right"]
    wl = np.clip(sig.visibility["left"], 0.05, 1.0)
    wr = np.clip(sig.visibility["right"], 0.05, 1.0)
    best = np.maximum(sig.visibility["left"], sig.visibility["right"])
    both = (wl * left + wr * right) / (wl + wr)
    out = np.where(best >= min_visibility, both, np.nan)
    return np.asarray(np.where(sig.gate > 0, out, np.nan), np.float64)


def single_side(sig: SideSignals, side: str, min_visibility: float) -> FloatArray:
    """One side's signal, gated by posture; the visibility floor is shared with the other side.

    A hidden arm's world landmarks still move with it in most clips, so a side is dropped only
    when neither side is visible enough (the skeleton itself is then unreliable).
    """
    best = np.maximum(sig.visibility["left"], sig.visibility["right"])
    out = np.where((sig.gate > 0) & (best >= min_visibility), sig.values[side], np.nan)
    return np.asarray(out, np.float64)
