"""A live workout in the app: the engine's pipeline, the recorder, the coach and the microphone, wired.

Built from the ports that exist (``LivePipeline``, ``RecordingSink`` on the app's one
``DatabaseWriter``, ``LiveVoice`` / ``VoiceControl``); nothing here counts or stores anything itself.
Slow parts (loading the pose model, opening the camera, loading the voice) run on the job runner;
the GUI thread only pulls the latest frame and pose (``latest``) and receives events through the
``EngineBridge``. Every button that acts on the workout goes through the same ``VoiceControl`` as a
spoken command, so a click and "next set" are one operation.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.engine.capture import Frame, OpenCvFrameSource
from app.engine.events import EngineFailed, Event, EventSink, StreamEnded
from app.engine.exercises.auto import live_analyzer
from app.engine.exercises.spec import catalogue
from app.engine.keeper import FrameKeeper
from app.engine.pipeline import LivePipeline, PipelineConfig, PoseFrameProcessor
from app.engine.pose.types import Pose, PoseEstimator
from app.engine.sinks import TeeSink
from app.engine.tally import SessionTally
from app.errors import SpotterError
from app.storage.live import RecordingSink
from app.storage.recorder import WorkoutRecorder
from app.ui.bridge import EngineBridge
from app.ui.context import AppContext
from app.ui.jobs import Cancelled
from app.voice.control import VoiceControl
from app.voice.cues import CueSpoken
from app.voice.intents import Intent
from app.voice.listener import Heard
from app.voice.live import LiveVoice, VoiceOptions

log = logging.getLogger(__name__)

#: A camera in the app is never given up on: unplugged mid-set, it is reopened with backoff until it
#: is back (the screen says "camera lost, reconnecting"), and the workout goes on.
PATIENT = PipelineConfig(max_restarts=1_000_000, restart_window_s=60.0, backoff_max_s=4.0)


@dataclass(frozen=True, slots=True)
class Step:
    """One exercise of a session: its sets, target, load and rest."""

    exercise: str
    sets: int = 3
    target_reps: int | None = None
    load: float | None = None
    unit: str = "kg"
    rest_s: int = 90


@dataclass(frozen=True, slots=True)
class WorkoutPlan:
    """What the person chose to do: who, which exercise ("auto": recognise it), from where; a program
    session lists its next exercises in ``then`` (done in order: after the planned sets, or when the
    person says "next exercise")."""

    profile: str | None  # None: a guest (nothing is saved)
    exercise: str = "auto"
    source: str = "0"
    realtime: bool = True
    load: float | None = None
    unit: str = "kg"
    target_reps: int | None = None
    sets: int = 3
    rest_s: int = 90
    then: tuple[Step, ...] = ()

    @property
    def steps(self) -> tuple[Step, ...]:
        first = Step(self.exercise, self.sets, self.target_reps, self.load, self.unit, self.rest_s)
        return (first, *self.then)


class LiveSession(QObject):
    """One live workout. ``start()`` builds it off the GUI thread (``started`` or ``failed``);
    ``end()`` stops it; ``finished`` carries the recorder's one-line summary once all is closed."""

    started = Signal()
    failed = Signal(object)  # the exception
    finished = Signal(str)
    step_changed = Signal(object)  # the Step now being done

    def __init__(
        self, context: AppContext, plan: WorkoutPlan, *, estimator: PoseEstimator | None = None
    ) -> None:
        super().__init__()
        self._given = estimator  # the set-up check's, handed on (its model is loaded already)
        self.context, self.plan = context, plan
        self.bridge = EngineBridge()
        self.tally = SessionTally()
        self.bridge.event_received.connect(self._on_event)
        self.pipeline: LivePipeline | None = None
        self.processor: PoseFrameProcessor | None = None
        self.control: VoiceControl | None = None
        self.recording: RecordingSink | None = None
        self.voice: LiveVoice | None = None
        self.keeper: FrameKeeper | None = None
        self._estimator: PoseEstimator | None = None
        self._t_start = time.monotonic()
        self._lock = threading.Lock()  # the build's start against a close from any thread
        self._closing = False  # asked to end: the build stops short, the parts close
        self._tearing_down = False
        self._closed = False
        self._recording_closed = False
        self.summary = ""
        self.voice_note = ""  # why the coach is silent, when it is
        self.step_index = 0
        self.step_first_set = 0  # index in the tally of the step's first set

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._t_start = time.monotonic()
        self.context.jobs.submit(self._build, lambda _r: self.started.emit(), self._build_failed)

    def _build(self) -> None:
        settings = self.context.settings
        source = OpenCvFrameSource(self.plan.source, realtime=self.plan.realtime, size=settings.resolution)
        estimator = self._given or self.context.create_estimator()
        estimator.reset()
        self._estimator = estimator
        self.processor = PoseFrameProcessor(estimator, live_analyzer(self.plan.exercise))
        voice = LiveVoice(None)
        if settings.voice:
            try:
                voice = LiveVoice.open_coach(self._voice_options(), self._caption)
            except SpotterError as exc:  # no voice to speak with: the workout goes on, in captions
                log.warning("The coach cannot speak: %s", exc)
                self.voice_note = f"The coach cannot speak ({exc}); its cues are shown as captions."
        self.voice = voice
        downstream: EventSink = self.bridge if voice.coach is None else TeeSink(self.bridge, voice.coach)
        sink: EventSink = downstream
        if self.plan.profile is not None:
            recorder = WorkoutRecorder(self.context.db, self.plan.profile, source="live")
            self.recording = RecordingSink(
                recorder, self.context.db, load=self.plan.load, unit=self.plan.unit,
                downstream=downstream, owns_db=False, target_reps=self.plan.target_reps,
            )  # fmt: skip
            sink = self.recording
        config = PATIENT if source.is_live else PipelineConfig()
        self.pipeline = LivePipeline(source, self.processor, sink, config=config)
        self.control = VoiceControl(
            self.pipeline, sink, coach=voice.coach, stream_time=self.pipeline.stream_time
        )
        voice.control = self.control  # the app's listener hands commands to it (``hear``)
        with self._lock:  # a close from another thread waits for this, or this sees it and stops short
            cancelled = self._closing
            if not cancelled:
                self.pipeline.start()  # opens the source here: a missing camera raises CameraError
                if settings.keep_frames:  # opted in: the frames of this workout kept beside the database
                    self.keeper = self._keeper(self.pipeline)
        if cancelled:  # ended (or the window closed) while it was being built
            self._teardown()
            raise Cancelled

    def _keeper(self, pipeline: LivePipeline) -> FrameKeeper:
        name = self.recording.workout_id if self.recording is not None else f"guest-{int(time.time())}"
        keeper = FrameKeeper(
            self.context.data_dir / "recordings" / f"{name}.mp4", lambda: pipeline.latest_frame
        )
        keeper.start()
        return keeper

    def _build_failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            return  # the close that cancelled it reports ``finished``
        self._teardown()
        self.failed.emit(exc)

    def _voice_options(self) -> VoiceOptions:
        s = self.context.settings
        return VoiceOptions(
            speak=s.voice, engine=s.voice_engine, rep_counts=s.rep_counts, target_reps=self.plan.target_reps,
            rest_s=self.plan.rest_s,
        )  # fmt: skip

    def _caption(self, line: CueSpoken) -> None:
        """The coach started a line (its thread): shown as a caption, kept with the workout."""
        if self.recording is not None and self.pipeline is not None:  # kept, and handed on to the bridge
            self.recording.emit(dataclasses.replace(line, t=self.pipeline.stream_time()))
        else:
            self.bridge.emit(line)

    def _on_event(self, event: Event) -> None:
        self.tally.feed(event)
        if isinstance(event, StreamEnded | EngineFailed) and not self._closed:
            self._finish()  # a failed engine ends the workout too: what was counted is saved

    # ------------------------------------------------------------------ controls (one path with voice)
    def command(self, name: str, **slots: Any) -> None:
        """Carry out a command as if it was spoken (a button, a key): pause, resume, next_set,
        end_workout, rest, mute..."""
        if self.control is None:
            return
        self.control.handle(Intent(name, dict(slots), text="", confidence=1.0))

    @property
    def step(self) -> Step:
        return self.plan.steps[self.step_index]

    @property
    def next_step(self) -> Step | None:
        steps = self.plan.steps
        return steps[self.step_index + 1] if self.step_index + 1 < len(steps) else None

    def next_exercise(self) -> bool:
        """Move on to the session's next exercise (the open set ends first); False at the last one."""
        step = self.next_step
        if step is None or self.processor is None:
            return False
        self.step_index += 1
        self.step_first_set = len(self.tally.sets)
        self.processor.switch_analyzer(live_analyzer(step.exercise))
        if self.recording is not None:  # the next sets' load; the open set keeps its own
            self.recording.next_sets(step.load, step.unit, step.target_reps)
        self.step_changed.emit(step)
        return True

    def swap_exercise(self, to: str, instead_of: str | None = None) -> int | None:
        """Do ``to`` instead of ``instead_of`` (default: the exercise under way): the session's first
        step from the current one that has it. The current step switches its counter at once (the
        open set ends first); a later one is changed in the plan. Its index, or None when no step
        has that exercise or ``to`` is not one Spotter knows."""
        if to not in catalogue() or self.processor is None:
            return None
        steps = self.plan.steps
        wanted = instead_of or self.step.exercise
        index = next((i for i in range(self.step_index, len(steps)) if steps[i].exercise == wanted), None)
        if index is None:
            return None
        changed = replace(steps[index], exercise=to)
        if index == 0:
            self.plan = replace(self.plan, exercise=to)
        else:
            then = list(self.plan.then)
            then[index - 1] = changed
            self.plan = replace(self.plan, then=tuple(then))
        if index == self.step_index:
            self.step_first_set = len(self.tally.sets)
            self.processor.switch_analyzer(live_analyzer(to))
            self.step_changed.emit(changed)
        return index

    def sets_done_in_step(self) -> int:
        """Sets of the current step's exercise done since the step began."""
        return self.tally.sets_since(
            self.step_first_set, None if self.step.exercise == "auto" else self.step.exercise
        )

    def hear(self, heard: Heard) -> bool:
        """A command the app's microphone heard: carried out unless it was the coach's own echo."""
        return self.voice is not None and self.voice.hear(heard)

    def end(self) -> None:
        """End the workout (the pipeline finishes the open set; ``finished`` follows). Before the
        session has started, the build stops short and ``finished`` follows all the same."""
        if self.pipeline is not None and self.pipeline.running:
            self.pipeline.stop()
        else:
            self._finish()

    @property
    def paused(self) -> bool:
        return self.pipeline is not None and self.pipeline.paused

    def latest(self) -> tuple[Frame | None, Pose | None, int]:
        """The newest frame the engine took, the newest pose and that pose's frame number."""
        if self.pipeline is None or self.processor is None:
            return None, None, -1
        seq, pose = self.processor.last_pose
        return self.pipeline.latest_frame, pose, seq

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._t_start

    def _finish(self) -> None:
        with self._lock:
            if self._tearing_down:
                return
            self._closing = True
        self.context.jobs.submit(self._close_parts, self._closed_ok, self._closed_badly)

    def _closed_ok(self, summary: str) -> None:
        self.summary = summary or ""
        self.finished.emit(self.summary)

    def _closed_badly(self, exc: BaseException) -> None:
        log.error("Closing the workout failed: %s", exc)
        self.summary = f"the workout could not be closed cleanly: {exc}"
        self.finished.emit(self.summary)

    def _close_parts(self) -> str:
        """Stop and join everything this session started, once (any thread but the engine's)."""
        with self._lock:
            self._closing = True
            if self._tearing_down:
                return self.summary
            self._tearing_down = True
        return self._teardown()

    def _teardown(self) -> str:
        """Close each part that exists, each once (the build calls it too when it was cancelled)."""
        summary = ""
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop()
            pipeline.join(timeout=5.0)
        keeper, self.keeper = self.keeper, None
        if keeper is not None:
            keeper.stop()
        voice, self.voice = self.voice, None
        if voice is not None:
            voice.close(finish_s=0.0)
        estimator, self._estimator = self._estimator, None
        if estimator is not None:
            estimator.close()
        recording = self.recording  # kept after closing: the summary reads its workout and sets
        if recording is not None and not self._recording_closed:
            self._recording_closed = True
            try:
                summary = recording.close()
            except SpotterError as exc:
                summary = f"the workout could not be saved: {exc}"
        self._closed = True
        return summary

    def close_now(self) -> None:
        """Synchronously stop everything (the window is closing)."""
        self._close_parts()
