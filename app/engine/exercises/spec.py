"""Exercise specifications: declarative data, validated on load.

Each exercise is one TOML file in ``specs/``. A spec names the movement signal (a joint angle or a
normalised height, per side), how the sides combine, the posture the exercise is done in, the
counting thresholds (relative to the person's own range, with absolute floors), minimum phase
durations, and form rules with their cue texts. Adding an exercise is adding a file.

A variant of an exercise (a hammer curl of the biceps curl, a sumo deadlift) is no copy: the
parent's file lists it under ``[[variants]]`` with its id, its name and only what differs. Tables
merge key by key; form rules merge by ``id`` and recognition rules by ``descriptor`` (a rule of the
same key replaces the parent's, a new one is added); any other list (the movement's signals)
replaces the parent's. Each variant is validated like any spec and knows its parent
(``variant_of``).
"""

from __future__ import annotations

import copy
import tomllib
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.errors import ExerciseSpecError

from .features import JOINTS

SignalKind = Literal["angle", "image_angle", "height", "distance", "elevation", "twist"]
SideMode = Literal["average", "independent"]
Phase = Literal["eccentric", "concentric"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalSpec(_Strict):
    """The 1-D movement signal.

    ``angle``: the angle at the middle joint of ``joints`` (3 generic joint names), in degrees,
    from world landmarks. ``image_angle``: the same angle measured in the picture (the channels
    add it for a primary angle, for where the world model flattens a movement the camera sees).
    ``height``: height of ``joints[0]`` above ``joints[1]`` in metres (world landmarks, whose y
    axis is the camera's vertical). ``distance``: distance between ``joints[0]``
    and ``joints[1]`` in metres. ``elevation``: height of ``joints[0]`` in the image, in frame
    heights (a whole-body rise: a jump, a step onto a box; only with a camera that stands still).
    ``twist``: rotation of the ``joints[0]`` line (shoulders) against the ``joints[1]`` line (hips)
    towards this side, in degrees, and 0 turned the other way (a Russian twist turns to one side,
    then the other: each side counts its own turns).
    """

    kind: SignalKind
    joints: tuple[str, ...]
    rest: Literal["high", "low"]  # the value at the start/end position relative to the turn
    min_rom: float = Field(gt=0)  # a full rep moves at least this far (absolute floor), signal units
    typical_rom: float = Field(gt=0)  # prior for the person's range before any rep is seen

    @model_validator(mode="after")
    def _check_joints(self) -> SignalSpec:
        need = {"angle": 3, "image_angle": 3, "elevation": 1}.get(self.kind, 2)
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
    min_phase_s: float = Field(0.12, ge=0)
    min_rep_s: float = Field(0.5, gt=0)
    max_rep_s: float = Field(12.0, gt=0)
    # a hold at the turn lengthens the time limit by up to this (a pause squat); None: max_rep_s again.
    # 0 for a movement that never pauses at its turn (a rope skip, a knee drive)
    max_turn_hold_s: float | None = Field(None, ge=0)
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
        "torso_swing",
        "knee_bend",
        "hip_extension",
        "short_raise",
        "high_elbows",
        "elbow_flare",
        "low_knees",
        "short_twist",
        "torso_lean",
        "shallow_curl",
    ]
    limit: float
    cue: str
    severity: int = Field(2, ge=1, le=3)


class HoldAngle(_Strict):
    """A joint angle held within ``[low, high]`` degrees (world landmarks) on at least one side."""

    joints: tuple[str, str, str]
    low: float = Field(0.0, ge=0, le=180)
    high: float = Field(180.0, ge=0, le=180)

    @model_validator(mode="after")
    def _check(self) -> HoldAngle:
        unknown = [j for j in self.joints if j not in JOINTS]
        if unknown:
            raise ValueError(f"unknown joints {unknown}; known: {', '.join(JOINTS)}")
        if self.low >= self.high:
            raise ValueError("low must be below high")
        return self


class HoldSpec(_Strict):
    """A timed hold: a posture held still for at least ``min_hold_s``.

    A plank is a straight body line held up on the forearms or hands; a wall sit is a knee angle
    held near 90 degrees with the torso upright; a side plank is a plank turned on one side (the
    shoulder line near vertical). Checks set to None are not made.
    """

    min_hold_s: float = Field(3.0, gt=0)
    max_break_s: float = Field(1.0, ge=0)
    # straight from shoulders through hips and knees to ankles, on at least one side
    body_line_min_deg: float | None = Field(140.0, ge=0, le=180)
    min_support_m: float | None = Field(0.15, ge=0)  # shoulders above elbows: held up, not lying down
    angles: tuple[HoldAngle, ...] = ()
    # the shoulder line's angle from horizontal, degrees (0 facing the floor, 90 on one side)
    shoulder_tilt: tuple[float, float] | None = None

    @field_validator("body_line_min_deg", "min_support_m", mode="before")
    @classmethod
    def _false_is_off(cls, value: object) -> object:
        """TOML has no null: ``false`` turns a check off (a wall sit has no straight body line)."""
        return None if value is False else value


