"""LivePipeline on real video files used as cameras, with simple real processors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.engine.capture import Frame, OpenCvFrameSource
from app.engine.events import (
    CameraReconnected,
    CameraStalled,
    EngineFailed,
    Event,
    PersonFound,
    PersonLost,
    PipelineStats,
    StreamEnded,
    WorkoutPaused,
    WorkoutResumed,
)
from app.engine.pipeline import LivePipeline, PipelineConfig, PoseFrameProcessor
from app.engine.pose.types import Pose
from app.engine.sinks import CallbackSink, ListSink
from app.errors import CameraError, VideoError

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"
needs_videos = pytest.mark.skipif(not VIDEOS.is_dir(), reason="shared test videos are absent")

FAST = PipelineConfig(stall_timeout_s=0.3, backoff_s=0.02, backoff_max_s=0.1, poll_s=0.05)


@dataclass(frozen=True, slots=True)
class Brightness(Event):
    seq: int
    mean: float


@dataclass(frozen=True, slots=True)
class Finished(Event):
    frames: int


class BrightnessProcessor:
    """Emits each frame's mean brightness; ``delay_s`` simulates slow inference."""

    def __init__(self, *, delay_s: float = 0.0, fail_after: int | None = None) -> None:
        self.delay_s = delay_s
        self.fail_after = fail_after
        self.seqs: list[int] = []
        self._stages: dict[str, float] = {}

    def process(self, frame: Frame) -> list[Event]:
        if self.fail_after is not None and len(self.seqs) >= self.fail_after:
            raise RuntimeError("model exploded")
        t0 = time.perf_counter()
        mean = float(frame.rgb.mean())
        if self.delay_s:
            time.sleep(self.delay_s)
        self._stages = {"brightness": (time.perf_counter() - t0) * 1000.0}
        self.seqs.append(frame.seq)
        return [Brightness(t=frame.t_stream, seq=frame.seq, mean=mean)]

    def finish(self, t: float) -> list[Event]:
        return [Finished(t=t, frames=len(self.seqs))]

    def stage_ms(self) -> Mapping[str, float]:
        return self._stages


class FlakySource:
    """A real file source that fails like a camera being unplugged.

    For its first ``outages`` opens it delivers ``frames_per_open`` frames and then stalls (read
    waits and returns None, as a camera read times out) or raises; after ``failed_opens`` further
    open attempts fail, and then it is healthy.
    """

    is_live = True
    name = "flaky"

    def __init__(
        self, path: Path, *, frames_per_open: int, outages: int, mode: str = "stall", failed_opens: int = 0
    ) -> None:
        self._inner = OpenCvFrameSource(path, realtime=True)
        self.frames_per_open, self.outages, self.mode = frames_per_open, outages, mode
        self.failed_opens = failed_opens
        self.opens = 0
        self.good_opens = 0
        self._served = 0

    def open(self) -> None:
        self.opens += 1
        if self.good_opens > 0 and self.failed_opens > 0:
            self.failed_opens -= 1
            raise CameraError("Camera flaky could not be opened: is it connected?")
        self._inner.open()
        self.good_opens += 1
        self._served = 0

    def read(self) -> Frame | None:
        if self.good_opens <= self.outages and self._served >= self.frames_per_open:
            if self.mode == "raise":
                raise CameraError("USB device disconnected")
            time.sleep(0.05)
            return None
        self._served += 1
        return self._inner.read()

    def close(self) -> None:
        self._inner.close()


class BrokenFileSource(FlakySource):
    """A file whose decoder fails for good after a few frames."""

    is_live = False

    def read(self) -> Frame | None:
        if self._served >= self.frames_per_open:
            raise VideoError("Cannot decode frame: corrupt data")
        return super().read()


def make_video(path: Path, frames: int, *, fps: float = 30.0, size: tuple[int, int] = (64, 48)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (8 * i) % 256, np.uint8))
    writer.release()
    return path


