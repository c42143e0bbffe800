"""The pose estimator port and the pose it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

Float32Array = NDArray[np.float32]
RgbImage = NDArray[np.uint8]


class Landmark(IntEnum):
    """BlazePose's 33 landmarks."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


NUM_LANDMARKS = 33


@dataclass(frozen=True, slots=True)
class Pose:
    """One person's pose in one frame.

    ``image`` holds x, y normalised to [0, 1] of the frame's width and height, and z (depth relative
    to the hips, in the same scale as x). ``world`` holds metric coordinates in metres, origin
    between the hips, y pointing down. ``visibility`` and ``presence`` are per-landmark
    probabilities in [0, 1]; ``score`` is the pose presence of the whole person.
    """

    image: Float32Array  # (33, 3)
    world: Float32Array  # (33, 3)
    visibility: Float32Array  # (33,)
    presence: Float32Array  # (33,)
    score: float
    image_size: tuple[int, int]  # (width, height) in pixels

    def pixels(self) -> Float32Array:
        """x, y of each landmark in pixels, shape (33, 2)."""
        w, h = self.image_size
        return (self.image[:, :2] * np.array([w, h], np.float32)).astype(np.float32)


@runtime_checkable
class StageTimed(Protocol):
    """An estimator that reports how its last call split between inference and smoothing."""

    def last_stage_ms(self) -> Mapping[str, float]: ...


class PoseEstimator(Protocol):
    """Finds one person's pose in RGB frames of one stream, in time order."""

    @property
    def name(self) -> str: ...

    def estimate(self, rgb: RgbImage, t: float) -> Pose | None:
        """Pose of the tracked person in ``rgb`` (H, W, 3 uint8) at time ``t`` seconds, or None."""
        ...

    def reset(self) -> None:
        """Forget tracking state (a new stream, or a camera cut)."""
        ...

    def close(self) -> None: ...
