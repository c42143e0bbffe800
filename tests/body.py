"""A 3-D stick figure posed by joint angles: synthetic motion for exercises no real clip shows.

``tests/synthetic.py`` bends knees and elbows in one plane; this figure also hinges, twists, raises
the arms forwards or sideways, lies down (on the back, the front or one side), rises off the floor
and points its toes, which is what the larger catalogue needs. World landmarks are centred on the
hips like BlazePose's (x forward, y down, z to the person's left, metres); the image is a still
camera from the side or the front, with the lowest point of the body on the floor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from synthetic import seen_pose

from app.engine.pose.types import Landmark, Pose

THIGH, SHIN, TORSO, UPPER_ARM, FOREARM = 0.45, 0.43, 0.5, 0.3, 0.27
HIP_HALF, SHOULDER_HALF = 0.1, 0.18
SCALE = 0.32  # frame heights per metre: a 1.8 m person fills about 60% of the frame

Bend = Literal["forward", "back", "up", "down", "in"]


@dataclass(frozen=True)
class Posture:
    """Joint angles in degrees (0 or 180 where noted: the anatomical rest), and placement."""

    trunk: float = 0.0  # torso leaned forward from the thighs' frame (hip hinge)
    twist: float = 0.0  # shoulders turned towards the left about the torso axis
    hip_l: float = 0.0  # thigh raised forward from hanging straight down
    hip_r: float = 0.0
    knee_l: float = 180.0  # knee angle, 180 straight
    knee_r: float = 180.0
    ankle: float = 0.0  # heels raised: the foot points down by this much (both feet)
    flex_l: float = 0.0  # upper arm raised forward from hanging
    flex_r: float = 0.0
    abd_l: float = 0.0  # upper arm raised sideways
    abd_r: float = 0.0
    elbow_l: float = 175.0  # elbow angle, 180 straight
    elbow_r: float = 175.0
    bend: Bend = "forward"  # which way a bent forearm points (in the torso's frame)
    pitch: float = 0.0  # whole body tipped forward (90: face down) or back (-90: on the back)
    roll: float = 0.0  # whole body rolled onto its right side (90: a side plank on the right arm)
    rise: float = 0.0  # metres the body is lifted off the floor (a jump, a box)
    stance: float = 0.0  # extra sideways distance of each foot from the hip, metres
    stride: float = 0.0  # left foot this far forward of the hip, the right as far back, metres


def _rot_z(v: np.ndarray, deg: float) -> np.ndarray:
    """Rotate in the sagittal (x, y) plane: positive turns forward-pointing vectors down."""
    a = math.radians(deg)
    return np.array([v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a), v[2]])


def _rot_axis(v: np.ndarray, axis: np.ndarray, deg: float) -> np.ndarray:
    a = math.radians(deg)
    k = axis / np.linalg.norm(axis)
    return np.asarray(v * math.cos(a) + np.cross(k, v) * math.sin(a) + k * np.dot(k, v) * (1 - math.cos(a)))


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v / max(float(np.linalg.norm(v)), 1e-9))


def _world(p: Posture) -> dict[str, np.ndarray]:
    down = np.array([0.0, 1.0, 0.0])
    up = _rot_z(-down, p.trunk)  # the torso hinges forward at the hips
    forward = _rot_z(np.array([1.0, 0.0, 0.0]), p.trunk)
    left = np.array([0.0, 0.0, 1.0])
    line = _rot_axis(left, up, p.twist)
    chest = _rot_axis(forward, up, p.twist)
    mid = TORSO * up
    pts: dict[str, np.ndarray] = {"nose": mid + 0.25 * up + 0.1 * chest}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        s = side[0]
        hip = np.array([0.0, 0.0, sign * HIP_HALF])
        thigh = _rot_z(down, -getattr(p, f"hip_{s}"))
        shin = _rot_z(thigh, 180.0 - getattr(p, f"knee_{s}"))
        offset = np.array([sign * p.stride / 2, 0.0, sign * p.stance / 2])
        knee = hip + THIGH * thigh + offset
        ankle = knee + SHIN * shin + offset
        foot = _rot_z(shin, -90.0 + p.ankle)
        pts |= {f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle}
        pts[f"{side}_heel"] = ankle - 0.06 * foot + 0.04 * shin
        pts[f"{side}_foot_index"] = ankle + 0.15 * foot
        shoulder = mid + sign * SHOULDER_HALF * line
        flex, abd = math.radians(getattr(p, f"flex_{s}")), math.radians(getattr(p, f"abd_{s}"))
        arm = _unit(
            -up * math.cos(flex) * math.cos(abd)
            + chest * math.sin(flex)
            + sign * line * math.sin(abd) * math.cos(flex)
        )
        towards = {"forward": chest, "back": -chest, "up": up, "down": -up, "in": -sign * line}[p.bend]
        perp = towards - np.dot(towards, arm) * arm
        for fallback in (chest, up):  # the arm points the way the forearm should bend
            if np.linalg.norm(perp) < 1e-6:
                perp = fallback - np.dot(fallback, arm) * arm
        fold = math.radians(180.0 - getattr(p, f"elbow_{s}"))
        forearm = arm * math.cos(fold) + _unit(perp) * math.sin(fold)
        elbow = shoulder + UPPER_ARM * arm
        wrist = elbow + FOREARM * forearm
        pts |= {f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_wrist": wrist}
        pts[f"{side}_index"] = wrist + 0.08 * forearm
        pts[f"{side}_ear"] = mid + 0.2 * up + sign * 0.07 * line
    tip = math.radians(p.pitch)
    roll = math.radians(p.roll)
    out = {}
    for name, v in pts.items():
        # pitch about the z axis (forward turns the chest to the floor), then roll about the x
        # axis (positive lifts the left side: lying on the right)
        x, y, z = v
        x, y = x * math.cos(tip) - y * math.sin(tip), x * math.sin(tip) + y * math.cos(tip)
        y, z = y * math.cos(roll) - z * math.sin(roll), y * math.sin(roll) + z * math.cos(roll)
        out[name] = np.array([x, y, z])
    return out


def pose(p: Posture, *, view: Literal["side", "front"] = "side", size: tuple[int, int] = (640, 480)) -> Pose:
    pts = _world(p)
    world = np.zeros((33, 3), np.float64)
    for name, v in pts.items():
        world[Landmark[name.upper()]] = v
    floor = max(v[1] for v in pts.values())  # the lowest point rests on the floor (y down)
    w, h = size
    image = np.zeros((33, 3), np.float32)
    across = world[:, 0] if view == "side" else -world[:, 2]
    image[:, 0] = 0.5 + across * SCALE * h / w
    image[:, 1] = 0.9 - (floor - world[:, 1] + p.rise) * SCALE
    image[:, 2] = world[:, 2 if view == "side" else 0]
    return seen_pose(image, world, size)


def bump(phase: float) -> float:
    """0 at rest, 1 at the turning point: one smooth rep over phase 0..1."""
    return (1.0 - math.cos(2.0 * math.pi * phase)) / 2.0


def sequence(
    rest: Posture,
    turn: Posture,
    *,
    reps: int,
    period_s: float,
    fps: float = 15.0,
    lead_s: float = 1.5,
    alternate: Sequence[str] = (),
    view: Literal["side", "front"] = "side",
) -> tuple[np.ndarray, list[Pose]]:
    """``reps`` smooth reps from ``rest`` to ``turn`` and back, with still rests before and after.

    With ``alternate`` (fields ending in ``_l``/``_r``), the left side moves in the first half of
    each period and the right side in the second: each period is then one rep per side.
    """
    total = lead_s + reps * period_s + lead_s
    times = np.arange(0.0, total, 1.0 / fps)
    poses = []
    for t in times:
        k = (t - lead_s) / period_s
        moving = 0.0 <= k < reps
        frac = k - math.floor(k)
        values: dict[str, Any] = {}
        for name in Posture.__dataclass_fields__:
            a, b = getattr(rest, name), getattr(turn, name)
            if isinstance(a, str):
                continue
            base = name[:-2] if name.endswith(("_l", "_r")) else None
            if base in alternate:
                half = frac * 2 if name.endswith("_l") else frac * 2 - 1
                g = bump(half) if moving and 0.0 <= half < 1.0 else 0.0
            else:
                g = bump(frac) if moving else 0.0
            values[name] = a + (b - a) * g
        poses.append(pose(replace(rest, **values), view=view))
    return times, poses


def held(
    p: Posture, *, seconds: float, fps: float = 15.0, lead: Posture | None = None
) -> tuple[np.ndarray, list[Pose]]:
    """A posture held for ``seconds`` between two seconds of ``lead`` (standing) on each side."""
    stand = lead or Posture()
    times = np.arange(0.0, seconds + 4.0, 1.0 / fps)
    return times, [pose(p if 2.0 <= t < 2.0 + seconds else stand) for t in times]
