"""Counting any repetitive movement, with no exercise spec.

``--exercise any``, or a recognition that is not confident of any exercise it knows, counts the
repetitions of whatever periodic movement the person makes, from the pose trajectory alone: the
body's main joint angles, heights and distances (``any.toml``) are all watched, and the counter
follows the one that repeats most clearly. The result's exercise is ``"unknown"``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from .analyzer import ExerciseAnalyzer
from .spec import ExerciseSpec, get_spec, parse_spec

#: What a user asks for: count whatever repeats.
ANY = "any"
#: The exercise reported for a movement counted without a spec.
UNKNOWN = "unknown"
#: Below this recognition confidence, no known exercise is claimed: any movement is counted.
RECOGNITION_MIN_CONFIDENCE = 0.3


@cache
def any_spec() -> ExerciseSpec:
    """The open spec: generic signals, no form rules, no recognition rules."""
    text = resources.files("app.engine.exercises").joinpath("any.toml").read_text(encoding="utf-8")
    spec = parse_spec(text, origin="any.toml")
    assert spec.id == UNKNOWN
    return spec


def analyzer_for(exercise: str) -> ExerciseAnalyzer:
    """A fresh analyzer for an exercise id, or for any movement (``"any"`` or ``"unknown"``)."""
    if exercise in (ANY, UNKNOWN):
        return ExerciseAnalyzer(any_spec(), periodic=True)
    return ExerciseAnalyzer(get_spec(exercise))
