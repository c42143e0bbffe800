"""Counting any repetitive movement, with no exercise spec.

``--exercise any``, or a recognition that is not confident of any exercise it knows, counts the
repetitions of whatever periodic movement the person makes, from the pose trajectory alone: the
body's main joint angles, heights and distances (``any.toml``) are all watched, and the counter
follows the one that repeats most clearly. The result's exercise is ``"unknown"``.
"""

from __future__ import annotations

from .analyzer import ExerciseAnalyzer
from .spec import ANY, UNKNOWN, any_spec, get_spec

__all__ = ["ANY", "RECOGNITION_MIN_CONFIDENCE", "UNKNOWN", "analyzer_for", "any_spec"]

#: Below this recognition confidence, no known exercise is claimed: any movement is counted. The
#: winner's family holds at least a fifth of the evidence over 43 exercises (bench/accuracy.py:
#: 0.2 keeps every right recognition of the bench's clips, 0.25 loses five to the any counter).
RECOGNITION_MIN_CONFIDENCE = 0.2


def analyzer_for(exercise: str) -> ExerciseAnalyzer:
    """A fresh analyzer for an exercise id, or for any movement (``"any"`` or ``"unknown"``)."""
    if exercise in (ANY, UNKNOWN):
        return ExerciseAnalyzer(any_spec(), periodic=True)
    return ExerciseAnalyzer(get_spec(exercise))
