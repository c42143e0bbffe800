"""Geometric features of a pose track, vectorised over frames.

A *track* is the sequence of poses of one person: image coordinates (T, 33, 3) normalised to the
frame, world coordinates (T, 33, 3) in metres, visibility (T, 33). Frames without a pose are NaN.
Every feature returns an array of shape (T,) with NaN where it cannot be measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.engine.pose.types import Landmark, Pose

FloatArray = NDArray[np.float64]

SIDES = ("left", "right")

#: Generic joint names used by exercise specs, resolved per side.
JOINTS = (
    "shoulder",
    "elbow",
    "wrist",
    "hip",
    "knee",
    "ankle",
    "heel",
    "foot_index",
    "ear",
    "index",
)


def landmark_index(joint: str, side: str) -> int:
    """Index of a generic joint on one side, e.g. ("knee", "left") -> 25; "nose" has no side."""
    if joint == "nose":
        return int(Landmark.NOSE)
    return int(Landmark[f"{side.upper()}_{joint.upper()}"])


@dataclass(frozen=True, slots=True)
class Track:
    """Poses of one person over time, as arrays (see module docstring)."""

    t: FloatArray  # (T,)
    image: FloatArray  # (T, 33, 3), x and y normalised
    world: FloatArray  # (T, 33, 3) metres
    visibility: FloatArray  # (T, 33)
    image_size: tuple[int, int]

    @property
    def pixels(self) -> FloatArray:
        """Image x, y in pixels (T, 33, 2): angles need the real aspect ratio."""
        w, h = self.image_size
        return self.image[:, :, :2] * np.array([w, h], np.float64)

    def pose_at(self, i: int) -> Pose | None:
        """The pose of frame ``i`` (None where nobody was seen)."""
        if not np.isfinite(self.image[i, 0, 0]):
            return None
        vis = self.visibility[i].astype(np.float32)
        return Pose(
            image=self.image[i].astype(np.float32),
            world=self.world[i].astype(np.float32),
            visibility=vis,
            presence=vis,
            score=1.0,
            image_size=self.image_size,
        )

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @staticmethod
    def from_poses(times: list[float], poses: list[Pose | None], image_size: tuple[int, int]) -> Track:
        n = len(poses)
        image = np.full((n, 33, 3), np.nan)
        world = np.full((n, 33, 3), np.nan)
        vis = np.zeros((n, 33))
        for i, pose in enumerate(poses):
            if pose is not None:
                image[i] = pose.image
                world[i] = pose.world
                vis[i] = pose.visibility
        return Track(np.asarray(times, np.float64), image, world, vis, image_size)


def joint_angle(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Angle ABC in degrees for points of shape (..., D)."""
    u = a - b
    v = c - b
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    cos = np.sum(u * v, axis=-1) / np.maximum(nu * nv, 1e-9)
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), np.float64)


def side_angle(track: Track, joints: tuple[str, str, str], side: str, *, world: bool) -> FloatArray:
    ia, ib, ic = (landmark_index(j, side) for j in joints)
    pts = track.world if world else track.pixels
    return joint_angle(pts[:, ia], pts[:, ib], pts[:, ic])


def side_visibility(track: Track, joints: tuple[str, ...], side: str) -> FloatArray:
    """Mean visibility of the joints, per frame.

    A joint hidden behind the body (a wrist at the bottom of a head-on push-up) still has a good
    world position when its neighbours are seen, so one hidden joint must not veto the frame.
    """
    idx = [landmark_index(j, side) for j in joints]
    return np.asarray(track.visibility[:, idx].mean(axis=1), np.float64)


def midpoint(track: Track, joint: str) -> FloatArray:
    """Mean of the left and right joint in pixels (T, 2)."""
    left = track.pixels[:, landmark_index(joint, "left")]
    right = track.pixels[:, landmark_index(joint, "right")]
    return np.asarray((left + right) / 2.0, np.float64)


def torso_length(track: Track) -> FloatArray:
    """Shoulder-midpoint to hip-midpoint distance in pixels."""
    return np.asarray(
        np.linalg.norm(midpoint(track, "shoulder") - midpoint(track, "hip"), axis=1), np.float64
    )


def torso_inclination(track: Track) -> FloatArray:
    """Angle of the hip->shoulder line from vertical, degrees (0 upright, 90 horizontal).

    Measured in world coordinates, whose y axis is the camera's vertical: a torso pointing at the
    camera (a head-on push-up) is horizontal there although it looks upright in the image.
    """
    w = track.world
    ls, rs = landmark_index("shoulder", "left"), landmark_index("shoulder", "right")
    lh, rh = landmark_index("hip", "left"), landmark_index("hip", "right")
    d = (w[:, ls] + w[:, rs]) / 2 - (w[:, lh] + w[:, rh]) / 2
    norm = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    return np.asarray(np.degrees(np.arccos(np.clip(-d[:, 1] / norm, -1.0, 1.0))), np.float64)


