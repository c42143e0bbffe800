"""BlazePose person detector: pre-processing, SSD decoding, weighted NMS and the crop geometry.

Mirrors MediaPipe's pose detection graph (ImageToTensor with letterboxing, SsdAnchors,
TensorsToDetections, weighted NonMaxSuppression, DetectionLetterboxRemoval) and the region of
interest that both the detector and the tracker hand to the landmark model (AlignmentPointsRects,
RectTransformation). The detector finds a face box plus four alignment keypoints: 0 the hip
centre, 1 a point on the circle enclosing the whole body, 2 and 3 the same for the upper body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from app.engine.pose.runners import TensorRunner
from app.engine.pose.types import Float32Array, RgbImage

NUM_KEYPOINTS = 4
BOX_COORDS = 4 + 2 * NUM_KEYPOINTS  # x_centre, y_centre, w, h, then x, y per keypoint
ANCHOR_STRIDES = (8, 16, 32, 32, 32)


@dataclass(frozen=True, slots=True)
class Roi:
    """A rotated rectangle in normalised image coordinates (MediaPipe's ``NormalizedRect``)."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float  # radians, clockwise in image coordinates (y down)

    def to_pixels(self, image_size: tuple[int, int]) -> tuple[float, float, float, float, float]:
        w, h = image_size
        return self.x_center * w, self.y_center * h, self.width * w, self.height * h, self.rotation


@dataclass(frozen=True, slots=True)
class PersonDetection:
    """One detected person, normalised to the frame: face box and alignment keypoints."""

    score: float
    box: Float32Array  # (4,) xmin, ymin, xmax, ymax of the face
    keypoints: Float32Array  # (4, 2) x, y


def ssd_anchors(input_size: int) -> Float32Array:
    """Anchor centres (N, 2) of the pose detector: 2 anchors per cell, fixed size 1."""
    centres: list[Float32Array] = []
    i = 0
    while i < len(ANCHOR_STRIDES):
        j = i
        while j < len(ANCHOR_STRIDES) and ANCHOR_STRIDES[j] == ANCHOR_STRIDES[i]:
            j += 1
        per_cell = 2 * (j - i)  # aspect ratio 1 plus the interpolated scale, per layer
        cells = math.ceil(input_size / ANCHOR_STRIDES[i])
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        xs, ys = np.meshgrid(grid, grid)
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
        i = j
    return np.concatenate(centres).astype(np.float32)


def _normalize_radians(angle: float) -> float:
    return angle - 2.0 * math.pi * math.floor((angle + math.pi) / (2.0 * math.pi))


def roi_from_alignment(
    p0: Float32Array, p1: Float32Array, image_size: tuple[int, int], *, scale: float = 1.25
) -> Roi:
    """Crop for the landmark model: centred on ``p0``, side 2|p1 - p0| x ``scale``, upright body.

    ``p0`` and ``p1`` are normalised (x, y): the detector's keypoints 0 and 1, or the landmark
    model's two auxiliary landmarks when tracking.
    """
    w, h = image_size
    x0, y0 = float(p0[0]) * w, float(p0[1]) * h
    x1, y1 = float(p1[0]) * w, float(p1[1]) * h
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * scale
    rotation = _normalize_radians(math.pi / 2.0 - math.atan2(-(y1 - y0), x1 - x0))
    return Roi(x0 / w, y0 / h, side / w, side / h, rotation)


def crop_roi(
    rgb: RgbImage, roi_px: tuple[float, float, float, float, float], size: int, *, border: int
) -> RgbImage:
    """The rotated rectangle (cx, cy, w, h, rotation) in pixels, resampled to ``size`` x ``size``.

    Same corner mapping and bilinear sampling as MediaPipe's OpenCV ImageToTensor converter.
    """
    cx, cy, w, h, rotation = roi_px
    corners = cv2.boxPoints(((cx, cy), (w, h), math.degrees(rotation)))
    target = np.array([[0, size], [0, 0], [size, 0]], np.float32)
    matrix = cv2.getAffineTransform(np.asarray(corners[:3], np.float32), target)
    out = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0)
    return np.asarray(out, np.uint8)


def detector_input(rgb: RgbImage, size: int) -> tuple[Float32Array, tuple[float, float]]:
    """Letterboxed, [-1, 1] scaled detector input (1, size, size, 3) and the (x, y) padding fractions."""
    h, w = rgb.shape[:2]
    side = float(max(w, h))
    crop = crop_roi(rgb, (w / 2.0, h / 2.0, side, side, 0.0), size, border=cv2.BORDER_CONSTANT)
    x = crop.astype(np.float32)
    x *= 1.0 / 127.5
    x -= 1.0
    return x[None], ((1.0 - w / side) / 2.0, (1.0 - h / side) / 2.0)


