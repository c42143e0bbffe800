"""Exercise specs: the catalogue loads, and bad specs are refused with a clear message."""

from __future__ import annotations

import pytest

from app.engine.exercises.spec import catalogue, get_spec, parse_spec
from app.errors import ExerciseSpecError

REQUIRED = {
    "squat", "push_up", "lunge", "side_lunge", "jumping_jack", "biceps_curl", "shoulder_press",
    "front_raise", "sit_up", "pull_up", "deadlift", "plank", "bench_press", "triceps_pushdown", "shrug",
}  # fmt: skip

GOOD = """
id = "wall_sit_pulse"
name = "Wall-sit pulse"
[movement]
[[movement.signals]]
kind = "angle"
joints = ["hip", "knee", "ankle"]
rest = "high"
min_rom = 10.0
typical_rom = 20.0
"""


def test_catalogue_has_every_required_exercise() -> None:
    assert set(catalogue()) >= REQUIRED
    assert get_spec("plank").kind == "hold"


def test_a_new_exercise_is_just_data() -> None:
    spec = parse_spec(GOOD)
    assert spec.movement is not None and spec.movement.primary.joints == ("hip", "knee", "ankle")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('"knee"', '"kneecap"'), "unknown joints"),
        (("min_rom = 10.0", "min_rom = 30.0"), "min_rom must not exceed typical_rom"),
        (('rest = "high"', 'rest = "sideways"'), "rest"),
        (("[movement]", "[movement]\ncolour = 1"), "Extra inputs"),
        (('joints = ["hip", "knee", "ankle"]', 'joints = ["hip", "knee"]'), "needs 3 joints"),
    ],
)
def test_invalid_specs_are_refused(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ExerciseSpecError, match=message):
        parse_spec(GOOD.replace(*change), origin="test.toml")


def test_reps_exercise_needs_a_movement() -> None:
    with pytest.raises(ExerciseSpecError, match=r"needs \[movement\]"):
        parse_spec('id = "x"\nname = "X"\n')


def test_unknown_exercise_lists_the_known_ones() -> None:
    with pytest.raises(ExerciseSpecError, match=r"Known exercises: .*squat"):
        get_spec("zumba")
