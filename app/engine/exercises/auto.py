"""Live counting when the exercise is not given: recognise it from a window of poses, then count.

Until the exercise is known, poses are kept (about 10 per second, at most a minute). Every couple of
seconds the window is ranked by ``recognize.rank_exercises`` on an executor, so the inference
thread never waits for it. Once one exercise leads with enough confidence and at least two reps of
evidence, an ``ExerciseAnalyzer`` for it replays the kept poses (no rep before the decision is lost)
and takes over the stream until its set ends. Then the next set may be another exercise, so the
window starts again; the exercise just done needs only one rep of evidence to be taken up again, and
its analyzer (with what it learned of the person's range) carries on.

When no exercise it knows wins, the movement is still counted: an any-movement counter follows the
kept poses as they come, and once it has seen ``ANY_MIN_REPS`` repetitions of something while
recognition is still unsure (or the stream ends below ``RECOGNITION_MIN_CONFIDENCE``), counting
goes on as exercise "unknown" (the kept poses replayed, as for a recognised exercise).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future

from app.engine.events import Event, ExerciseRecognized, SetFinished
from app.engine.pose.types import Pose

from .analyzer import ExerciseAnalyzer
from .anymove import ANY, RECOGNITION_MIN_CONFIDENCE, UNKNOWN, analyzer_for
from .features import Track
from .recognize import Candidate, confidence_of, rank_exercises
from .spec import get_spec

log = logging.getLogger(__name__)

#: Seconds between two recognitions of the window.
RECOGNIZE_EVERY_S = 2.0
#: Poses kept per second while the exercise is unknown.
KEEP_HZ = 10.0
#: At most this many seconds of poses are kept.
WINDOW_S = 60.0
#: Repetitions of an unrecognised movement after which it is counted as "unknown".
ANY_MIN_REPS = 4


class AutoExerciseAnalyzer:
    """An ``Analyzer`` that first finds out which exercise it is watching."""

    def __init__(
        self,
        executor: Executor,
        *,
        min_confidence: float = 0.4,
        min_reps: int = 2,
        rank: Callable[[Track], list[Candidate]] = rank_exercises,
    ) -> None:
        self._executor = executor
        self._min_confidence = min_confidence
        self._min_reps = min_reps
        self._rank = rank
        self._kept: deque[tuple[float, Pose | None]] = deque()
        self._image_size = (1, 1)
        self._next_try = RECOGNIZE_EVERY_S
        self._pending: Future[list[Candidate]] | None = None
        # counts whatever repeats in the kept poses as they come (cheaper than recounting the window)
        self._any = analyzer_for(ANY)
        self._done: dict[str, ExerciseAnalyzer] = {}  # analyzers of exercises done earlier, by id
        self._previous: str | None = None  # the exercise of the set that ended last
        self.analyzer: ExerciseAnalyzer | None = None
        self.confidence = 0.0

    @property
    def exercise(self) -> str | None:
        return self.analyzer.spec.id if self.analyzer is not None else None

    def update(self, pose: Pose | None, t: float) -> list[Event]:
        if self.analyzer is not None:
            events = self.analyzer.update(pose, t)
            if any(isinstance(e, SetFinished) for e in events):
                self._set_ended(t)
            return events
        self._keep(pose, t)
        if self._pending is not None and self._pending.done():
            events = self._decide(self._pending.result(), t)
            self._pending = None
            if events:
                return events
        if self._pending is None and t >= self._next_try and len(self._kept) >= 10:
            self._next_try = t + RECOGNIZE_EVERY_S
            self._pending = self._executor.submit(self._rank, self._window())
        return []

    def finish(self, t: float) -> list[Event]:
        events: list[Event] = []
        if self.analyzer is None and len(self._kept) >= 10:
            self._any.finish(t)
            events = self._decide(self._rank(self._window()), t, final=True)
        if self.analyzer is not None:
            events += self.analyzer.finish(t)
        return events

    def _set_ended(self, t: float) -> None:
        """Watch again: the next set may be another exercise."""
        assert self.analyzer is not None
        self._previous = self.analyzer.spec.id
        self._done[self._previous] = self.analyzer
        self.analyzer = None
        self._next_try = t + RECOGNIZE_EVERY_S

    def _keep(self, pose: Pose | None, t: float) -> None:
        if pose is not None:
            self._image_size = pose.image_size
        if self._kept and t - self._kept[-1][0] < 1.0 / KEEP_HZ:
            return
        self._kept.append((t, pose))
        self._any.update(pose, t)
        while self._kept and t - self._kept[0][0] > WINDOW_S:
            self._kept.popleft()

    def _window(self) -> Track:
        times = [t for t, _ in self._kept]
        poses = [p for _, p in self._kept]
        return Track.from_poses(times, poses, self._image_size)

    def _decide(self, ranked: list[Candidate], t: float, *, final: bool = False) -> list[Event]:
        any_reps = len(self._any.reps)
        confidence = confidence_of(ranked)
        exercise = ranked[0].exercise if confidence > 0 else UNKNOWN
        min_reps = 1 if exercise == self._previous else self._min_reps  # another set of the same
        enough_reps = exercise != UNKNOWN and (
            ranked[0].reps >= min_reps or get_spec(exercise).kind == "hold"
        )
        if final:
            if confidence < RECOGNITION_MIN_CONFIDENCE:
                exercise = UNKNOWN
        elif confidence < self._min_confidence or not enough_reps:
            if any_reps < ANY_MIN_REPS:
                return []
            exercise = UNKNOWN  # something clearly repeats, and it is nothing Spotter knows
        if exercise == UNKNOWN and any_reps == 0:
            return []
        log.info("recognised %s (confidence %.2f) after %.1f s", exercise, confidence, t)
        self.analyzer = self._done.pop(exercise, None) or analyzer_for(exercise)
        self.confidence = confidence
        events: list[Event] = [ExerciseRecognized(t=t, exercise=exercise, confidence=round(confidence, 3))]
        for kept_t, pose in self._kept:  # replay: the reps made before the decision count too
            events += self.analyzer.update(pose, kept_t)
        self._kept.clear()
        self._any = analyzer_for(ANY)
        return events


def live_analyzer(exercise: str) -> ExerciseAnalyzer | AutoExerciseAnalyzer:
    """The given exercise's analyzer, one that counts any movement (``"any"``), or one that
    recognises the exercise first (``"auto"``); the terminal's ``spotter live`` and the app both
    start their counting here."""
    from concurrent.futures import ThreadPoolExecutor

    if exercise == "auto":
        return AutoExerciseAnalyzer(ThreadPoolExecutor(max_workers=1, thread_name_prefix="recognize"))
    return analyzer_for(exercise)