def relative_height(track: Track, joint: str, ref: str) -> FloatArray:
    """Height of ``joint`` above ``ref`` (midpoints), in torso lengths (image y points down)."""
    dy = midpoint(track, ref)[:, 1] - midpoint(track, joint)[:, 1]
    return np.asarray(dy / np.maximum(torso_length(track), 1e-6), np.float64)


def elevation(track: Track, joint: str, side: str) -> FloatArray:
    """Height of a joint in the image, in frame heights (0 at the bottom edge, 1 at the top).

    A whole-body rise (a jump, a step onto a box) moves every joint in the image while the world
    landmarks, centred on the hips, stay put; with a camera that stands still this sees it.
    """
    return np.asarray(1.0 - track.image[:, landmark_index(joint, side), 1], np.float64)


def lateral_offset(track: Track, joint: str, ref: str, side: str) -> FloatArray:
    """How far the midpoint of both ``joint`` lies towards ``side`` of the midpoint of both ``ref``,
    along the line through the two ``ref`` joints (world, metres); 0 on the other side."""
    w = track.world
    ref_l, ref_r = w[:, landmark_index(ref, "left")], w[:, landmark_index(ref, "right")]
    across = ref_l - ref_r if side == "left" else ref_r - ref_l
    unit = across / np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-9)
    mid = (w[:, landmark_index(joint, "left")] + w[:, landmark_index(joint, "right")]) / 2
    offset = np.sum((mid - (ref_l + ref_r) / 2) * unit, axis=1)
    return np.asarray(np.maximum(offset, 0.0), np.float64)


def shoulder_tilt(track: Track) -> FloatArray:
    """Angle of the shoulder line from horizontal, degrees (world): about 0 when both shoulders are
    level (standing, a plank) and near 90 when one is above the other (a side plank)."""
    w = track.world
    d = w[:, landmark_index("shoulder", "left")] - w[:, landmark_index("shoulder", "right")]
    norm = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    return np.asarray(np.degrees(np.arcsin(np.clip(np.abs(d[:, 1]) / norm, 0.0, 1.0))), np.float64)


def world_height(track: Track, joint: str, ref: str) -> FloatArray:
    """Height of the midpoint of both ``joint`` above the midpoint of both ``ref``, metres (world)."""
    w = track.world
    j = (w[:, landmark_index(joint, "left")] + w[:, landmark_index(joint, "right")]) / 2
    r = (w[:, landmark_index(ref, "left")] + w[:, landmark_index(ref, "right")]) / 2
    return np.asarray(r[:, 1] - j[:, 1], np.float64)


def world_distance(track: Track, joint: str, side_a: str, other: str, side_b: str) -> FloatArray:
    """Distance between two landmarks (world, metres), e.g. the left and the right wrist."""
    w = track.world
    a = w[:, landmark_index(joint, side_a)]
    b = w[:, landmark_index(other, side_b)]
    return np.asarray(np.linalg.norm(a - b, axis=1), np.float64)


def twist(track: Track, upper: str, lower: str, side: str) -> FloatArray:
    """Rotation of the ``upper`` line (shoulders) against the ``lower`` line (hips) towards ``side``,
    about the axis between their midpoints, degrees (world); 0 when turned the other way.

    A Russian twist turns the chest to one side, then the other: each side sees its own turns.
    """
    w = track.world
    lo = w[:, landmark_index(lower, "left")] - w[:, landmark_index(lower, "right")]
    up = w[:, landmark_index(upper, "left")] - w[:, landmark_index(upper, "right")]
    axis = (
        w[:, landmark_index(upper, "left")]
        + w[:, landmark_index(upper, "right")]
        - w[:, landmark_index(lower, "left")]
        - w[:, landmark_index(lower, "right")]
    )
    axis = axis / np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-9)
    lo = lo - np.sum(lo * axis, axis=1, keepdims=True) * axis
    up = up - np.sum(up * axis, axis=1, keepdims=True) * axis
    turn = np.degrees(np.arctan2(np.sum(np.cross(lo, up) * axis, axis=1), np.sum(lo * up, axis=1)))
    toward = turn if side == "left" else -turn
    return np.asarray(np.maximum(toward, 0.0), np.float64)


def chest_up(track: Track) -> FloatArray:
    """Which way the chest faces: 1 at the ceiling (lying on the back), -1 at the floor (a plank),
    0 ahead (standing). The upward part of the torso's forward normal (world)."""
    w = track.world
    across = (
        w[:, landmark_index("shoulder", "left")]
        - w[:, landmark_index("shoulder", "right")]
        + w[:, landmark_index("hip", "left")]
        - w[:, landmark_index("hip", "right")]
    )
    up = (
        w[:, landmark_index("shoulder", "left")]
        + w[:, landmark_index("shoulder", "right")]
        - w[:, landmark_index("hip", "left")]
        - w[:, landmark_index("hip", "right")]
    )
    forward = np.cross(across, up)
    forward = forward / np.maximum(np.linalg.norm(forward, axis=1, keepdims=True), 1e-9)
    return np.asarray(-forward[:, 1], np.float64)  # world y points down