def our_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "pose" or t.name.startswith("capture:")]


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 2.0
    while our_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not our_threads(), "a test left pipeline threads running"


def ending(sink: ListSink) -> tuple[Event, StreamEnded]:
    """The last two events other than stats (the processor's last one and the StreamEnded)."""
    *_, before, last = (e for e in sink.events if not isinstance(e, PipelineStats))
    assert isinstance(last, StreamEnded)
    return before, last


def run_to_end(pipeline: LivePipeline, timeout: float = 10.0) -> None:
    pipeline.start()
    assert pipeline.join(timeout), "the pipeline did not end by itself"


def test_file_to_eof_processes_every_frame_then_finishes(tmp_path: Path) -> None:
    sink = ListSink()
    processor = BrightnessProcessor()
    pipeline = LivePipeline(OpenCvFrameSource(make_video(tmp_path / "c.mp4", 40)), processor, sink)
    assert pipeline.blocking  # a file read at decode speed gets back-pressure by default
    run_to_end(pipeline)
    assert processor.seqs == list(range(40))
    finished, ended = ending(sink)
    assert finished == Finished(t=39 / 30.0, frames=40)
    assert (ended.t, ended.source, ended.reason) == (39 / 30.0, "c.mp4", "eof")
    stats = sink.of_type(PipelineStats)[-1]
    assert (stats.frames, stats.dropped) == (40, 0)
    assert {"decode", "process", "brightness"} <= stats.stage_ms.keys()
    assert sink.of_type(EngineFailed) == []
    assert [e.seq for e in sink.of_type(Brightness)] == list(range(40))


def test_pause_skips_analysis_until_resume_and_marks_both_in_stream_order(tmp_path: Path) -> None:
    sink = ListSink()
    processor = BrightnessProcessor()

    def pause_at_frame_10(event: Event) -> None:  # pauses from inside, at a known frame
        sink.emit(event)
        if isinstance(event, Brightness) and event.seq == 10:
            pipeline.pause("voice")

    video = make_video(tmp_path / "p.mp4", 60)
    pipeline = LivePipeline(OpenCvFrameSource(video), processor, CallbackSink(pause_at_frame_10))

    def resume_after_frame_30() -> None:
        while (frame := pipeline.latest_frame) is None or frame.seq < 30:
            time.sleep(0.001)
        pipeline.resume("voice")

    resumer = threading.Thread(target=resume_after_frame_30)
    resumer.start()
    run_to_end(pipeline)
    resumer.join()
    kinds = [type(e) for e in sink.events if not isinstance(e, PipelineStats)]
    paused_at, resumed_at = kinds.index(WorkoutPaused), kinds.index(WorkoutResumed)
    assert kinds[paused_at - 1] is Brightness and kinds[resumed_at - 1] is WorkoutPaused  # nothing between
    seqs = processor.seqs
    assert seqs[:11] == list(range(11))
    gap = seqs[11] - seqs[10]
    assert gap > 20  # frames 11..30 at least were shown but not analysed
    assert seqs[11:] == list(range(seqs[11], 60))  # everything after the resume is analysed again
    assert not pipeline.paused
    assert sink.of_type(WorkoutPaused)[0].reason == "voice"
    assert sink.of_type(StreamEnded)[-1].reason == "eof"


@needs_videos
def test_blocking_mode_drops_nothing_even_with_slow_inference() -> None:
    sink = ListSink()
    processor = BrightnessProcessor(delay_s=0.004)
    source = OpenCvFrameSource(VIDEOS / "curl_05.mp4", realtime=False)  # 67 frames
    pipeline = LivePipeline(source, processor, sink, config=PipelineConfig(blocking=True))
    run_to_end(pipeline)
    assert processor.seqs == list(range(67))
    assert pipeline.dropped == 0
    assert sink.of_type(PipelineStats)[-1].dropped == 0
    assert sink.of_type(StreamEnded)[-1].reason == "eof"


