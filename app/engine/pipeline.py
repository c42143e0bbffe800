"""The live pipeline: a capture thread and an inference thread joined by a latest-wins slot.

::

    capture:<source>  source.read() -> Frame -> LatestSlot (drops counted)      watchdog: reconnect
    pose              LatestSlot -> FrameProcessor.process(frame) -> events -> EventSink

Both threads loop a step and watch one shared stop event; every blocking call has a timeout of a
second or less. The pipeline ends with exactly one terminal event: ``StreamEnded`` (reason "eof",
"stopped" or "camera_lost", after the processor's ``finish`` events and a last ``PipelineStats``)
or ``EngineFailed`` (a thread's loop raised; both threads then stop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from app.engine.capture import Frame, FrameSource
from app.engine.events import (
    CameraReconnected,
    CameraStalled,
    EngineFailed,
    Event,
    EventSink,
    PersonFound,
    PersonLost,
    StreamEnded,
    WorkoutPaused,
    WorkoutResumed,
)
from app.engine.monitoring import RestartBudget, StatsWindow, describe
from app.engine.pose.types import Pose, PoseEstimator, StageTimed
from app.engine.slot import LatestSlot

log = logging.getLogger(__name__)

INFERENCE_THREAD = "pose"
NO_FRAME_PAUSE_S = 0.01  # pause after a live source's read() returned nothing
Smoother = Callable[[Pose, float], Pose]  # e.g. LandmarkSmoother.apply; called for found poses


class FrameProcessor(Protocol):
    """Turns frames into events; runs on the inference thread only."""

    def process(self, frame: Frame) -> list[Event]: ...

    def finish(self, t: float) -> list[Event]:
        """The stream ended at stream time ``t``: close what is open (a set in progress)."""
        ...

    def stage_ms(self) -> Mapping[str, float]:
        """Milliseconds each internal stage took in the last ``process`` call."""
        ...


class Analyzer(Protocol):
    """A pure exercise analyzer: poses in, events out."""

    def update(self, pose: Pose | None, t: float) -> list[Event]: ...

    def finish(self, t: float) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Knobs of the live pipeline.

    ``blocking`` None picks back-pressure (no drops) for a source that is neither live nor paced
    (a file read as fast as it decodes) and latest-wins otherwise.
    """

    blocking: bool | None = None
    stall_timeout_s: float = 2.0
    max_restarts: int = 5
    restart_window_s: float = 60.0
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    stats_interval_s: float = 2.0
    poll_s: float = 0.2
    join_timeout_s: float = 2.0


