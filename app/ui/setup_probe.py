"""The set-up check's preview: frames and poses from the chosen source, judged by ``assess_framing``.

A thread of its own (``setup-check``) reads the source, estimates the pose and keeps the newest
(frame, pose, report); the screen pulls it on its timer. A video file is previewed from its first
seconds (looping), then closed, so the workout itself starts the file from its first frame.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from app.engine.capture import Frame, OpenCvFrameSource
from app.engine.framing import WHOLE_BODY, FramingReport, assess_framing
from app.engine.pose.types import Pose, PoseEstimator

log = logging.getLogger(__name__)

FILE_PREVIEW_S = 3.0


@dataclass(frozen=True, slots=True)
class Look:
    frame: Frame
    pose: Pose | None
    report: FramingReport


class SetupProbe:
    def __init__(
        self, source: OpenCvFrameSource, estimator: PoseEstimator, *, needed: frozenset[str] = WHOLE_BODY
    ) -> None:
        self._source, self._estimator, self._needed = source, estimator, needed
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: Look | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="setup-check", daemon=True)

    def start(self) -> None:
        """Opens the source in the calling thread (a missing camera raises ``CameraError`` here)."""
        self._source.open()
        self._thread.start()

    @property
    def estimator(self) -> PoseEstimator:
        return self._estimator

    @property
    def latest(self) -> Look | None:
        with self._lock:
            return self._latest

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self._source.read()
                if frame is None or (not self._source.is_live and frame.t_stream > FILE_PREVIEW_S):
                    if self._source.is_live:
                        continue
                    self._source.open()  # a file: loop its first seconds
                    self._estimator.reset()
                    continue
                pose = self._estimator.estimate(frame.rgb, frame.t_stream)
                look = Look(frame, pose, assess_framing(pose, frame.rgb, needed=self._needed))
                with self._lock:
                    self._latest = look
                if not self._source.is_live:
                    self._stop.wait(1.0 / max(self._source.fps, 1.0))
        except Exception as exc:
            log.exception("The set-up check's preview failed")
            self.error = exc
        finally:
            self._source.close()