@needs_videos
def test_latest_wins_counts_drops_when_inference_is_slower_than_the_camera() -> None:
    sink = ListSink()
    processor = BrightnessProcessor(delay_s=0.08)  # 12 fps of inference against a 30 fps "camera"
    source = OpenCvFrameSource(VIDEOS / "curl_05.mp4", realtime=True)  # 67 frames, 2.2 s
    pipeline = LivePipeline(source, processor, sink, config=FAST)
    assert not pipeline.blocking
    run_to_end(pipeline)
    processed = processor.seqs
    assert processed == sorted(processed) and processed[-1] == 66  # newest frames, in order, the last one too
    assert pipeline.dropped >= 67 // 3
    assert len(processed) + pipeline.dropped == 67  # every frame is either processed or counted
    stats = sink.of_type(PipelineStats)[-1]
    assert (stats.frames, stats.dropped) == (len(processed), pipeline.dropped)
    assert stats.latency_p95_ms >= stats.latency_p50_ms >= 60.0  # the processor's 80 ms is in it


@needs_videos
def test_stop_joins_both_threads_within_two_seconds() -> None:
    sink = ListSink()
    source = OpenCvFrameSource(VIDEOS / "plank_03.mp4", realtime=True)  # 720p, 66 s
    pipeline = LivePipeline(source, BrightnessProcessor(), sink)
    pipeline.start()
    names = {t.name for t in our_threads()}
    assert {"capture:plank_03.mp4", "pose"} <= names
    assert len(sink.wait_for(Brightness, 5.0, count=5)) >= 5
    t0 = time.monotonic()
    pipeline.stop()
    assert pipeline.join(2.0) and time.monotonic() - t0 < 2.0
    assert not our_threads() and not pipeline.running
    finished, ended = ending(sink)
    assert isinstance(finished, Finished) and (ended.source, ended.reason) == ("plank_03.mp4", "stopped")


def test_context_manager_stops_and_joins_and_names_its_threads(tmp_path: Path) -> None:
    sink, seen = ListSink(), set()

    class Spy(BrightnessProcessor):
        def process(self, frame: Frame) -> list[Event]:
            seen.add(threading.current_thread().name)
            return super().process(frame)

    source = OpenCvFrameSource(make_video(tmp_path / "c.mp4", 300), realtime=True, name="cam7")
    with LivePipeline(source, Spy(), sink) as pipeline:
        sink.wait_for(Brightness, 5.0, count=3)
        assert pipeline.latest_frame is not None
        assert {t.name for t in our_threads()} == {"capture:cam7", "pose"}
    assert not our_threads() and seen == {"pose"}
    assert sink.of_type(StreamEnded)[-1].reason == "stopped"