class RecognitionRule(_Strict):
    """A soft expectation on a body descriptor (see ``recognize.describe``) over a window."""

    descriptor: str
    low: float = float("-inf")
    high: float = float("inf")
    margin: float = Field(gt=0)  # how fast the score falls outside [low, high]


class ExerciseSpec(_Strict):
    id: str
    name: str
    variant_of: str | None = None  # the parent exercise of a variant (set by its parent's file)
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


#: Lists of tables that a variant merges into its parent's by this key (other lists replace).
MERGE_KEYS = {"form": "id", "recognition": "descriptor"}


def _merge(parent: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """The parent's data with ``change`` applied (see the module docstring)."""
    out = copy.deepcopy(parent)
    for key, value in change.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = _merge(old, value)
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(old, list):
            by = MERGE_KEYS[key]
            merged = {item.get(by): item for item in old}
            merged.update({item.get(by): item for item in value})
            out[key] = list(merged.values())
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validate(data: dict[str, Any], origin: str) -> ExerciseSpec:
    try:
        return ExerciseSpec.model_validate(data)
    except ValidationError as exc:
        raise ExerciseSpecError(f"Invalid exercise spec {origin}: {exc}") from exc


def parse_specs(text: str, *, origin: str = "<string>") -> list[ExerciseSpec]:
    """The exercise of one spec file, then its variants, each validated."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExerciseSpecError(f"Invalid exercise spec {origin}: {exc}") from exc
    variants = data.pop("variants", [])
    if "variant_of" in data:
        raise ExerciseSpecError(f"Invalid exercise spec {origin}: variant_of is set by [[variants]]")
    parent = _validate(data, origin)
    specs = [parent]
    if not isinstance(variants, list):
        raise ExerciseSpecError(f"Invalid exercise spec {origin}: variants must be [[variants]] tables")
    for change in variants:
        if not isinstance(change, dict) or not {"id", "name"} <= set(change):
            raise ExerciseSpecError(f"Invalid exercise spec {origin}: a variant needs an id and a name")
        if "variants" in change or "variant_of" in change:
            raise ExerciseSpecError(f"Invalid exercise spec {origin}: a variant has no variants of its own")
        merged = _merge(data, change) | {"variant_of": parent.id}
        specs.append(_validate(merged, f"{origin} (variant {change['id']!r})"))
    return specs


def parse_spec(text: str, *, origin: str = "<string>") -> ExerciseSpec:
    """The exercise of one spec file (its variants are validated too)."""
    return parse_specs(text, origin=origin)[0]


@cache
def catalogue() -> dict[str, ExerciseSpec]:
    """Every built-in exercise and variant, by id (each variant right after its parent)."""
    specs: dict[str, ExerciseSpec] = {}
    for entry in sorted(resources.files("app.engine.exercises").joinpath("specs").iterdir(), key=str):
        if entry.name.endswith(".toml"):
            for spec in parse_specs(entry.read_text(encoding="utf-8"), origin=entry.name):
                if spec.id in specs:
                    raise ExerciseSpecError(f"Duplicate exercise id {spec.id!r} in {entry.name}")
                specs[spec.id] = spec
    return specs


def family(spec: ExerciseSpec) -> str:
    """The id shared by an exercise and its variants (the parent's)."""
    return spec.variant_of or spec.id


#: What a user asks for to count whatever repeats, and the exercise such a count reports.
ANY = "any"
UNKNOWN = "unknown"


@cache
def any_spec() -> ExerciseSpec:
    """The open spec of ``any.toml``: the body's main signals, no form or recognition rules. It is
    not in the catalogue (recognition never claims it); ``anymove`` counts with it."""
    text = resources.files("app.engine.exercises").joinpath("any.toml").read_text(encoding="utf-8")
    return parse_spec(text, origin="any.toml")


def get_spec(exercise_id: str) -> ExerciseSpec:
    """An exercise by id; ``"any"`` and ``"unknown"`` give the open spec."""
    if exercise_id in (ANY, UNKNOWN):
        return any_spec()
    specs = catalogue()
    try:
        return specs[exercise_id]
    except KeyError:
        known = ", ".join(sorted(specs))
        raise ExerciseSpecError(f"Unknown exercise {exercise_id!r}. Known exercises: {known}.") from None
