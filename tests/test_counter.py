"""The rep counter on synthetic signals: shapes with a known number of reps."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.exercises.counter import RepCandidate, RepCounter
from app.engine.exercises.spec import CountingSpec, SignalSpec

SIGNAL = SignalSpec(kind="angle", joints=("hip", "knee", "ankle"), rest="high", min_rom=30, typical_rom=80)
FPS = 15.0


def reps_signal(
    depths: list[float], *, period_s: float = 2.0, rest_s: float = 1.0, top: float = 170.0
) -> np.ndarray:
    """Rest at ``top``, then one cosine dip per depth, with rests between."""
    parts = [np.full(int(rest_s * FPS), top)]
    for depth in depths:
        phase = np.linspace(0, 2 * np.pi, int(period_s * FPS))
        parts.append(top - depth * (1 - np.cos(phase)) / 2)
        parts.append(np.full(int(rest_s * FPS), top))
    return np.concatenate(parts)


def run(
    values: np.ndarray, spec: CountingSpec | None = None, *, noise: float = 0.0, seed: int = 0
) -> list[RepCandidate]:
    counter = RepCounter(spec or CountingSpec(), SIGNAL)
    rng = np.random.default_rng(seed)
    out: dict[float, RepCandidate] = {}  # a short rep promoted to a full one replaces itself
    for i, v in enumerate(values):
        value = None if np.isnan(v) else float(v + rng.normal(0, noise)) if noise else float(v)
        cand = counter.update(i / FPS, value)
        out |= {c.start_t: c for c in (counter.promoted, cand) if c is not None}
    return [out[t] for t in sorted(out)]


def test_counts_clean_reps() -> None:
    cands = run(reps_signal([80] * 5))
    assert [c.full for c in cands] == [True] * 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jitter_adds_no_reps(seed: int) -> None:
    cands = run(reps_signal([80] * 6), noise=4.0, seed=seed)
    assert sum(c.full for c in cands) == 6


def test_short_range_person_is_counted_relative_to_own_range() -> None:
    # a shallow squatter: 45 degrees every rep, far below a textbook 90
    cands = run(reps_signal([45] * 5))
    assert sum(c.full for c in cands) == 5


def test_half_reps_after_full_ones_are_partial() -> None:
    cands = run(reps_signal([80, 80, 80, 30, 30]))
    assert [c.full for c in cands] == [True, True, True, False, False]


def test_a_range_set_by_one_larger_movement_adapts_to_the_reps_after_it() -> None:
    """Lifting a bell overhead before triceps extensions moves the hands twice as far as a rep:
    the two alike reps after it show the range changed, and both count (the first retroactively)."""
    cands = run(reps_signal([150, 60, 60, 60, 60]))
    assert [c.full for c in cands] == [True] * 5
    assert [round(c.depth) for c in cands] == [150, 60, 60, 60, 60]


def test_standing_still_with_sway_counts_nothing() -> None:
    values = 168 + 5 * np.sin(np.linspace(0, 20, 300))
    assert run(values) == []


def test_twitch_shorter_than_min_rep_is_dropped() -> None:
    fast = reps_signal([80], period_s=0.3)
    assert run(fast, CountingSpec(min_rep_s=0.6)) == []


def test_gap_mid_rep_abandons_it() -> None:
    values = reps_signal([80, 80, 80])
    first_rep_bottom = int((1.0 + 1.0) * FPS)
    values[first_rep_bottom - 10 : first_rep_bottom + 10] = np.nan  # 1.3 s without a pose
    cands = run(values)
    assert sum(c.full for c in cands) == 2


def test_clip_starting_at_the_bottom_counts_the_ascent() -> None:
    ascent = 90 + 80 * (1 - np.cos(np.linspace(0, np.pi, 15))) / 2
    values = np.concatenate([np.full(5, 90.0), ascent, np.full(15, 170.0), reps_signal([80, 80])])
    cands = run(values)
    assert sum(c.full for c in cands) == 3
    assert cands[0].start_t == 0.0


def test_a_full_range_jump_in_the_first_frames_is_the_estimate_settling_not_a_rep() -> None:
    # the person comes into view (a fade-in, a dim first frame): the signal leaps across its range in
    # two poses, faster than half the shortest rep (0.5 s), then the set's reps follow
    values = np.concatenate([[90.0, 130.0, 170.0], np.full(15, 170.0), reps_signal([80, 80])])
    cands = run(values)
    assert sum(c.full for c in cands) == 2
    assert all(c.start_t > 0.5 for c in cands)


def test_timing_of_a_rep_with_a_pause_at_the_bottom() -> None:
    """Phases are measured between bands 6% of the depth from the top and from the bottom, so the
    slow ends of a smooth 1 s movement (about 0.14 s each) count as rest or pause."""
    down = 170 - 80 * (1 - np.cos(np.linspace(0, np.pi, 15))) / 2  # 1 s down
    hold = np.full(15, 90.0)  # 1 s pause
    up = 90 + 80 * (1 - np.cos(np.linspace(0, np.pi, 15))) / 2  # 1 s up
    values = np.concatenate([np.full(15, 170.0), down, hold, up, np.full(15, 170.0)])
    (cand,) = run(values)
    assert cand.bottom_enter_t - cand.start_t == pytest.approx(0.72, abs=0.1)
    assert cand.bottom_exit_t - cand.bottom_enter_t == pytest.approx(1.28, abs=0.1)
    assert cand.end_t - cand.bottom_exit_t == pytest.approx(0.75, abs=0.15)
    assert cand.depth == pytest.approx(80, abs=2)
