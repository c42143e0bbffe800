"""Exposure: a dim, flat picture stretched to the range the pose networks were trained on.

A gym at night, a cheap webcam turning its gain up, a phone filming against a floodlight: the person
ends up in a third of the brightness range, under sensor noise, and the pose networks lose them (the
shared clips made dim and noisy: crunch_01 lost 8 of its 10 reps, curl_08 2 of 10). This front end
stretches the picture's 1st to 99th luminance percentile towards the full range, by at most
``MAX_GAIN``, around its middle, after a light smoothing: the stretch amplifies the sensor noise with
the picture (squat_06 made dim lost the person when stretched unsmoothed, and kept its 3 reps smoothed).
A picture the networks already read is left exactly as it is (a needed gain under ``START_GAIN``), so
video filmed in fair light gives the poses it always gave; the stretch grows smoothly from there and is
whole from ``FULL_GAIN``. In a stream the levels are followed over frames, as a camera's meter is
(``Exposure``): a picture that hovers near the threshold does not flicker between stretched and not.
One 256-entry table a frame, applied with ``cv2.LUT``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from app.engine.pose.types import RgbImage

VERSION = 5  # of what the front end does to a picture (cached poses depend on it)
LOW_PERCENTILE, HIGH_PERCENTILE = 1.0, 99.0
TARGET_SPAN = 0.95 * 255.0  # the stretched percentiles land 2.5 % inside black and white
# The networks find a person in a picture spanning half the range: every shared clip as filmed spans 45 %
# or more (pushup_09, at night, 47 %), and was counted. So a picture spanning 43 % or more is left alone...
START_GAIN = 2.2
FULL_GAIN = 2.8  # ...and one spanning 34 % or less (the dim condition: 16-39 %) is stretched all the way
MAX_GAIN = 3.0  # more only amplifies sensor noise
SAMPLES = 4096  # pixels the percentiles are taken from
FOLLOW = 0.15  # weight of a new frame's levels in a stream's (about half a second at 15 frames a second)

Lut = npt.NDArray[np.uint8]


def picture_levels(rgb: RgbImage) -> tuple[float, float]:
    """The picture's 1st and 99th luminance percentiles (0-255), from a spread sample of its pixels."""
    h, w = rgb.shape[:2]
    step = max(1, int(np.sqrt(h * w / SAMPLES)))
    sample = rgb[::step, ::step].reshape(-1, rgb.shape[2]).astype(np.float32)
    luma = sample @ np.array([0.299, 0.587, 0.114], np.float32)
    lo, hi = np.percentile(luma, [LOW_PERCENTILE, HIGH_PERCENTILE])
    return float(lo), float(hi)


def table_for(lo: float, hi: float) -> Lut | None:
    """The brightness table for a picture with these levels (None: exposed well enough)."""
    needed = TARGET_SPAN / max(hi - lo, 1.0)
    share = float(np.clip((needed - START_GAIN) / (FULL_GAIN - START_GAIN), 0.0, 1.0))
    if share == 0.0:
        return None
    gain = 1.0 + share * (min(needed, MAX_GAIN) - 1.0)
    middle = (lo + hi) / 2.0
    centre = middle + share * (127.5 - middle)
    levels = (np.arange(256, dtype=np.float32) - np.float32(middle)) * np.float32(gain) + np.float32(centre)
    return np.asarray(np.clip(np.rint(levels), 0, 255), np.uint8)


def exposure_table(rgb: RgbImage) -> Lut | None:
    """The table for one picture on its own."""
    return table_for(*picture_levels(rgb))


def exposed(image: RgbImage, table: Lut | None) -> RgbImage:
    """``image`` through ``table`` (unchanged without one)."""
    if table is None:
        return image
    # a stretch amplifies sensor noise with the picture: smoothed first, as a camera does at high gain
    return np.asarray(cv2.LUT(cv2.GaussianBlur(image, (5, 5), 1.0), table), np.uint8)


class Exposure:
    """A stream's exposure: its levels followed over frames, the table made from them."""

    def __init__(self, follow: float = FOLLOW) -> None:
        self.follow = follow
        self._levels: tuple[float, float] | None = None

    def reset(self) -> None:
        self._levels = None

    def table(self, rgb: RgbImage) -> Lut | None:
        """The table for the stream's next picture. A wider picture is taken at once (less stretch is never
        wrong: a black first frame must not blow out the next ones); a flatter one is followed gradually."""
        lo, hi = picture_levels(rgb)
        if self._levels is not None and hi - lo < self._levels[1] - self._levels[0]:
            a = self.follow
            lo = self._levels[0] + a * (lo - self._levels[0])
            hi = self._levels[1] + a * (hi - self._levels[1])
        self._levels = (lo, hi)
        return table_for(lo, hi)