def decode_boxes(
    raw_boxes: Float32Array,
    raw_scores: Float32Array,
    anchors: Float32Array,
    *,
    input_size: int,
    min_score: float,
) -> tuple[Float32Array, Float32Array]:
    """Detections above ``min_score``: corners+keypoints (N, 12) normalised to the input, scores (N,).

    Rows are xmin, ymin, xmax, ymax, then x, y of the four keypoints.
    """
    # MediaPipe clips logits to +-100; +-80 keeps exp() finite in float32 and changes no decision.
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -80.0, 80.0)))
    keep = np.flatnonzero(scores >= min_score)
    b = raw_boxes.reshape(-1, BOX_COORDS)[keep] / float(input_size)
    a = anchors[keep]
    xc, yc = b[:, 0] + a[:, 0], b[:, 1] + a[:, 1]
    half_w, half_h = b[:, 2] / 2.0, b[:, 3] / 2.0
    valid = (half_w > 0) & (half_h > 0)
    out = np.empty((keep.size, BOX_COORDS), np.float32)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = xc - half_w, yc - half_h, xc + half_w, yc + half_h
    out[:, 4:] = (b[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + a[:, None, :]).reshape(-1, 2 * NUM_KEYPOINTS)
    return out[valid], scores[keep][valid].astype(np.float32)


def iou_matrix(boxes: Float32Array) -> Float32Array:
    """Pairwise intersection over union of (N, 4) xmin, ymin, xmax, ymax boxes."""
    lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:4], boxes[None, :, 2:4])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area[:, None] + area[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0).astype(np.float32)


def weighted_nms(
    dets: Float32Array, scores: Float32Array, iou_threshold: float
) -> list[tuple[float, Float32Array]]:
    """MediaPipe's weighted non-maximum suppression, best first.

    Each cluster (the best remaining detection and every remaining one overlapping it by more than
    ``iou_threshold``) becomes one detection: score of the best, coordinates averaged by score.
    """
    order = np.argsort(-scores, kind="stable")
    dets, scores = dets[order], scores[order]
    overlaps = iou_matrix(dets[:, :4]) > iou_threshold
    remaining = np.ones(len(scores), bool)
    merged: list[tuple[float, Float32Array]] = []
    for top in range(len(scores)):
        if not remaining[top]:
            continue
        cluster = remaining & overlaps[top]
        cluster[top] = True
        weights = scores[cluster]
        merged.append((float(scores[top]), (weights @ dets[cluster]) / weights.sum()))
        remaining &= ~cluster
    return merged


def remove_letterbox(det: Float32Array, pad: tuple[float, float]) -> Float32Array:
    """Coordinates normalised to the letterboxed square, mapped back to the frame."""
    pad_x, pad_y = pad
    out = det.astype(np.float32).copy()
    out[0::2] = (out[0::2] - pad_x) / (1.0 - 2.0 * pad_x)
    out[1::2] = (out[1::2] - pad_y) / (1.0 - 2.0 * pad_y)
    return out


class PoseDetector:
    """Runs the BlazePose detector network and decodes its output into ``PersonDetection``s."""

    def __init__(self, runner: TensorRunner, *, min_score: float = 0.5, iou_threshold: float = 0.3) -> None:
        self.runner = runner
        self._size = runner.input_size[0]
        self._anchors = ssd_anchors(self._size)
        self.min_score = min_score
        self.iou_threshold = iou_threshold

    def detect(self, rgb: RgbImage) -> list[PersonDetection]:
        """People in ``rgb``, most confident first."""
        x, pad = detector_input(rgb, self._size)
        outputs = self.runner.run(x)
        boxes = next(o for o in outputs if o.shape[-1] == BOX_COORDS)
        scores = next(o for o in outputs if o.shape[-1] == 1)
        dets, det_scores = decode_boxes(
            boxes[0], scores[0], self._anchors, input_size=self._size, min_score=self.min_score
        )
        if det_scores.size == 0:
            return []
        people = []
        for score, merged in weighted_nms(dets, det_scores, self.iou_threshold):
            d = remove_letterbox(merged, pad)
            people.append(PersonDetection(score, d[:4], d[4:].reshape(NUM_KEYPOINTS, 2)))
        return people
