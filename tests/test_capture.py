"""OpenCvFrameSource on real files: generated clips, the shared test videos, broken inputs."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.capture import Frame, OpenCvFrameSource, source_name
from app.errors import CameraError, SpotterError, VideoError

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"


def make_video(path: Path, frames: int, *, fps: float = 30.0, size: tuple[int, int] = (64, 48)) -> Path:
    """A clip whose frame i is a solid red of level (8 * i) % 256 (BGR (0, 0, level))."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        image = np.zeros((size[1], size[0], 3), np.uint8)
        image[:, :, 2] = (8 * i) % 256
        writer.write(image)
    writer.release()
    return path


def read_all(source: OpenCvFrameSource, limit: int = 10_000) -> list[Frame]:
    frames: list[Frame] = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_file_delivers_every_frame_in_rgb(tmp_path: Path) -> None:
    source = OpenCvFrameSource(make_video(tmp_path / "clip.mp4", 30))
    assert (source.name, source.is_live, source.realtime) == ("clip.mp4", False, False)
    source.open()
    try:
        frames = read_all(source)
        assert source.read() is None  # stays at the end
    finally:
        source.close()
    assert [f.seq for f in frames] == list(range(30))
    assert [f.t_stream for f in frames] == pytest.approx([i / 30.0 for i in range(30)])
    assert all(f.rgb.shape == (48, 64, 3) and f.rgb.dtype == np.uint8 for f in frames)
    assert all(b.t_capture >= a.t_capture for a, b in itertools.pairwise(frames))
    red, green = frames[20].rgb[..., 0].mean(), frames[20].rgb[..., 1].mean()
    assert red > 130 and green < 20  # BGR was converted to RGB
    assert all(f.decode_s > 0 for f in frames)


def test_realtime_file_is_paced_at_its_fps(tmp_path: Path) -> None:
    source = OpenCvFrameSource(make_video(tmp_path / "clip.mp4", 16, fps=30.0), realtime=True)
    source.open()
    t0 = time.monotonic()
    frames = read_all(source)
    elapsed = time.monotonic() - t0
    source.close()
    assert 15 / 30.0 - 0.02 <= elapsed < 2.0
    assert len(frames) + source.skipped == 16


def test_realtime_file_skips_frames_when_the_reader_falls_behind(tmp_path: Path) -> None:
    source = OpenCvFrameSource(make_video(tmp_path / "clip.mp4", 60, fps=30.0), realtime=True)
    source.open()
    first = source.read()
    time.sleep(0.4)  # ~12 frame periods
    second = source.read()
    source.close()
    assert first is not None and second is not None
    assert second.seq - first.seq >= 6  # stale frames were skipped, like a camera would drop them
    assert source.skipped == second.seq - first.seq - 1
    assert second.t_stream == pytest.approx(second.seq / 30.0)


def test_reopen_starts_the_file_again(tmp_path: Path) -> None:
    source = OpenCvFrameSource(make_video(tmp_path / "clip.mp4", 10))
    source.open()
    assert [f.seq for f in read_all(source, 3)] == [0, 1, 2]
    source.close()
    source.close()  # idempotent
    source.open()
    assert [f.seq for f in read_all(source)] == list(range(10))
    source.close()


def test_corrupt_file_raises_a_clear_video_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match=r"^Cannot read video 'x.mp4': not a video file or corrupt\.$"):
        OpenCvFrameSource(bad).open()


def test_text_file_and_missing_file_raise_video_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(VideoError, match="not a video file or corrupt"):
        OpenCvFrameSource(text).open()
    with pytest.raises(VideoError, match=r"does not exist"):
        OpenCvFrameSource(tmp_path / "missing.mp4").open()


def test_missing_camera_fails_fast_with_a_clear_message() -> None:
    if Path("/dev/video99").exists():
        pytest.skip("this machine has a /dev/video99")
    source = OpenCvFrameSource(99)
    assert (source.name, source.is_live) == ("cam99", True)
    t0 = time.monotonic()
    with pytest.raises(CameraError) as info:
        source.open()
    assert time.monotonic() - t0 < 5.0
    assert str(info.value) == (
        "Camera 99 could not be opened: is it connected and not used by another program?"
    )
    assert isinstance(info.value, SpotterError)


def test_unreachable_stream_raises_camera_error() -> None:
    source = OpenCvFrameSource("rtsp://user:secret@127.0.0.1:9/live")
    assert source.is_live and source.name == "127.0.0.1:9"  # no credentials in logs or events
    with pytest.raises(CameraError, match=r"Stream '127\.0\.0\.1:9' could not be opened"):
        source.open()


def test_reading_a_closed_source_raises() -> None:
    with pytest.raises(VideoError, match="not open"):
        OpenCvFrameSource("clip.mp4").read()


def test_source_names() -> None:
    assert source_name(0) == "cam0"
    assert source_name("2") == "cam2"
    assert source_name("http://cam.local:8080/video") == "cam.local:8080"
    assert source_name(Path("/videos/squat_01.mp4")) == "squat_01.mp4"


@pytest.mark.skipif(not (VIDEOS / "curl_01.mp4").exists(), reason="shared test videos are absent")
def test_real_720p_video() -> None:
    source = OpenCvFrameSource(VIDEOS / "curl_01.mp4")
    source.open()
    try:
        frames = read_all(source, 20)
    finally:
        source.close()
    assert source.fps == pytest.approx(30.0)
    assert [f.seq for f in frames] == list(range(20))
    assert frames[0].rgb.shape == (720, 1280, 3)
    assert frames[-1].t_stream == pytest.approx(19 / 30.0)
