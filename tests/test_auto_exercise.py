"""Counting live without being told the exercise: recognise from a window, replay, count."""

from __future__ import annotations

from typing import Any

import numpy as np
from inline import InlineExecutor
from shared_data import clip, manifest
from synthetic import dips, stick_pose

from app.engine.events import Event, ExerciseRecognized, RepCounted
from app.engine.exercises.auto import AutoExerciseAnalyzer
from app.engine.offline import iter_frames, probe


def watch(times: np.ndarray, knee: np.ndarray, elbow: np.ndarray | None = None) -> list[Event]:
    """Every event an auto analyzer emits over a stick figure's knee (and elbow) angles."""
    auto = AutoExerciseAnalyzer(InlineExecutor())
    elbows = np.full_like(knee, 170.0) if elbow is None else elbow
    events: list[Event] = []
    for t, k, e in zip(times, knee, elbows, strict=True):
        events += auto.update(stick_pose(knee_deg=k, elbow_left_deg=e, elbow_right_deg=e), float(t))
    return events + auto.finish(float(times[-1]))


def test_squats_are_recognised_and_every_rep_is_counted() -> None:
    times = np.arange(0, 20, 1 / 15)
    events = watch(times, dips(times, [2, 5, 8, 11, 14, 17], rest=175, bottom=85))
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


def test_a_set_of_another_exercise_after_a_rest_is_recognised_again() -> None:
    times = np.arange(0, 60, 1 / 15)
    knee = dips(times, [2, 5, 8, 11, 14, 17], rest=175, bottom=85)  # squats, then rest
    elbow = dips(times, [36, 39, 42, 45, 48, 51], rest=165, bottom=45)  # then curls
    events = watch(times, knee, elbow)
    recognised = [e.exercise for e in events if isinstance(e, ExerciseRecognized)]
    reps = [e.exercise for e in events if isinstance(e, RepCounted)]
    assert recognised == ["squat", "biceps_curl"]
    assert reps == ["squat"] * 6 + ["biceps_curl"] * 6


def test_a_second_set_of_the_same_exercise_is_taken_up_after_one_rep() -> None:
    times = np.arange(0, 50, 1 / 15)
    events = watch(times, dips(times, [2, 5, 8, 11, 14, 17, 33, 36, 39, 42], rest=175, bottom=85))
    recognised = [e for e in events if isinstance(e, ExerciseRecognized)]
    assert [e.exercise for e in recognised] == ["squat", "squat"]
    assert recognised[1].t < 37.0, "the second set is taken up after its first rep or two"
    assert [e.rep.index for e in events if isinstance(e, RepCounted)] == list(range(1, 11))  # per exercise
