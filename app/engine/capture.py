"""Frame sources: the ``FrameSource`` port and its OpenCV implementation.

A source is owned by one thread (the pipeline's capture thread): ``open``, ``read`` and ``close``
are called from it only. ``read`` returns within about a second: a frame, or None when nothing
came in time (a live source; the caller's watchdog decides when that is a stall) or at the end of
a file.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from app.errors import CameraError, VideoError

log = logging.getLogger(__name__)

# OpenCV's V4L2 backend waits up to 10 s (its default) for a frame of a stalled camera and does not
# honour CAP_PROP_READ_TIMEOUT_MSEC. It reads this variable on the first wait, so setting it before
# any capture runs keeps a read of an unplugged camera within a second.
os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "1")

import cv2  # noqa: E402  (after the environment variable above)

RgbFrame = NDArray[np.uint8]

DEFAULT_FPS = 30.0
STREAM_OPEN_TIMEOUT_MS = 5000
STREAM_READ_TIMEOUT_MS = 1000
MAX_READ_S = 1.0  # longest a read() may take, pacing and catch-up included


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame.

    ``seq`` numbers frames of a source from 0 (for a file: the frame index, so skipped frames leave
    gaps); ``t_capture`` is ``time.monotonic()`` when the frame was ready; ``t_stream`` is the
    stream time in seconds (a file: frame index / fps; a camera or stream: seconds since the source
    was first opened, so it keeps increasing across reconnects); ``rgb`` is H x W x 3 uint8.
    ``decode_s`` is the time the source spent grabbing and converting this frame (pacing excluded).
    """

    seq: int
    t_capture: float
    t_stream: float
    rgb: RgbFrame = field(repr=False, compare=False)
    decode_s: float = 0.0


class FrameSource(Protocol):
    """Where frames come from: a camera, a network stream or a video file."""

    @property
    def name(self) -> str:
        """Short label for logs, thread names and events (``cam0``, ``squat.mp4``)."""
        ...

    @property
    def is_live(self) -> bool:
        """True for cameras and network streams (they may stall); False for files (they end)."""
        ...

    def open(self) -> None:
        """Open (or reopen after ``close``); raises CameraError or VideoError with a clear message."""
        ...

    def read(self) -> Frame | None:
        """The next frame, or None after at most about 1 s without one.

        A source that is not live returns None only at its end.
        """
        ...

    def close(self) -> None:
        """Release the device or file. Idempotent."""
        ...


def _is_url(target: str) -> bool:
    return "://" in target


def source_name(target: int | str | Path) -> str:
    """A short label for a camera index, a stream URL or a file path."""
    if isinstance(target, int):
        return f"cam{target}"
    text = str(target)
    if text.isdigit():
        return f"cam{text}"
    if _is_url(text):
        return text.split("://", 1)[1].split("/", 1)[0].rsplit("@", maxsplit=1)[-1] or text
    return Path(text).name


