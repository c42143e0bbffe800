"""Counting live without being told the exercise: recognise from a window, replay, count."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

import numpy as np
from shared_data import clip, manifest
from synthetic import dips, stick_pose

from app.engine.events import Event, ExerciseRecognized, RepCounted
from app.engine.exercises.auto import AutoExerciseAnalyzer
from app.engine.offline import iter_frames, probe

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs submitted work at once, so the test is deterministic."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_squats_are_recognised_and_every_rep_is_counted() -> None:
    times = np.arange(0, 20, 1 / 15)
    knee = dips(times, [2, 5, 8, 11, 14, 17], rest=175, bottom=85)
    auto = AutoExerciseAnalyzer(InlineExecutor())
    events: list[Event] = []
    for t, k in zip(times, knee, strict=True):
        events += auto.update(stick_pose(knee_deg=k), float(t))
    events += auto.finish(float(times[-1]))
    recognised = [e for e in events if isinstance(e, ExerciseRecognized)]
    assert [e.exercise for e in recognised] == ["squat"]
    assert recognised[0].t < 10.0, "decided during the set, not at its end"
    assert sum(isinstance(e, RepCounted) for e in events) == 6  # reps before the decision replayed


def test_real_jumping_jacks_without_the_exercise_given(litert_full: Any) -> None:
    path = clip("jumpingjack_01.mp4")
    truth = manifest()["jumpingjack_01.mp4"]
    info = probe(path)
    litert_full.reset()
    auto = AutoExerciseAnalyzer(InlineExecutor())
    events: list[Event] = []
    for index, rgb in iter_frames(path, stride=2):
        t = index / info.fps
        events += auto.update(litert_full.estimate(rgb, t), t)
    events += auto.finish(info.duration_s)
    assert auto.exercise == "jumping_jack"
    assert abs(sum(isinstance(e, RepCounted) for e in events) - truth["reps"]) <= 1