class LivePipeline:
    """Runs ``source`` through ``processor`` on two named threads, emitting events to ``sink``.

    ``start`` opens the source in the calling thread (so a missing camera raises CameraError
    there) and starts the threads; ``stop`` asks them to end; ``join`` waits. As a context manager
    it starts on enter and stops and joins on exit.
    """

    def __init__(
        self,
        source: FrameSource,
        processor: FrameProcessor,
        sink: EventSink,
        *,
        config: PipelineConfig | None = None,
    ) -> None:
        self._source, self._processor, self._sink = source, processor, sink
        self._config = config or PipelineConfig()
        blocking = self._config.blocking
        if blocking is None:
            blocking = not source.is_live and not bool(getattr(source, "realtime", False))
        self._slot: LatestSlot[Frame] = LatestSlot(blocking=blocking)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._state_lock = threading.Lock()
        self._outcome: str | None = None  # None, "ending", "ended", "failed"
        self._end_reason: str | None = None  # set by the capture thread before it closes the slot
        self._last_capture = (0.0, 0.0)  # (t_stream, t_capture) of the newest captured frame
        self._latest: Frame | None = None
        self._pause_reason: str | None = None  # requested by any thread; applied by the inference thread
        self._resume_reason = "user"
        cfg = self._config
        self._budget = RestartBudget(
            cfg.max_restarts, cfg.restart_window_s, backoff_s=cfg.backoff_s, backoff_max_s=cfg.backoff_max_s
        )

    @property
    def capture_thread_name(self) -> str:
        return f"capture:{self._source.name}"

    @property
    def blocking(self) -> bool:
        return self._slot.blocking

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def dropped(self) -> int:
        """Frames captured but never processed (slot drops plus frames the source skipped)."""
        return self._slot.dropped + int(getattr(self._source, "skipped", 0))

    @property
    def latest_frame(self) -> Frame | None:
        """The frame the inference thread took last, for display."""
        return self._latest

    @property
    def paused(self) -> bool:
        return self._pause_reason is not None

    def pause(self, reason: str = "user") -> None:
        """Stop analysing frames (they are still taken and shown) until ``resume``. Thread-safe."""
        self._pause_reason = reason

    def resume(self, reason: str = "user") -> None:
        self._resume_reason = reason
        self._pause_reason = None

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("LivePipeline.start() called twice")
        self._source.open()
        self._threads = [
            threading.Thread(target=self._run_capture, name=self.capture_thread_name, daemon=True),
            threading.Thread(target=self._run_inference, name=INFERENCE_THREAD, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("Pipeline started on %s (%s)", self._source.name, "blocking" if self.blocking else "latest")

    def stop(self) -> None:
        """Ask both threads to end (returns at once; ``join`` waits)."""
        self._stop.set()
        self._slot.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for both threads; True if they ended within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive and self._stop.is_set():  # waiting on a running pipeline is normal; a stuck stop is not
            log.warning("Pipeline threads still running after %s s: %s", timeout, ", ".join(alive))
        return not alive

    def __enter__(self) -> LivePipeline:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self.join(self._config.join_timeout_s)

    def _fail(self, where: str, exc: BaseException) -> None:
        with self._state_lock:
            if self._outcome in ("failed", "ended"):
                return
            self._outcome = "failed"
        message = f"{type(exc).__name__}: {exc}"
        try:
            self._sink.emit(EngineFailed(t=self._last_capture[0], where=where, message=message))
        except Exception:
            log.exception("Could not report the failure of %s", where)
        self.stop()

    def _finish(self, reason: str, t: float, stats: StatsWindow) -> None:
        with self._state_lock:
            if self._outcome is not None:
                return
            self._outcome = "ending"
        for event in self._processor.finish(t):
            self._sink.emit(event)
        if stats.pending:
            self._sink.emit(stats.take(time.monotonic(), t=t, dropped=self.dropped))
        self._sink.emit(StreamEnded(t=t, source=self._source.name, reason=reason))
        with self._state_lock:
            if self._outcome == "ending":
                self._outcome = "ended"
        log.info("Pipeline on %s ended (%s) after %d frames", self._source.name, reason, stats.frames)

    def _run_capture(self) -> None:
        try:
            self._capture_loop()
        except Exception as exc:
            if self._stop.is_set():
                log.warning("Capture of %s raised while stopping", self._source.name, exc_info=True)
            else:
                log.exception("Capture thread of %s failed", self._source.name)
                self._fail(self.capture_thread_name, exc)
        finally:
            try:
                self._source.close()
            except Exception:
                log.exception("Closing %s failed", self._source.name)
            self._slot.close()

    def _capture_loop(self) -> None:
        live, name = self._source.is_live, self._source.name
        last_frame = time.monotonic()
        while not self._stop.is_set():
            problem = None
            try:
                frame = self._source.read()
            except Exception as exc:
                if not live:
                    raise
                log.warning("Reading %s failed", name, exc_info=True)
                frame, problem = None, f"{name} failed: {exc}"
            if frame is not None:
                last_frame = time.monotonic()
                self._budget.succeeded()
                self._last_capture = (frame.t_stream, frame.t_capture)
                self._offer(frame)
                continue
            if not live:
                self._end_reason = "eof"
                return
            if problem is None and self._stop.wait(NO_FRAME_PAUSE_S):  # no busy loop on a dead stream
                return
            stalled_s = time.monotonic() - last_frame
            if problem is None and stalled_s >= self._config.stall_timeout_s:
                problem = f"No frame from {name} for {stalled_s:.1f} s"
            if problem is not None:
                if not self._reconnect(problem):
                    return
                last_frame = time.monotonic()

    def _offer(self, frame: Frame) -> None:
        if not self._slot.blocking:
            self._slot.put(frame)
            return
        while not self._stop.is_set() and not self._slot.put(frame, timeout=self._config.poll_s):
            pass

    def stream_time(self) -> float:
        """Stream seconds now: the newest frame's time plus the wall time since it was captured."""
        return self._stream_now()

    def _stream_now(self) -> float:
        t_stream, t_capture = self._last_capture
        return t_stream + (time.monotonic() - t_capture if t_capture else 0.0)

    def _reconnect(self, message: str) -> bool:
        """Close and reopen a stalled live source with backoff; False when it is given up on."""
        name = self._source.name
        while not self._stop.is_set():
            attempt = self._budget.try_restart(time.monotonic())
            if attempt is None:
                log.error(
                    "Camera %s is lost: %d reconnects within %.0f s did not bring it back (%s). "
                    "Check the cable or the network, then start again.",
                    *(name, self._budget.used, self._budget.window_s, message),
                )
                self._end_reason = "camera_lost"
                return False
            delay = self._budget.backoff_s()
            log.warning("%s; reconnecting in %.1f s (attempt %d)", message, delay, attempt)
            self._sink.emit(
                CameraStalled(t=self._stream_now(), source=name, attempt=attempt, message=message)
            )
            self._source.close()
            if self._stop.wait(delay):
                return False
            try:
                self._source.open()
            except Exception as exc:
                log.warning("Reopening %s failed: %s", name, exc)
                message = f"{name} could not be reopened: {exc}"
                continue
            log.info("%s reconnected (attempt %d)", name, attempt)
            self._sink.emit(CameraReconnected(t=self._stream_now(), source=name, attempt=attempt))
            return True
        return False

    def _run_inference(self) -> None:
        stats = StatsWindow(time.monotonic())
        try:
            reason, t = self._inference_loop(stats)
            self._finish(reason, t, stats)
        except Exception as exc:
            log.exception("Inference thread failed on %s", self._source.name)
            self._fail(INFERENCE_THREAD, exc)

    def _inference_loop(self, stats: StatsWindow) -> tuple[str, float]:
        cfg = self._config
        t = 0.0
        paused: str | None = None  # the pause in effect, as this thread last applied it
        while True:
            if self._stop.is_set():
                return "stopped", t
            frame = self._slot.get(timeout=cfg.poll_s)
            if frame is None:
                if self._slot.closed:  # the capture thread ended and every frame was taken
                    return self._end_reason or "stopped", t
            else:
                t = frame.t_stream
            requested = self._pause_reason
            if requested != paused:  # applied here so the events stay in stream order
                if requested is not None:
                    self._sink.emit(WorkoutPaused(t=t, reason=requested))
                else:
                    self._sink.emit(WorkoutResumed(t=t, reason=self._resume_reason))
                paused = requested
            if frame is not None:
                if paused is None:
                    self._process(frame, stats)
                else:
                    self._latest = frame
            now = time.monotonic()
            if stats.due(now, cfg.stats_interval_s):
                event = stats.take(now, t=t, dropped=self.dropped)
                log.info("%s: %s", self._source.name, describe(event))
                self._sink.emit(event)

    def _process(self, frame: Frame, stats: StatsWindow) -> None:
        self._latest = frame
        t0 = time.perf_counter()
        events = self._processor.process(frame)
        process_ms = (time.perf_counter() - t0) * 1000.0
        for event in events:
            self._sink.emit(event)
        latency_s = time.monotonic() - frame.t_capture  # capture to events emitted
        stages = {"decode": frame.decode_s * 1000.0, "process": process_ms, **self._processor.stage_ms()}
        stats.add(latency_s, stages)


class PoseFrameProcessor:
    """Frame -> pose -> (smoothing) -> analyzer events, with PersonFound/PersonLost transitions.

    A pose counts as lost only after ``lost_after_s`` seconds without one, so a single missed
    frame does not flicker. A jump in stream time of more than ``reset_gap_s`` (a reconnect, a
    seek) resets the estimator's tracking.
    """

    def __init__(
        self,
        estimator: PoseEstimator,
        analyzer: Analyzer,
        *,
        smoother: Smoother | None = None,
        lost_after_s: float = 0.5,
        reset_gap_s: float = 1.0,
    ) -> None:
        self._estimator = estimator
        self._analyzer = analyzer
        self._smoother = smoother
        self._lost_after_s = lost_after_s
        self._reset_gap_s = reset_gap_s
        self._present = False
        self._last_seen = 0.0
        self._last_t: float | None = None
        self._stages: dict[str, float] = {}
        self._last: tuple[int, Pose | None] = (-1, None)
        self._next_analyzer: Analyzer | None = None  # set by any thread, taken by the inference thread
        self._switch_lock = threading.Lock()

    @property
    def last_pose(self) -> tuple[int, Pose | None]:
        """(seq of the frame, its pose) of the last processed frame, for display."""
        return self._last

    def switch_analyzer(self, analyzer: Analyzer) -> None:
        """Count another exercise from the next frame on (the next exercise of a session); the current
        analyzer finishes first, so its open set ends in stream order. Thread-safe."""
        with self._switch_lock:
            self._next_analyzer = analyzer

    def process(self, frame: Frame) -> list[Event]:
        t = frame.t_stream
        events: list[Event] = []
        with self._switch_lock:
            pending, self._next_analyzer = self._next_analyzer, None
        if pending is not None:
            events.extend(self._analyzer.finish(t))
            self._analyzer = pending
        if self._last_t is not None and (t < self._last_t or t - self._last_t > self._reset_gap_s):
            log.info("Stream time jumped from %.2f to %.2f s: resetting pose tracking", self._last_t, t)
            self._estimator.reset()
        self._last_t = t
        t0 = time.perf_counter()
        pose = self._estimator.estimate(frame.rgb, t)
        t1 = time.perf_counter()
        if self._smoother is not None and pose is not None:
            pose = self._smoother(pose, t)
        t2 = time.perf_counter()
        if pose is not None:
            self._last_seen = t
            if not self._present:
                self._present = True
                events.append(PersonFound(t=t))
        elif self._present and t - self._last_seen >= self._lost_after_s:
            self._present = False
            events.append(PersonLost(t=t))
        events.extend(self._analyzer.update(pose, t))
        t3 = time.perf_counter()
        self._stages = {"pose": (t1 - t0) * 1e3, "smoothing": (t2 - t1) * 1e3, "analysis": (t3 - t2) * 1e3}
        if isinstance(self._estimator, StageTimed):  # smoothing inside the estimator, timed apart
            inner = self._estimator.last_stage_ms()
            self._stages["pose"] -= inner.get("smoothing", 0.0)
            self._stages["smoothing"] += inner.get("smoothing", 0.0)
        self._last = (frame.seq, pose)
        return events

    def finish(self, t: float) -> list[Event]:
        return self._analyzer.finish(t)

    def stage_ms(self) -> Mapping[str, float]:
        return self._stages