class OpenCvFrameSource:
    """A camera index, a video file or an rtsp/http stream, read through OpenCV.

    A file normally delivers every frame as fast as it decodes (``realtime=False``). With
    ``realtime=True`` frame *i* is not delivered before *i / fps* seconds after the first read, and
    frames the reader has fallen behind on are skipped (counted in ``skipped``): the file then
    behaves like a camera, and a slow consumer sees drops as it would live. ``size`` asks a camera
    for a resolution (width, height).
    """

    def __init__(
        self,
        target: int | str | Path,
        *,
        realtime: bool = False,
        name: str | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        if isinstance(target, str) and target.isdigit():
            target = int(target)
        self._target: int | str | Path = target
        self._kind = "camera" if isinstance(target, int) else "stream" if _is_url(str(target)) else "file"
        self._realtime = realtime
        self._size = size
        self._name = name or source_name(target)
        self._cap: cv2.VideoCapture | None = None
        self._fps = DEFAULT_FPS
        self._pending: NDArray[np.uint8] | None = None
        self._pending_decode_s = 0.0
        self._index = 0  # file: index of the next frame to read
        self._seq = 0  # live: sequence number of the next frame
        self._t_first_open: float | None = None
        self._t_first_read: float | None = None
        self._eof = False
        self._skipped = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_live(self) -> bool:
        return self._kind != "file"

    @property
    def realtime(self) -> bool:
        """True if frames arrive at their own pace (a live source, or a file paced at its fps)."""
        return self.is_live or self._realtime

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def skipped(self) -> int:
        """Frames of a real-time file skipped because the reader fell behind."""
        return self._skipped

    @property
    def is_open(self) -> bool:
        return self._cap is not None

    def open(self) -> None:
        self.close()
        if self._kind == "camera":
            self._cap = self._open_camera()
        elif self._kind == "stream":
            self._cap = self._open_stream()
        else:
            self._cap = self._open_file()
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        if not math.isfinite(fps) or fps <= 1.0 or fps > 1000.0:
            log.info("%s reports no usable frame rate (%s); assuming %s fps", self._name, fps, DEFAULT_FPS)
            fps = DEFAULT_FPS
        self._fps = fps
        now = time.monotonic()
        if self._t_first_open is None:
            self._t_first_open = now
        log.info("Opened %s %s (%s, %.2f fps)", self._kind, self._name, self._cap.getBackendName(), fps)

    def _open_camera(self) -> cv2.VideoCapture:
        index = int(self._target)  # type: ignore[arg-type]
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            cap.release()
            raise CameraError(
                f"Camera {index} could not be opened: is it connected and not used by another program?"
            )
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if self._size is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
        return cap

    def _open_stream(self) -> cv2.VideoCapture:
        url = str(self._target)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            STREAM_OPEN_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            STREAM_READ_TIMEOUT_MS,
        ]
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise CameraError(
                f"Stream '{self._name}' could not be opened: check the address, the network and that "
                "the camera is streaming."
            )
        return cap

    def _open_file(self) -> cv2.VideoCapture:
        path = Path(str(self._target))
        if not path.is_file():
            raise VideoError(f"Video '{path}' does not exist.")
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        bgr = None
        if cap.isOpened():
            t0 = time.perf_counter()
            bgr = _read_bgr(cap)
            self._pending_decode_s = time.perf_counter() - t0
        if bgr is None:
            cap.release()
            raise VideoError(f"Cannot read video '{path.name}': not a video file or corrupt.")
        # The first frame is read now so that an unreadable file fails here, with a clear message.
        self._pending = bgr
        self._index = 0
        self._eof = False
        self._t_first_read = None
        return cap

    def read(self) -> Frame | None:
        if self._cap is None:
            raise (CameraError if self.is_live else VideoError)(f"{self._name} is not open.")
        if self._kind == "file":
            return self._read_file(self._cap)
        return self._read_live(self._cap)

    def _read_live(self, cap: cv2.VideoCapture) -> Frame | None:
        t0 = time.perf_counter()
        bgr = _read_bgr(cap)
        if bgr is None:
            return None
        rgb = _to_rgb(bgr)
        decode_s = time.perf_counter() - t0
        now = time.monotonic()
        seq = self._seq
        self._seq += 1
        t_stream = now - (self._t_first_open if self._t_first_open is not None else now)
        return Frame(seq=seq, t_capture=now, t_stream=t_stream, rgb=rgb, decode_s=decode_s)

    def _read_file(self, cap: cv2.VideoCapture) -> Frame | None:
        if self._eof:
            return None
        if self._realtime:
            self._pace(cap)
            if self._eof:
                return None
        t0 = time.perf_counter()
        bgr = self._pending
        decode_s = self._pending_decode_s
        self._pending = None
        if bgr is None:
            bgr = _read_bgr(cap)
            decode_s = 0.0
            if bgr is None:
                self._eof = True
                log.info("%s: end of video after %d frames", self._name, self._index)
                return None
        rgb = _to_rgb(bgr)
        decode_s += time.perf_counter() - t0
        index = self._index
        self._index += 1
        return Frame(
            seq=index, t_capture=time.monotonic(), t_stream=index / self._fps, rgb=rgb, decode_s=decode_s
        )

    def _pace(self, cap: cv2.VideoCapture) -> None:
        """Wait until the next frame is due; skip frames the reader has fallen behind on."""
        now = time.monotonic()
        if self._t_first_read is None:
            self._t_first_read = now - self._index / self._fps
        start = now
        period = 1.0 / self._fps
        while now - self._t_first_read > (self._index + 1) * period and now - start < MAX_READ_S / 2:
            if self._pending is not None:
                self._pending = None
            elif not cap.grab():
                self._eof = True
                return
            self._index += 1
            self._skipped += 1
            now = time.monotonic()
        wait = self._t_first_read + self._index * period - now
        if wait > 0:
            time.sleep(min(wait, MAX_READ_S / 2))

    def close(self) -> None:
        cap, self._cap = self._cap, None
        self._pending = None
        if cap is not None:
            cap.release()
            log.debug("Closed %s", self._name)

    def __repr__(self) -> str:
        return f"OpenCvFrameSource({self._target!r}, realtime={self._realtime})"


def _read_bgr(cap: cv2.VideoCapture) -> NDArray[np.uint8] | None:
    ok, image = cap.read()
    if not ok or image is None:
        return None
    return np.asarray(image, dtype=np.uint8)


def _to_rgb(bgr: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if bgr.ndim == 2:
        return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB), dtype=np.uint8)
    if bgr.shape[2] == 4:
        return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB), dtype=np.uint8)
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
