"""A rep's movement signature: a fixed-length summary of how the body moved, for comparing reps.

The main joint angles (knees, hips, elbows, shoulders: ``consistency.PROFILE_ANGLES``), each from
the side that moved more, resampled to ``POINTS`` instants evenly spread over the rep and scaled to
[0, 1] (degrees / 180): ``len(PROFILE_ANGLES) * POINTS`` numbers. World landmarks make it
independent of the camera's view; resampling makes it independent of the rep's pace, so two reps
of one exercise lie close together whatever their tempo, and a rep done differently (hips sagging,
a shorter range, another exercise) lies further away. Empty when the rep's frames cannot tell.
"""

from __future__ import annotations

import numpy as np

from . import features as feat
from .consistency import PROFILE_ANGLES

#: Instants per angle.
POINTS = 16
#: Numbers in a signature.
SIZE = POINTS * len(PROFILE_ANGLES)


def movement_signature(track: feat.Track | None) -> tuple[float, ...]:
    """The signature of the rep whose frames are ``track`` (empty if too little was seen)."""
    if track is None or len(track) < 4:
        return ()
    t = np.asarray(track.t, np.float64)
    grid = np.linspace(t[0], t[-1], POINTS)
    out: list[float] = []
    for joints in PROFILE_ANGLES:
        best: np.ndarray | None = None
        best_range = -1.0
        for side in feat.SIDES:
            a = feat.side_angle(track, joints, side, world=True)
            ok = np.isfinite(a)
            if ok.sum() < 3:
                continue
            spread = float(np.ptp(a[ok]))
            if spread > best_range:
                best, best_range = np.interp(grid, t[ok], a[ok]), spread
        if best is None:
            return ()
        out.extend(float(round(v / 180.0, 4)) for v in best)
    return tuple(out)
