"""The set-up check before a set: is the whole body in frame, is the camera placed well, is there light?

Pure: one pose (or none) and its frame in, a report out. The app shows the report as a picture of
what to fix; the check passes when the report has no issue for a moment (the caller's timing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.pose.types import Landmark, Pose, RgbImage

#: Body parts the check looks for, each as its landmarks.
PARTS: dict[str, tuple[Landmark, ...]] = {
    "head": (Landmark.NOSE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR),
    "shoulders": (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    "hands": (Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST),
    "hips": (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    "knees": (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE),
    "feet": (Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE),
}
WHOLE_BODY = frozenset(PARTS)

VISIBLE = 0.5  # landmark visibility that counts as seen
EDGE = 0.02  # a landmark this close to the frame's border (fraction of it) counts as cut off
TOO_CLOSE = 0.92  # the body spans more than this fraction of the frame's height
TOO_FAR = 0.33
DARK = 55.0  # mean luma (0-255) under which the pose model loses joints
BRIGHT = 230.0


@dataclass(frozen=True, slots=True)
class FramingIssue:
    code: str  # "no_person", "dark", "bright", "cut_top", "cut_bottom", "cut_side", "too_close", "too_far"
    message: str  # what is wrong, for the person
    fix: str  # what to do about it


@dataclass(frozen=True, slots=True)
class FramingReport:
    issues: tuple[FramingIssue, ...]
    brightness: float  # mean luma, 0-255
    body_height: float | None  # fraction of the frame's height the body spans
    missing: tuple[str, ...]  # parts needed but not seen in frame

    @property
    def ok(self) -> bool:
        return not self.issues


def brightness(rgb: RgbImage) -> float:
    """Mean luma (BT.601) of a subsampled frame."""
    small = rgb[::8, ::8].astype(np.float32)
    return float(np.mean(small @ np.array([0.299, 0.587, 0.114], np.float32)))


def _inside(xy: np.ndarray) -> bool:
    return bool(EDGE <= xy[0] <= 1.0 - EDGE and EDGE <= xy[1] <= 1.0 - EDGE)


def assess_framing(pose: Pose | None, rgb: RgbImage, *, needed: frozenset[str] = WHOLE_BODY) -> FramingReport:
    """What keeps this frame from being a good view of the person exercising."""
    light = brightness(rgb)
    issues: list[FramingIssue] = []
    if light < DARK:
        issues.append(
            FramingIssue("dark", "The room is too dark for the camera.", "Turn on a light facing you.")
        )
    elif light > BRIGHT:
        issues.append(
            FramingIssue("bright", "The picture is washed out.", "Move away from the window or bright light.")
        )
    if pose is None:
        issues.append(FramingIssue("no_person", "Nobody is in view.", "Step in front of the camera."))
        return FramingReport(tuple(issues), light, None, tuple(sorted(needed)))
    xy = pose.image[:, :2]
    seen = pose.visibility >= VISIBLE
    # a part is in frame when one of its landmarks is seen inside it (from the side, the far limb hides)
    missing = sorted(part for part in needed if not any(seen[lm] and _inside(xy[lm]) for lm in PARTS[part]))
    body = [lm for part in needed for lm in PARTS[part] if seen[lm]] or [
        lm for part in needed for lm in PARTS[part]
    ]
    ys = xy[body, 1]
    top, bottom = float(np.min(ys)), float(np.max(ys))
    height = bottom - top
    order = list(PARTS)
    upper = [p for p in missing if order.index(p) <= order.index("hands")]
    lower = [p for p in missing if order.index(p) >= order.index("hips")]
    if (upper and lower) or height > TOO_CLOSE:
        issues.append(
            FramingIssue(
                "too_close", "You are too close to the camera.", "Step back until your whole body shows."
            )
        )
    elif lower:
        issues.append(
            FramingIssue(
                "cut_bottom",
                f"Your {' and '.join(lower)} are out of the picture.",
                "Step back, or lower the camera to hip height and tilt it up a little.",
            )
        )
    elif upper:
        issues.append(
            FramingIssue(
                "cut_top",
                f"Your {' and '.join(upper)} are out of the picture.",
                "Step back, or raise the camera to hip height and tilt it down a little.",
            )
        )
    elif height < TOO_FAR:
        issues.append(FramingIssue("too_far", "You are far from the camera.", "Come a step or two closer."))
    xs = xy[body, 0]
    if not missing and (float(np.min(xs)) < EDGE or float(np.max(xs)) > 1 - EDGE):
        issues.append(FramingIssue("cut_side", "You are at the edge of the picture.", "Move to the middle."))
    return FramingReport(tuple(issues), light, height, tuple(missing))


def parts_for(joints: set[str]) -> frozenset[str]:
    """The parts an exercise needs in view, from the generic joints its signals use
    (``left_knee`` etc.): always shoulders and hips, and the limbs it measures."""
    needed = {"shoulders", "hips"}
    for joint in joints:
        for part, key in (("hands", "wrist"), ("hands", "elbow"), ("knees", "knee"), ("feet", "ankle")):
            if key in joint:
                needed.add(part)
    if "knees" in needed:
        needed.add("feet")
    return frozenset(needed)
