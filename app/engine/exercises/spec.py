"""Exercise specifications: declarative data, validated on load.

Each exercise is one TOML file in ``specs/``. A spec names the movement signal (a joint angle or a
normalised height, per side), how the sides combine, the posture the exercise is done in, the
counting thresholds (relative to the person's own range, with absolute floors), minimum phase
durations, and form rules with their cue texts. Adding an exercise is adding a file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.errors import ExerciseSpecError

from .features import JOINTS

SignalKind = Literal["angle", "height", "distance"]
SideMode = Literal["average", "independent"]
Phase = Literal["eccentric", "concentric"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalSpec(_Strict):
    """The 1-D movement signal.

    ``angle``: the angle at the middle joint of ``joints`` (3 generic joint names), in degrees,
    from world landmarks. ``height``: height of ``joints[0]`` above ``joints[1]`` in metres (world
    landmarks, whose y axis is the camera's vertical). ``distance``: distance between ``joints[0]``
    and ``joints[1]`` in metres.
    """

    kind: SignalKind
    joints: tuple[str, ...]
    rest: Literal["high", "low"]  # the value at the start/end position relative to the turn
    min_rom: float = Field(gt=0)  # a full rep moves at least this far (absolute floor), signal units
    typical_rom: float = Field(gt=0)  # prior for the person's range before any rep is seen

    @model_validator(mode="after")
    def _check_joints(self) -> SignalSpec:
        need = 3 if self.kind == "angle" else 2
        if len(self.joints) != need:
            raise ValueError(f"a {self.kind!r} signal needs {need} joints, got {len(self.joints)}")
        unknown = [j for j in self.joints if j not in (*JOINTS, "nose")]
        if unknown:
            raise ValueError(f"unknown joints {unknown}; known: {', '.join(JOINTS)}, nose")
        if self.min_rom > self.typical_rom:
            raise ValueError("min_rom must not exceed typical_rom")
        return self


class MovementSpec(_Strict):
    """How the movement is measured: one or more signals, the first one primary.

    The primary signal gives the range of motion in degrees and drives the form rules; every
    signal can count. The analyzer counts with whichever signal is currently cleanest (largest
    range against its own jitter), so a view where the primary signal is hidden or flat (an elbow
    angle when the arms are occluded) still counts through another.
    """

    signals: tuple[SignalSpec, ...] = Field(min_length=1)
    sides: SideMode = "average"
    first_phase: Phase = "eccentric"

    @property
    def primary(self) -> SignalSpec:
        return self.signals[0]


class CountingSpec(_Strict):
    """Thresholds in signal units; relative ones are fractions of the person's observed range."""

    full_fraction: float = Field(0.6, gt=0, lt=1)  # full rep: depth >= this x the person's range
    partial_fraction: float = Field(0.3, gt=0, lt=1)  # below this it is noise, not a partial rep
    hysteresis_fraction: float = Field(0.2, gt=0, lt=1)
    return_fraction: float = Field(0.75, gt=0, le=1)  # share of the depth to climb back to complete
    min_phase_s: float = Field(0.2, ge=0)
    min_rep_s: float = Field(0.5, gt=0)
    max_rep_s: float = Field(12.0, gt=0)
    max_gap_s: float = Field(0.7, gt=0)  # a longer gap in the signal abandons the rep in progress
    min_visibility: float = Field(0.3, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> CountingSpec:
        if self.partial_fraction >= self.full_fraction:
            raise ValueError("partial_fraction must be below full_fraction")
        if self.min_rep_s >= self.max_rep_s:
            raise ValueError("min_rep_s must be below max_rep_s")
        return self


class GateSpec(_Strict):
    """Posture in which the exercise is performed; frames outside it do not count."""

    torso_inclination: tuple[float, float] = (0.0, 180.0)  # degrees from vertical (image plane)
    wrists_above_shoulders: bool | None = None
    required_joints: tuple[str, ...] = ()


class FormRule(_Strict):
    """A fault checked on every rep: a per-rep measure compared with a limit."""

    id: str
    measure: Literal[
        "min_signal",
        "max_signal",
        "hip_sag",
        "elbow_drift",
        "knee_valgus",
        "knee_over_toe",
        "lockout",
    ]
    limit: float
    cue: str
    severity: int = Field(2, ge=1, le=3)


class HoldSpec(_Strict):
    """A timed hold (plank): posture held still for at least ``min_hold_s``."""

    min_hold_s: float = Field(3.0, gt=0)
    max_break_s: float = Field(1.0, ge=0)
    body_line_min_deg: float = Field(140.0, ge=0, le=180)
    min_support_m: float = Field(0.15, ge=0)  # shoulders above elbows: held up, not lying down


class RecognitionRule(_Strict):
    """A soft expectation on a body descriptor (see ``recognize.describe``) over a window."""

    descriptor: str
    low: float = float("-inf")
    high: float = float("inf")
    margin: float = Field(gt=0)  # how fast the score falls outside [low, high]


class ExerciseSpec(_Strict):
    id: str
    name: str
    kind: Literal["reps", "hold"] = "reps"
    movement: MovementSpec | None = None
    counting: CountingSpec = CountingSpec()
    gate: GateSpec = GateSpec()
    hold: HoldSpec | None = None
    form: tuple[FormRule, ...] = ()
    recognition: tuple[RecognitionRule, ...] = ()
    cues: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_kind(self) -> ExerciseSpec:
        if self.kind == "reps" and self.movement is None:
            raise ValueError("a 'reps' exercise needs [movement] with at least one [[movement.signals]]")
        if self.kind == "hold" and self.hold is None:
            raise ValueError("a 'hold' exercise needs [hold]")
        return self


def parse_spec(text: str, *, origin: str = "<string>") -> ExerciseSpec:
    try:
        return ExerciseSpec.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ExerciseSpecError(f"Invalid exercise spec {origin}: {exc}") from exc


@cache
def catalogue() -> dict[str, ExerciseSpec]:
    """Every built-in exercise, by id."""
    specs: dict[str, ExerciseSpec] = {}
    for entry in sorted(resources.files("app.engine.exercises").joinpath("specs").iterdir(), key=str):
        if entry.name.endswith(".toml"):
            spec = parse_spec(entry.read_text(encoding="utf-8"), origin=entry.name)
            if spec.id in specs:
                raise ExerciseSpecError(f"Duplicate exercise id {spec.id!r} in {entry.name}")
            specs[spec.id] = spec
    return specs


def get_spec(exercise_id: str) -> ExerciseSpec:
    specs = catalogue()
    try:
        return specs[exercise_id]
    except KeyError:
        known = ", ".join(sorted(specs))
        raise ExerciseSpecError(f"Unknown exercise {exercise_id!r}. Known exercises: {known}.") from None
