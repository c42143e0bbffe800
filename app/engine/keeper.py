"""Keeping the frames of a workout on disk, only when the person opted in (off by default).

``FrameKeeper`` runs its own thread (``keep-frames``): it takes the newest frame the engine saw
(``latest()``, latest wins, so a slow disk never holds the pipeline back) at most ``fps`` times a
second and writes it to an MP4 file. Without it, no frame is ever written anywhere.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import cv2

from app.engine.capture import Frame

log = logging.getLogger(__name__)


class FrameKeeper:
    def __init__(self, path: Path, latest: Callable[[], Frame | None], *, fps: float = 15.0) -> None:
        self.path, self._latest, self._fps = path, latest, fps
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keep-frames", daemon=True)
        self.written = 0

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)

    def _run(self) -> None:
        writer: cv2.VideoWriter | None = None
        last = -1
        try:
            while not self._stop.wait(1.0 / self._fps):
                frame = self._latest()
                if frame is None or frame.seq == last:
                    continue
                last = frame.seq
                if writer is None:
                    h, w = frame.rgb.shape[:2]
                    writer = cv2.VideoWriter(
                        str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), self._fps, (w, h)
                    )
                writer.write(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
                self.written += 1
        except Exception:
            log.exception("Keeping the frames in %s failed; the workout goes on without it", self.path)
        finally:
            if writer is not None:
                writer.release()
