"""The BlazePose pipeline, independent of the inference library that runs its two networks.

A numpy/OpenCV re-implementation of MediaPipe's BlazePose CPU graph: the detector finds a person
(``detection.py``), the landmark model runs on an upright square crop around them, its landmarks
are refined with the heatmap and projected back to the frame. In a stream the crop for the next
frame comes from this frame's two auxiliary landmarks, smoothed with MediaPipe's One-Euro settings,
so the detector runs only when the person is lost or the track jumps to somebody else
(``selection.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from app.engine.pose.detection import PersonDetection, PoseDetector, Roi, crop_roi, roi_from_alignment
from app.engine.pose.exposure import Exposure, exposed, exposure_table
from app.engine.pose.runners import TensorRunner
from app.engine.pose.selection import (
    BodyCircle,
    JumpLimits,
    SelectionParams,
    Torso,
    is_implausible_jump,
    match_candidate,
    rank_candidates,
    same_person,
    torso_of,
)
from app.engine.pose.smoothing import OneEuroFilter, OneEuroParams
from app.engine.pose.types import NUM_LANDMARKS, Float32Array, Pose, RgbImage

log = logging.getLogger(__name__)

NUM_MODEL_LANDMARKS = 39  # 33 pose landmarks, 2 auxiliary (body circle), 4 unused
AUX = slice(33, 35)
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5


def _sigmoid(x: Float32Array) -> Float32Array:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))).astype(np.float32)


def refine_from_heatmap(
    xy: Float32Array,
    heatmap: Float32Array,
    *,
    kernel_size: int = HEATMAP_KERNEL,
    min_confidence: float = HEATMAP_MIN_CONFIDENCE,
) -> Float32Array:
    """Landmark positions (N, 2), normalised to the crop, moved to the confidence-weighted centre
    of the sigmoid heatmap (H, W, N) in a ``kernel_size`` window around each; landmarks whose window
    peaks below ``min_confidence`` stay put. Same as MediaPipe's RefineLandmarksFromHeatmap,
    including its bounds check (which tests the column twice) and zero border."""
    hm_h, hm_w, n = heatmap.shape
    cols = np.trunc(xy[:, 0] * hm_w).astype(np.int64)  # C++ float to int conversion
    rows = np.trunc(xy[:, 1] * hm_h).astype(np.int64)
    inside = (cols >= 0) & (cols < hm_w) & (rows >= 0) & (cols < hm_h)
    offsets = np.arange(kernel_size) - (kernel_size - 1) // 2
    r = rows[:, None] + offsets  # (N, k)
    c = cols[:, None] + offsets
    valid = ((r >= 0) & (r < hm_h))[:, :, None] & ((c >= 0) & (c < hm_w))[:, None, :]
    window = heatmap[
        np.clip(r, 0, hm_h - 1)[:, :, None], np.clip(c, 0, hm_w - 1)[:, None, :], np.arange(n)[:, None, None]
    ]
    conf = np.where(valid, _sigmoid(window), 0.0)  # (N, k, k)
    total = conf.sum(axis=(1, 2))
    refine = inside & (conf.max(axis=(1, 2)) >= min_confidence) & (total > 0)
    out = xy.astype(np.float32).copy()
    safe = np.where(refine, total, 1.0)
    out[refine, 0] = ((conf * c[:, None, :]).sum(axis=(1, 2)) / hm_w / safe)[refine]
    out[refine, 1] = ((conf * r[:, :, None]).sum(axis=(1, 2)) / hm_h / safe)[refine]
    return out


def project_to_image(points: Float32Array, roi: Roi) -> Float32Array:
    """Crop-normalised (N, 3) points to frame-normalised ones (MediaPipe's LandmarkProjection)."""
    cos, sin = np.cos(roi.rotation), np.sin(roi.rotation)
    dx, dy = points[:, 0] - 0.5, points[:, 1] - 0.5
    out = np.empty_like(points, dtype=np.float32)
    out[:, 0] = (cos * dx - sin * dy) * roi.width + roi.x_center
    out[:, 1] = (sin * dx + cos * dy) * roi.height + roi.y_center
    out[:, 2] = points[:, 2] * roi.width
    return out


def rotate_world(points: Float32Array, rotation: float) -> Float32Array:
    """World landmarks (N, 3) rotated like the crop (MediaPipe's WorldLandmarkProjection)."""
    cos, sin = np.cos(rotation), np.sin(rotation)
    out = points.astype(np.float32).copy()
    out[:, 0] = cos * points[:, 0] - sin * points[:, 1]
    out[:, 1] = sin * points[:, 0] + cos * points[:, 1]
    return out


@dataclass(frozen=True, slots=True)
class LandmarkResult:
    """The landmark model's answer for one crop."""

    pose: Pose
    aux: Float32Array  # (2, 3) auxiliary landmarks, frame-normalised: body centre and circle point
    roi: Roi


class LandmarkModel:
    """Runs the BlazePose landmark network on a crop and decodes its outputs."""

    def __init__(self, runner: TensorRunner, *, min_presence: float = 0.5, refine: bool = True) -> None:
        self.runner = runner
        self._size = runner.input_size[0]
        self.min_presence = min_presence
        self.refine = refine
        self._input = np.empty((1, self._size, self._size, 3), np.float32)
        self._heatmap_shape = (self._size // 4, self._size // 4, NUM_MODEL_LANDMARKS)

    def run(self, rgb: RgbImage, roi: Roi) -> LandmarkResult | None:
        """Landmarks of the person in ``roi``, or None if the model says nobody is there."""
        image_size = (rgb.shape[1], rgb.shape[0])
        crop = crop_roi(rgb, roi.to_pixels(image_size), self._size, border=cv2.BORDER_REPLICATE)
        np.multiply(crop, np.float32(1.0 / 255.0), out=self._input[0], casting="unsafe")
        outputs = self.runner.run(self._input)
        by_shape = {o.shape[1:]: o[0] for o in outputs}
        score = float(by_shape[(1,)].reshape(-1)[0])
        if score < self.min_presence:
            return None
        raw = by_shape[(NUM_MODEL_LANDMARKS * 5,)].reshape(NUM_MODEL_LANDMARKS, 5)
        points = raw[:, :3] / np.float32(self._size)
        if self.refine:
            points[:, :2] = refine_from_heatmap(points[:, :2], by_shape[self._heatmap_shape])
        image = project_to_image(points, roi)
        world = by_shape[(NUM_MODEL_LANDMARKS * 3,)].reshape(NUM_MODEL_LANDMARKS, 3)
        pose = Pose(
            image=image[:NUM_LANDMARKS].copy(),
            world=rotate_world(world[:NUM_LANDMARKS], roi.rotation),
            visibility=_sigmoid(raw[:NUM_LANDMARKS, 3]),
            presence=_sigmoid(raw[:NUM_LANDMARKS, 4]),
            score=score,
            image_size=image_size,
        )
        return LandmarkResult(pose, image[AUX].copy(), roi)


@dataclass(frozen=True, slots=True)
class BlazePoseConfig:
    min_detection_score: float = 0.5
    min_presence: float = 0.5  # pose presence below which the person counts as gone
    nms_iou: float = 0.3
    roi_scale: float = 1.25  # margin around the body circle, as trained
    refine_with_heatmap: bool = True
    # MediaPipe smooths the two landmarks that place the next crop even with smoothing off;
    # without it the crop jitters and tracked landmarks are about twice as far off.
    roi_filter: OneEuroParams | None = field(
        default_factory=lambda: OneEuroParams(min_cutoff=0.01, beta=10.0)
    )
    detection_tries: int = 2  # candidates to try with the landmark model when acquiring
    auto_exposure: bool = True  # a dim, flat picture stretched first (``app.engine.pose.exposure``)
    selection: SelectionParams = field(default_factory=SelectionParams)
    jump_limits: JumpLimits = field(default_factory=JumpLimits)


@dataclass(frozen=True, slots=True)
class Tracked:
    """One frame's result: the pose, the person's body circle and how it was found."""

    pose: Pose
    body: BodyCircle  # from the auxiliary landmarks, pixels
    roi: Roi  # the crop the landmarks came from
    detected: bool  # the detector ran on this frame
    track_id: int  # changes whenever a different or a returning person is followed


class BlazePose:
    """Single-person BlazePose: detection, landmarks and tracking across frames."""

    def __init__(
        self, detector: TensorRunner, landmarker: TensorRunner, config: BlazePoseConfig | None = None
    ) -> None:
        self.config = config or BlazePoseConfig()
        self.detector = PoseDetector(
            detector, min_score=self.config.min_detection_score, iou_threshold=self.config.nms_iou
        )
        self.landmarks = LandmarkModel(
            landmarker, min_presence=self.config.min_presence, refine=self.config.refine_with_heatmap
        )
        self._roi_filter = OneEuroFilter(self.config.roi_filter) if self.config.roi_filter else None
        self._exposure = Exposure()
        self._track_id = 0
        self.reset()

    def reset(self) -> None:
        """Forget the tracked person (a new stream or a camera cut)."""
        self._next_roi: Roi | None = None
        self._last_body: BodyCircle | None = None
        self._last_torso: Torso | None = None
        self._last_t: float | None = None
        self._exposure.reset()
        if self._roi_filter is not None:
            self._roi_filter.reset()

    # ------------------------------------------------------------------ stateless
    def detect(self, rgb: RgbImage) -> list[PersonDetection]:
        return self.detector.detect(rgb)

    def process_image(self, rgb: RgbImage) -> LandmarkResult | None:
        """Detector then landmarks on a single image; touches no tracking state."""
        if self.config.auto_exposure:
            rgb = exposed(rgb, exposure_table(rgb))
        found = self._acquire(rgb, since_lost_s=None)
        return None if found is None else found[0]

    # ------------------------------------------------------------------ stream
    def process(self, rgb: RgbImage, t: float) -> Tracked | None:
        """The tracked person in this frame at time ``t`` seconds, or None if nobody is there."""
        if self.config.auto_exposure:
            rgb = exposed(rgb, self._exposure.table(rgb))
        result: LandmarkResult | None = None
        detected, new_track = False, self._next_roi is None
        if self._next_roi is not None:
            result = self.landmarks.run(rgb, self._next_roi)
            if result is not None and self._jumped(result, t):
                result, new_track = self._resolve_switch(rgb, result)
                detected = True
        if result is None:
            since = None if self._last_t is None else t - self._last_t
            found = self._acquire(rgb, since)
            detected = True
            if found is None:
                self._lose()
                return None
            result, body = found
            new_track = (
                new_track
                or self._last_body is None
                or not same_person(body, self._last_body, self.config.selection)
            )
        return self._commit(result, t, detected=detected, new_track=new_track)

    def _jumped(self, result: LandmarkResult, t: float) -> bool:
        if self._last_torso is None or self._last_t is None:
            return False
        torso = torso_of(result.pose.image, result.pose.image_size)
        return is_implausible_jump(self._last_torso, torso, t - self._last_t, limits=self.config.jump_limits)

    def _roi_for(self, detection: PersonDetection, image_size: tuple[int, int]) -> Roi:
        return roi_from_alignment(
            detection.keypoints[0], detection.keypoints[1], image_size, scale=self.config.roi_scale
        )

    def _candidates(self, rgb: RgbImage) -> tuple[list[PersonDetection], list[BodyCircle]]:
        image_size = (rgb.shape[1], rgb.shape[0])
        detections = self.detector.detect(rgb)
        return detections, [
            BodyCircle.from_points(d.keypoints[0], d.keypoints[1], image_size) for d in detections
        ]

    def _acquire(self, rgb: RgbImage, since_lost_s: float | None) -> tuple[LandmarkResult, BodyCircle] | None:
        image_size = (rgb.shape[1], rgb.shape[0])
        detections, bodies = self._candidates(rgb)
        order = rank_candidates(
            bodies,
            [d.score for d in detections],
            self._last_body,
            since_lost_s=since_lost_s,
            params=self.config.selection,
        )
        for i in order[: self.config.detection_tries]:
            result = self.landmarks.run(rgb, self._roi_for(detections[i], image_size))
            if result is not None:
                return result, bodies[i]
        return None

    def _resolve_switch(self, rgb: RgbImage, tracked: LandmarkResult) -> tuple[LandmarkResult, bool]:
        """The track jumped: go back to the previous person if the detector still sees them there."""
        image_size = (rgb.shape[1], rgb.shape[0])
        detections, bodies = self._candidates(rgb)
        if self._last_body is not None:
            i = match_candidate(bodies, self._last_body, self.config.selection)
            if i is not None:
                result = self.landmarks.run(rgb, self._roi_for(detections[i], image_size))
                if result is not None:
                    log.debug("track jumped; reacquired the previous person")
                    return result, False
        log.info("pose track switched to another person")
        return tracked, True

    def _commit(self, result: LandmarkResult, t: float, *, detected: bool, new_track: bool) -> Tracked:
        pose = result.pose
        w, h = pose.image_size
        body = BodyCircle.from_points(result.aux[0], result.aux[1], pose.image_size)
        if new_track:
            self._track_id += 1
            if self._roi_filter is not None:
                self._roi_filter.reset()
        aux = result.aux[:, :2]
        if self._roi_filter is not None:
            to_px = np.array([w, h], np.float64)
            smoothed = self._roi_filter.apply(aux * to_px, t, 1.0 / max(2.0 * body.radius, 1e-6))
            aux = (smoothed / to_px).astype(np.float32)
        self._next_roi = roi_from_alignment(aux[0], aux[1], pose.image_size, scale=self.config.roi_scale)
        self._last_body = body
        self._last_torso = torso_of(pose.image, pose.image_size)
        self._last_t = t
        return Tracked(pose, body, result.roi, detected, self._track_id)

    def _lose(self) -> None:
        """Nobody this frame: detect on the next one, but remember where the person was."""
        self._next_roi = None
        self._last_torso = None
        if self._roi_filter is not None:
            self._roi_filter.reset()
