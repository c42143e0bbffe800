"""Timed holds (plank, side plank, wall sit): the posture held, still, for long enough."""

from __future__ import annotations

from typing import Literal

import numpy as np

from . import features as feat
from .signals import gate_mask
from .spec import GateSpec, HoldSpec


def _supported(track: feat.Track, hold: HoldSpec) -> bool:
    """Shoulders above the elbows (on one side at least): held up, not lying down."""
    if hold.min_support_m is None:
        return True
    w = track.world[-1]
    support = max(
        float(w[feat.landmark_index("elbow", side), 1] - w[feat.landmark_index("shoulder", side), 1])
        for side in feat.SIDES
    )
    return support >= hold.min_support_m  # also False for NaN


def _straight(track: feat.Track, hold: HoldSpec) -> bool:
    """Straight from shoulders to ankles, knees included (a plank on the knees is another exercise)."""
    if hold.body_line_min_deg is None:
        return True
    lines = [
        min(
            feat.side_angle(track, ("shoulder", "hip", "ankle"), side, world=True)[-1],
            feat.side_angle(track, ("hip", "knee", "ankle"), side, world=True)[-1],
        )
        for side in feat.SIDES
    ]
    return bool(np.nanmax(lines) >= hold.body_line_min_deg) if np.isfinite(lines).any() else False


def _angles_held(track: feat.Track, hold: HoldSpec) -> bool:
    """Every listed joint angle within its range on at least one side (a wall sit's knees)."""
    for rule in hold.angles:
        values = [feat.side_angle(track, rule.joints, side, world=True)[-1] for side in feat.SIDES]
        if not any(rule.low <= v <= rule.high for v in values):  # NaN is never within
            return False
    return True


def _tilt_held(track: feat.Track, hold: HoldSpec) -> bool:
    if hold.shoulder_tilt is None:
        return True
    tilt = float(feat.shoulder_tilt(track)[-1])
    return hold.shoulder_tilt[0] <= tilt <= hold.shoulder_tilt[1]


def in_hold_posture(track: feat.Track, hold: HoldSpec, gate: GateSpec) -> bool:
    """The last frame of ``track`` shows the hold posture: the gated torso and the spec's checks."""
    if not gate_mask(track, gate, 0.3)[-1]:
        return False
    return (
        _supported(track, hold)
        and _straight(track, hold)
        and _angles_held(track, hold)
        and _tilt_held(track, hold)
    )


class HoldTracker:
    """Turns per-frame posture into holds of at least ``min_hold_s``, bridging short breaks."""

    def __init__(self, hold: HoldSpec, gate: GateSpec) -> None:
        self._hold = hold
        self._gate = gate
        self._start: float | None = None
        self._last_ok: float | None = None
        self._announced = False
        self.last_hold: tuple[float, float] | None = None

    def update(self, t: float, track: feat.Track | None) -> Literal["started", "ended"] | None:
        ok = track is not None and in_hold_posture(track, self._hold, self._gate)
        if ok:
            if self._start is None:
                self._start = t
            self._last_ok = t
            if not self._announced and t - self._start >= self._hold.min_hold_s:
                self._announced = True
                return "started"
            return None
        if (
            self._start is not None
            and self._last_ok is not None
            and t - self._last_ok > self._hold.max_break_s
        ):
            return "ended" if self._close() else None
        return None

    def finish(self, t: float) -> tuple[float, float] | None:
        if self._start is None:
            return None
        return self.last_hold if self._close() else None

    def _close(self) -> bool:
        assert self._start is not None and self._last_ok is not None
        start, end = self._start, self._last_ok
        self._start, self._last_ok = None, None
        announced, self._announced = self._announced, False
        if announced and end - start >= self._hold.min_hold_s:
            self.last_hold = (round(start, 2), round(end, 2))
            return True
        return False
