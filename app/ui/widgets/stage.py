"""CameraStage: the live picture, the skeleton over it, the current rep's range-of-motion arc, a flash
on each counted rep, the person being tracked marked, and the camera's state.

Painted with QPainter over a QImage that wraps the frame's pixels (no copy); the GUI's display timer
hands it the newest frame and pose (latest wins), so a slow paint never queues frames.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.engine.exercises.features import joint_angle, landmark_index
from app.engine.pose.types import Landmark as L  # noqa: N817 (the bone table reads better)
from app.engine.pose.types import Pose
from app.ui import theme

BONES: tuple[tuple[L, L], ...] = (
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_HIP), (L.RIGHT_SHOULDER, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW), (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_KNEE), (L.LEFT_KNEE, L.LEFT_ANKLE), (L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
    (L.RIGHT_HIP, L.RIGHT_KNEE), (L.RIGHT_KNEE, L.RIGHT_ANKLE), (L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX),
    (L.NOSE, L.LEFT_EYE), (L.NOSE, L.RIGHT_EYE),
)  # fmt: skip
VISIBLE = 0.5
FLASH_S = 0.45


class RomArc:
    """The joint angle an exercise measures, tracked over the current rep for the arc."""

    def __init__(self, joints: tuple[str, str, str] | None) -> None:
        self.joints = joints
        self.lo = math.inf
        self.hi = -math.inf
        self.now: float | None = None
        self.centre: tuple[float, float] | None = None
        self.rays: tuple[float, float] | None = None  # image-plane directions of the two limbs, degrees

    def rep_done(self) -> None:
        self.lo, self.hi = math.inf, -math.inf

    @property
    def rom(self) -> float | None:
        return self.hi - self.lo if self.hi >= self.lo else None

    def update(self, pose: Pose | None) -> None:
        self.now = self.centre = self.rays = None
        if pose is None or self.joints is None:
            return
        sides = [[landmark_index(j, side) for j in self.joints] for side in ("left", "right")]
        seen, lms = max((float(min(pose.visibility[i] for i in s)), s) for s in sides)  # the better-seen side
        if seen < VISIBLE:
            return
        self.now = float(joint_angle(*(pose.world[i] for i in lms)))
        self.lo, self.hi = min(self.lo, self.now), max(self.hi, self.now)
        px = pose.pixels()
        pa, pb, pc = (px[i] for i in lms)
        self.centre = (float(pb[0]), float(pb[1]))
        self.rays = (
            math.degrees(math.atan2(-(pa[1] - pb[1]), pa[0] - pb[0])),
            math.degrees(math.atan2(-(pc[1] - pb[1]), pc[0] - pb[0])),
        )


class CameraStage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAccessibleName("Camera view")
        self.setAccessibleDescription(
            "The live camera picture with your skeleton and the current rep's range"
        )
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None  # keeps the QImage's buffer alive
        self._pose: Pose | None = None
        self.arc = RomArc(None)
        self._flash_at = 0.0
        self.camera_state = "off"  # "off", "live", "lost", "paused", "ended"
        self.camera_note = ""
        self.stats_text = ""
        self.show_skeleton = True

    def set_frame(self, rgb: np.ndarray | None, pose: Pose | None) -> None:
        if rgb is not None and rgb is not self._pixels:
            frame = np.ascontiguousarray(rgb)
            h, w = frame.shape[:2]
            self._pixels = frame
            self._image = QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self._pose = pose
        self.arc.update(pose)
        self.update()

    def flash(self) -> None:
        self._flash_at = time.monotonic()
        self.arc.rep_done()
        self.update()

    @property
    def flashing(self) -> bool:
        return time.monotonic() - self._flash_at < FLASH_S

    # ------------------------------------------------------------------ painting
    def _target(self) -> QRectF:
        if self._image is None:
            return QRectF(self.rect())
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        pal = theme.current()
        p.fillRect(self.rect(), QColor("#000000"))
        target = self._target()
        if self._image is not None:
            p.drawImage(target, self._image)
        else:
            p.setPen(pal.color("muted"))
            p.setFont(theme.font(14))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Waiting for the camera…")
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._pose is not None and self._image is not None and self.show_skeleton:
            self._paint_pose(p, target, self._pose)
        self._paint_flash(p, target)
        self._paint_state(p, target)
        p.end()

    def _map(self, target: QRectF, pose: Pose) -> np.ndarray:
        xy = pose.image[:, :2]
        return np.stack([target.x() + xy[:, 0] * target.width(), target.y() + xy[:, 1] * target.height()], 1)

    def _paint_pose(self, p: QPainter, target: QRectF, pose: Pose) -> None:
        pal = theme.current()
        pts = self._map(target, pose)
        seen = pose.visibility >= VISIBLE
        width = max(2.0, target.height() / 180)
        p.setPen(QPen(pal.color("accent"), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        for a, b in BONES:
            if seen[a] and seen[b]:
                p.drawLine(QPointF(*pts[a]), QPointF(*pts[b]))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#ffffff"))
        for i in np.flatnonzero(seen[11:]) + 11:
            p.drawEllipse(QPointF(*pts[i]), width * 1.2, width * 1.2)
        # the person being tracked: a bracket around them, named
        body = pts[seen]
        if len(body):
            x0, y0 = body.min(0)
            x1, y1 = body.max(0)
            pad = 0.08 * (y1 - y0 + 1)
            box = QRectF(x0 - pad, y0 - 2.2 * pad, x1 - x0 + 2 * pad, y1 - y0 + 3.2 * pad)
            p.setPen(QPen(pal.color("good"), 2, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(box)
            p.setFont(theme.font(9, bold=True))
            p.drawText(box.topLeft() + QPointF(4, -4), "tracking you")
        self._paint_arc(p, target, pose)

    def _paint_arc(self, p: QPainter, target: QRectF, pose: Pose) -> None:
        arc = self.arc
        if arc.centre is None or arc.rays is None or arc.now is None or self._image is None:
            return
        pal = theme.current()
        sx = target.width() / self._image.width()
        cx, cy = target.x() + arc.centre[0] * sx, target.y() + arc.centre[1] * sx
        r = max(28.0, target.height() / 10)
        a0, a1 = arc.rays
        span = (a1 - a0 + 540) % 360 - 180  # the short way round
        rect = QRectF(cx - r, cy - r, 2 * r, 2 * r)
        p.setPen(QPen(pal.color("warn"), max(3.0, r / 8), Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawArc(rect, int(a0 * 16), int(span * 16))
        p.setFont(theme.font(12, bold=True))
        p.setPen(QColor("#ffffff"))
        rom = arc.rom
        label = f"{arc.now:.0f}°" + (f"  ROM {rom:.0f}°" if rom is not None and rom >= 5 else "")
        width = p.fontMetrics().horizontalAdvance(label)
        x = cx + r + 6 if cx + r + 6 + width <= target.right() - 4 else cx - r - 6 - width  # stay in frame
        p.drawText(QPointF(max(target.left() + 4, x), cy), label)

    def _paint_flash(self, p: QPainter, target: QRectF) -> None:
        age = time.monotonic() - self._flash_at
        if age >= FLASH_S:
            return
        alpha = 1.0 - age / FLASH_S
        color = QColor(theme.current().good)
        color.setAlphaF(0.85 * alpha)
        p.setPen(QPen(color, 14))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(target.adjusted(7, 7, -7, -7))

    def _paint_state(self, p: QPainter, target: QRectF) -> None:
        pal = theme.current()
        p.setFont(theme.font(10, bold=True))
        dot = {"live": pal.bad, "lost": pal.warn, "paused": pal.warn}.get(self.camera_state, pal.muted)
        label = {"live": "CAMERA ON", "lost": "CAMERA LOST", "paused": "PAUSED", "ended": "ENDED"}.get(
            self.camera_state, "CAMERA OFF"
        )
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(
            QRectF(target.x() + 10, target.y() + 10, 150 * theme.scale(), 28 * theme.scale()), 6, 6
        )
        p.setBrush(QColor(dot))
        p.drawEllipse(QPointF(target.x() + 24, target.y() + 10 + 14 * theme.scale()), 6, 6)
        p.setPen(QColor("#ffffff"))
        p.drawText(QPointF(target.x() + 36, target.y() + 15 + 14 * theme.scale()), label)
        if self.stats_text:
            p.setFont(theme.font(9))
            p.drawText(
                QRectF(target.x(), target.bottom() - 28, target.width() - 10, 24),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                self.stats_text,
            )
        if self.camera_state in ("lost", "paused") and self.camera_note:
            p.setBrush(QColor(0, 0, 0, 180))
            p.setPen(Qt.PenStyle.NoPen)
            band = QRectF(target.x(), target.center().y() - 40, target.width(), 80)
            p.drawRect(band)
            p.setPen(QColor(pal.warn))
            p.setFont(theme.font(18, bold=True))
            p.drawText(band, Qt.AlignmentFlag.AlignCenter, self.camera_note)