def test_open_failure_raises_in_start_and_starts_no_thread(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00garbage" * 1000)
    pipeline = LivePipeline(OpenCvFrameSource(bad), BrightnessProcessor(), ListSink())
    with pytest.raises(VideoError, match=r"Cannot read video 'x\.mp4'"):
        pipeline.start()
    assert not our_threads() and not pipeline.running


def test_exception_in_processor_emits_engine_failed_and_stops(tmp_path: Path) -> None:
    sink = ListSink()
    source = OpenCvFrameSource(make_video(tmp_path / "c.mp4", 300), realtime=True)
    pipeline = LivePipeline(source, BrightnessProcessor(fail_after=5), sink, config=FAST)
    pipeline.start()
    assert pipeline.join(5.0)  # ends by itself, both threads
    failed = sink.of_type(EngineFailed)
    assert len(failed) == 1
    assert failed[0].where == "pose" and failed[0].message == "RuntimeError: model exploded"
    assert sink.events[-1] is failed[0] and sink.of_type(StreamEnded) == []


def test_decoder_failure_in_a_file_emits_engine_failed(tmp_path: Path) -> None:
    sink = ListSink()
    source = BrokenFileSource(make_video(tmp_path / "c.mp4", 60), frames_per_open=4, outages=0)
    pipeline = LivePipeline(source, BrightnessProcessor(), sink, config=FAST)
    pipeline.start()
    assert pipeline.join(5.0)
    failed = sink.of_type(EngineFailed)
    assert [(f.where, f.message) for f in failed] == [
        ("capture:flaky", "VideoError: Cannot decode frame: corrupt data")
    ]
    assert sink.of_type(StreamEnded) == []


@pytest.mark.parametrize("mode", ["stall", "raise"])
def test_watchdog_reconnects_a_stalled_camera(tmp_path: Path, mode: str) -> None:
    sink = ListSink()
    source = FlakySource(make_video(tmp_path / "c.mp4", 150), frames_per_open=5, outages=1, mode=mode)
    processor = BrightnessProcessor()
    with LivePipeline(source, processor, sink, config=FAST):
        reconnected = sink.wait_for(CameraReconnected, 5.0)
        assert len(reconnected) == 1
        n = len(processor.seqs)
        assert len(sink.wait_for(Brightness, 5.0, count=n + 5)) >= n + 5  # frames flow again
    stalled = sink.of_type(CameraStalled)
    assert [(e.source, e.attempt) for e in stalled] == [("flaky", 1)]
    expected = "No frame from flaky" if mode == "stall" else "flaky failed: USB device disconnected"
    assert stalled[0].message.startswith(expected)
    assert (reconnected[0].source, reconnected[0].attempt) == ("flaky", 1)
    kinds = [type(e) for e in sink.events if not isinstance(e, Brightness | PipelineStats)]
    assert kinds == [CameraStalled, CameraReconnected, Finished, StreamEnded]
    assert source.opens == 2


def test_watchdog_retries_failed_reopens_with_backoff(tmp_path: Path) -> None:
    sink = ListSink()
    source = FlakySource(make_video(tmp_path / "c.mp4", 150), frames_per_open=5, outages=1, failed_opens=2)
    with LivePipeline(source, BrightnessProcessor(), sink, config=FAST):
        assert sink.wait_for(CameraReconnected, 5.0)
    stalled = sink.of_type(CameraStalled)
    assert [e.attempt for e in stalled] == [1, 2, 3]
    assert "could not be reopened" in stalled[1].message
    assert sink.of_type(CameraReconnected)[0].attempt == 3
    assert source.opens == 4


def test_restart_budget_ends_the_stream_as_camera_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = ListSink()
    source = FlakySource(make_video(tmp_path / "c.mp4", 150), frames_per_open=3, outages=99)
    config = PipelineConfig(stall_timeout_s=0.2, max_restarts=3, backoff_s=0.02, poll_s=0.05)
    pipeline = LivePipeline(source, BrightnessProcessor(), sink, config=config)
    pipeline.start()
    assert pipeline.join(10.0)  # gives up by itself
    assert [e.attempt for e in sink.of_type(CameraStalled)] == [1, 2, 3]
    assert [e.attempt for e in sink.of_type(CameraReconnected)] == [1, 2, 3]
    finished, ended = ending(sink)
    assert isinstance(finished, Finished) and (ended.source, ended.reason) == ("flaky", "camera_lost")
    assert any("Camera flaky is lost" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_stats_come_every_interval_not_every_frame(tmp_path: Path) -> None:
    sink = ListSink()
    source = OpenCvFrameSource(make_video(tmp_path / "c.mp4", 45), realtime=True)  # 1.5 s
    config = PipelineConfig(stats_interval_s=0.4, poll_s=0.05)
    run_to_end(LivePipeline(source, BrightnessProcessor(), sink, config=config))
    stats = sink.of_type(PipelineStats)
    assert 3 <= len(stats) <= 6  # ~1.5 s / 0.4 s, plus the final one
    assert all(s.fps > 0 and s.latency_p50_ms >= 0 for s in stats)
    assert stats[-1].frames + stats[-1].dropped == 45
    assert 15 < stats[1].fps < 45  # paced at 30 fps


class GlowEstimator:
    """Finds a "person" whenever the frame is bright; records resets."""

    name = "glow"

    def __init__(self) -> None:
        self.resets = 0

    def estimate(self, rgb: np.ndarray, t: float) -> Pose | None:
        if rgb.mean() < 100:
            return None
        zeros = np.zeros((33, 3), np.float32)
        return Pose(zeros, zeros, zeros[:, 0], zeros[:, 0], 0.9, (rgb.shape[1], rgb.shape[0]))

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        pass


class CountingAnalyzer:
    def __init__(self) -> None:
        self.updates: list[tuple[bool, float]] = []

    def update(self, pose: Pose | None, t: float) -> list[Event]:
        self.updates.append((pose is not None, t))
        return []

    def finish(self, t: float) -> list[Event]:
        return [Finished(t=t, frames=len(self.updates))]


def test_pose_processor_in_a_pipeline_emits_person_transitions(tmp_path: Path) -> None:
    sink, analyzer, smoothed = ListSink(), CountingAnalyzer(), []

    def smoother(pose: Pose, t: float) -> Pose:
        smoothed.append(t)
        return pose

    processor = PoseFrameProcessor(GlowEstimator(), analyzer, smoother=smoother, lost_after_s=0.2)
    # brightness ramps over 32 frames and falls back to black: bright for frames 13-31, 45-63
    run_to_end(LivePipeline(OpenCvFrameSource(make_video(tmp_path / "c.mp4", 64)), processor, sink))
    people = [
        (type(e).__name__, round(e.t * 30)) for e in sink.events if isinstance(e, PersonFound | PersonLost)
    ]
    assert people == [("PersonFound", 13), ("PersonLost", 38), ("PersonFound", 45)]  # lost after 0.2 s
    assert len(analyzer.updates) == 64
    assert len(smoothed) == sum(found for found, _ in analyzer.updates) == 38  # only found poses
    assert ending(sink)[0] == Finished(t=63 / 30, frames=64)
    assert {"pose", "smoothing", "analysis", "decode", "process"} <= sink.of_type(PipelineStats)[
        -1
    ].stage_ms.keys()
    assert processor.last_pose[0] == 63 and processor.last_pose[1] is not None


def test_pose_processor_resets_tracking_when_stream_time_jumps() -> None:
    estimator = GlowEstimator()
    processor = PoseFrameProcessor(estimator, CountingAnalyzer(), reset_gap_s=1.0)
    rgb = np.full((8, 8, 3), 200, np.uint8)
    for seq, t in enumerate([0.0, 0.5, 0.9, 5.0, 5.1, 2.0]):  # a reconnect gap, then time going back
        processor.process(Frame(seq=seq, t_capture=time.monotonic(), t_stream=t, rgb=rgb))
    assert estimator.resets == 2


def test_switching_the_analyzer_finishes_the_old_one_first_then_counts_with_the_new() -> None:
    """The next exercise of a session: the set in progress ends (in stream order) before the new
    exercise's analyzer takes the next frame; the switch may come from any thread."""
    first, second = CountingAnalyzer(), CountingAnalyzer()
    processor = PoseFrameProcessor(GlowEstimator(), first)
    rgb = np.full((8, 8, 3), 200, np.uint8)
    events: list[Event] = []
    for seq in range(6):
        if seq == 3:
            switcher = threading.Thread(target=processor.switch_analyzer, args=(second,))
            switcher.start()
            switcher.join()
        events += processor.process(Frame(seq=seq, t_capture=time.monotonic(), t_stream=seq / 10, rgb=rgb))
    events += processor.finish(0.6)
    assert [t for _, t in first.updates] == [0.0, 0.1, 0.2]
    assert [t for _, t in second.updates] == [0.3, 0.4, 0.5]
    finished = [e for e in events if isinstance(e, Finished)]
    assert finished == [Finished(t=0.3, frames=3), Finished(t=0.6, frames=3)]
