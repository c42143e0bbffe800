"""Temporal smoothing of landmarks: MediaPipe's One-Euro filter, vectorised over coordinates.

The One-Euro filter (Casiez et al., CHI 2012) is a low-pass filter whose cut-off frequency rises
with the signal's speed: heavy smoothing when a joint is still (no jitter), little lag when it moves.
This is the variant in MediaPipe's ``one_euro_filter.cc``: the speed is multiplied by a value scale
(1 / object size in pixels for image landmarks) so one parameter set suits near and far people.

Default parameters are MediaPipe's for BlazePose (``pose_landmark_filtering.pbtxt``), tuned by its
authors for these very models at 30 fps:

- image landmarks: ``min_cutoff=0.05`` Hz, ``beta=80``, derivative cut-off 1 Hz, speed measured in
  object sizes per second (object size = the pose's body-circle diameter in pixels). A still joint
  gets alpha ~0.01 per frame (jitter gone); one moving at 0.3 body sizes/s gets a 24 Hz cut-off,
  alpha ~0.8, so reps are followed with a frame or two of lag, which a rep counter with hysteresis
  does not notice;
- world landmarks: ``min_cutoff=0.1``, ``beta=40``, no value scaling (they are in metres already);
- visibility: exponential moving average with alpha 0.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from app.engine.pose.types import Float32Array, Pose

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class OneEuroParams:
    min_cutoff: float  # Hz: cut-off when the signal is still
    beta: float  # cut-off gain per unit of (scaled) speed
    derivative_cutoff: float = 1.0  # Hz: smoothing of the speed estimate
    frequency: float = 30.0  # Hz: assumed rate until two timestamps are known


class OneEuroFilter:
    """One-Euro filter over an array of values that share timestamps (e.g. 33 x 3 coordinates)."""

    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        self._frequency = self.params.frequency
        self._last_t: float | None = None
        self._raw: FloatArray | None = None
        self._value: FloatArray | None = None
        self._speed: FloatArray | None = None

    def _alpha(self, cutoff: FloatArray | float) -> FloatArray | float:
        te = 1.0 / self._frequency
        tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau / te)

    def apply(self, value: NDArray[np.floating], t: float, value_scale: float = 1.0) -> FloatArray:
        """Filtered ``value`` at time ``t`` (seconds); ``value_scale`` multiplies the speed."""
        x = np.asarray(value, np.float64)
        if self._last_t is not None:
            if t <= self._last_t:  # out of order or repeated: nothing sensible to do
                return x.copy()
            self._frequency = 1.0 / (t - self._last_t)
        self._last_t = t
        if self._raw is None or self._value is None or self._speed is None or self._raw.shape != x.shape:
            self._raw, self._value, self._speed = x.copy(), x.copy(), np.zeros_like(x)
            return x.copy()
        speed = (x - self._raw) * (value_scale * self._frequency)
        a_d = self._alpha(self.params.derivative_cutoff)
        self._speed = a_d * speed + (1.0 - a_d) * self._speed
        a = self._alpha(self.params.min_cutoff + self.params.beta * np.abs(self._speed))
        self._value = a * x + (1.0 - a) * self._value
        self._raw = x
        return self._value.copy()


IMAGE_PARAMS = OneEuroParams(min_cutoff=0.05, beta=80.0)
WORLD_PARAMS = OneEuroParams(min_cutoff=0.1, beta=40.0)
VISIBILITY_ALPHA = 0.1


def body_scale_px(image: Float32Array, image_size: tuple[int, int]) -> float:
    """MediaPipe's object scale: mean of the landmarks' bounding-box width and height, in pixels."""
    w, h = image_size
    xs, ys = image[:, 0] * w, image[:, 1] * h
    return float((xs.max() - xs.min() + ys.max() - ys.min()) / 2.0)


class LandmarkSmoother:
    """Smooths a stream of poses: image and world coordinates (One-Euro) and visibility (EMA)."""

    def __init__(
        self,
        image_params: OneEuroParams = IMAGE_PARAMS,
        world_params: OneEuroParams = WORLD_PARAMS,
        visibility_alpha: float | None = VISIBILITY_ALPHA,
    ) -> None:
        self._image = OneEuroFilter(image_params)
        self._world = OneEuroFilter(world_params)
        self._visibility_alpha = visibility_alpha
        self._visibility: FloatArray | None = None

    def reset(self) -> None:
        """Forget the past: the next pose passes through unchanged."""
        self._image.reset()
        self._world.reset()
        self._visibility = None

    def apply(self, pose: Pose, t: float, *, object_scale_px: float | None = None) -> Pose:
        """The smoothed ``pose`` at time ``t``.

        ``object_scale_px`` is the person's size in pixels that image speeds are divided by; by
        default the landmarks' bounding box (MediaPipe's fallback). Image coordinates are smoothed in
        pixels, so x and y are treated alike whatever the frame's aspect ratio.
        """
        w, h = pose.image_size
        to_px = np.array([w, h, w], np.float64)
        scale = object_scale_px if object_scale_px is not None else body_scale_px(pose.image, pose.image_size)
        image_px = self._image.apply(pose.image * to_px, t, 1.0 / max(scale, 1e-6))
        world = self._world.apply(pose.world, t)
        visibility = np.asarray(pose.visibility, np.float64)
        if self._visibility_alpha is not None:
            if self._visibility is not None and self._visibility.shape == visibility.shape:
                a = self._visibility_alpha
                visibility = a * visibility + (1.0 - a) * self._visibility
            self._visibility = visibility
        return replace(
            pose,
            image=(image_px / to_px).astype(np.float32),
            world=world.astype(np.float32),
            visibility=visibility.astype(np.float32),
        )
