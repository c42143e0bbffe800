"""A stick figure whose joint angles follow a schedule: poses with known reps for pure-core tests."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from app.engine.events import Event
from app.engine.exercises.analyzer import ExerciseAnalyzer
from app.engine.exercises.spec import get_spec
from app.engine.pose.types import Landmark, Pose

THIGH, SHIN, TORSO, UPPER_ARM, FOREARM = 0.45, 0.43, 0.5, 0.3, 0.27


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    """Rotate a 2-D (x forward, y down) vector by ``deg`` degrees in the sagittal plane."""
    a = math.radians(deg)
    return np.array([v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a)])


def stick_pose(
    *,
    knee_deg: float = 180.0,
    elbow_left_deg: float = 170.0,
    elbow_right_deg: float = 170.0,
    lying: bool = False,
    size: tuple[int, int] = (640, 480),
) -> Pose:
    """A side-view figure: knee flexion bends hips back and down, elbows flex forward."""
    world = np.zeros((33, 3), np.float64)
    flex = 180.0 - knee_deg  # 0 when straight
    ankle = np.array([0.0, THIGH + SHIN])
    shin_dir = _rot(np.array([0.0, -1.0]), flex / 2)  # shin tilts forward as the knee bends
    knee = ankle + SHIN * shin_dir
    thigh_dir = _rot(shin_dir, -flex)  # thigh back by the flexion
    hip = knee + THIGH * thigh_dir
    shoulder = hip + TORSO * _rot(np.array([0.0, -1.0]), flex / 3)
    points: dict[str, np.ndarray] = {"ankle": ankle, "knee": knee, "hip": hip, "shoulder": shoulder}
    for side, elbow_deg in (("left", elbow_left_deg), ("right", elbow_right_deg)):
        elbow = shoulder + np.array([0.0, UPPER_ARM])
        wrist = elbow + FOREARM * _rot(np.array([0.0, 1.0]), -(180.0 - elbow_deg))
        for name, p in {**points, "elbow": elbow, "wrist": wrist}.items():
            z = 0.1 if side == "left" else -0.1
            idx = Landmark[f"{side.upper()}_{name.upper()}"]
            world[idx] = [p[0], p[1], z]
        world[Landmark[f"{side.upper()}_HEEL"]] = [
            ankle[0] - 0.05,
            ankle[1] + 0.05,
            world[Landmark[f"{side.upper()}_ANKLE"]][2],
        ]
        world[Landmark[f"{side.upper()}_FOOT_INDEX"]] = [ankle[0] + 0.15, ankle[1] + 0.05, 0.0]
        world[Landmark[f"{side.upper()}_EAR"]] = [shoulder[0], shoulder[1] - 0.2, 0.0]
    world[Landmark.NOSE] = [shoulder[0] + 0.1, shoulder[1] - 0.25, 0.0]
    if lying:  # rotate the whole body 90 degrees: y (down) becomes x
        world = world[:, [1, 0, 2]] * np.array([1.0, -1.0, 1.0])
    world -= (world[Landmark.LEFT_HIP] + world[Landmark.RIGHT_HIP]) / 2
    w, h = size
    image = np.empty((33, 3), np.float32)
    image[:, 0] = (0.5 + world[:, 0] * 0.25 * h / w).astype(np.float32)
    image[:, 1] = (0.5 + world[:, 1] * 0.25).astype(np.float32)
    image[:, 2] = world[:, 2].astype(np.float32)
    return seen_pose(image, world, size)


def seen_pose(image: np.ndarray, world: np.ndarray, size: tuple[int, int]) -> Pose:
    """A pose whose every landmark is fully visible (what the synthetic figures produce)."""
    ones = np.ones(33, np.float32)
    return Pose(
        image=image.astype(np.float32),
        world=world.astype(np.float32),
        visibility=ones,
        presence=ones,
        score=1.0,
        image_size=size,
    )


def feed(
    exercise: str, times: np.ndarray, poses: Sequence[Pose | None]
) -> tuple[ExerciseAnalyzer, list[Event]]:
    """Every event an exercise's analyzer emits over a sequence of poses, and the analyzer."""
    analyzer = ExerciseAnalyzer(get_spec(exercise))
    events: list[Event] = []
    for t, pose in zip(times, poses, strict=True):
        events += analyzer.update(pose, float(t))
    events += analyzer.finish(float(times[-1]))
    return analyzer, events


def dips(
    times: np.ndarray, centres: Sequence[float], *, rest: float, bottom: float, half_width: float = 0.9
) -> np.ndarray:
    """A signal at ``rest`` with a smooth dip to ``bottom`` around each centre time."""
    out = np.full(times.shape, rest)
    for c in centres:
        x = np.clip((times - c) / half_width, -1, 1)
        out = np.minimum(out, rest - (rest - bottom) * (1 + np.cos(np.pi * x)) / 2)
    return out
