"""ExerciseAnalyzer as a pure core: poses in, events out, on a stick figure with known reps."""

from __future__ import annotations

import numpy as np
from synthetic import dips, feed, stick_pose

from app.engine.events import FormFault, RepCounted, SetFinished, SetStarted

FPS = 15.0


def test_two_sets_of_squats_with_a_rest() -> None:
    centres = [2, 5, 8, 11, 14, 30, 33, 36]  # two sets with a rest between
    times = np.arange(0, 40, 1 / FPS)
    knee = dips(times, centres, rest=175, bottom=85)
    analyzer, events = feed("squat", times, [stick_pose(knee_deg=k) for k in knee])
    assert len(analyzer.reps) == 8
    assert [e.reps for e in events if isinstance(e, SetFinished)] == [5, 3]
    assert sum(isinstance(e, SetStarted) for e in events) == 2
    turns = [r.turn_s for r in analyzer.reps]
    assert np.allclose(turns, centres, atol=0.2)
    assert all(80 < (r.rom_deg or 0) < 100 for r in analyzer.reps)


def test_a_rep_during_which_the_person_vanishes_is_not_counted() -> None:
    centres = [2, 5, 8, 11]
    times = np.arange(0, 14, 1 / FPS)
    knee = dips(times, centres, rest=175, bottom=85)
    poses = [None if 4.6 < t < 5.9 else stick_pose(knee_deg=k) for t, k in zip(times, knee, strict=True)]
    analyzer, _ = feed("squat", times, poses)
    assert len(analyzer.reps) == 3


def test_squat_shapes_while_lying_down_are_not_squats() -> None:
    times = np.arange(0, 12, 1 / FPS)
    knee = dips(times, [2, 5, 8], rest=175, bottom=85)
    analyzer, _ = feed("squat", times, [stick_pose(knee_deg=k, lying=True) for k in knee])
    assert analyzer.reps == []


def test_shallow_squats_are_flagged() -> None:
    times = np.arange(0, 12, 1 / FPS)
    knee = dips(times, [2, 5, 8], rest=175, bottom=125)
    analyzer, events = feed("squat", times, [stick_pose(knee_deg=k) for k in knee])
    assert len(analyzer.reps) == 3
    assert all("shallow" in r.faults for r in analyzer.reps)
    assert sum(isinstance(e, FormFault) and e.fault == "shallow" for e in events) == 3


def test_alternating_curls_count_each_arm_and_simultaneous_curls_count_once() -> None:
    times = np.arange(0, 16, 1 / FPS)
    left = dips(times, [2, 6, 10], rest=165, bottom=50)
    right = dips(times, [4, 8, 12], rest=165, bottom=50)
    analyzer, _ = feed(
        "biceps_curl",
        times,
        [stick_pose(elbow_left_deg=a, elbow_right_deg=b) for a, b in zip(left, right, strict=True)],
    )
    assert len(analyzer.reps) == 6
    assert {r.side for r in analyzer.reps} == {"left", "right"}
    both = dips(times, [2, 5, 8, 11], rest=165, bottom=50)
    analyzer, events = feed(
        "biceps_curl", times, [stick_pose(elbow_left_deg=a, elbow_right_deg=a) for a in both]
    )
    assert len(analyzer.reps) == 4
    assert [e.rep.index for e in events if isinstance(e, RepCounted)] == [1, 2, 3, 4]


def test_tempo_of_slow_reps_with_a_pause() -> None:
    times = np.arange(0, 20, 1 / FPS)
    knee = np.full(times.shape, 175.0)
    for start in (2.0, 10.0):  # 2 s down, 1.5 s hold, 1 s up
        down = (times >= start) & (times < start + 2)
        knee[down] = 175 - 90 * (times[down] - start) / 2
        hold = (times >= start + 2) & (times < start + 3.5)
        knee[hold] = 85
        up = (times >= start + 3.5) & (times < start + 4.5)
        knee[up] = 85 + 90 * (times[up] - start - 3.5)
    analyzer, _ = feed("squat", times, [stick_pose(knee_deg=k) for k in knee])
    assert len(analyzer.reps) == 2
    for rep in analyzer.reps:
        assert abs(rep.eccentric_s - 2.0) < 0.4
        assert abs(rep.pause_s - 1.5) < 0.4
        assert abs(rep.concentric_s - 1.0) < 0.35
