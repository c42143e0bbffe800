"""Typed events the engine emits: frozen dataclasses named as facts, and the sink port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RepDetail:
    """Timing, range and faults of one completed repetition (times in seconds of stream time)."""

    index: int
    start_s: float
    turn_s: float
    end_s: float
    eccentric_s: float
    pause_s: float
    concentric_s: float
    rom_deg: float | None  # None where the primary signal is not an angle
    mean_speed_dps: float  # mean angular speed of the concentric phase, degrees per second
    peak_speed_dps: float
    side: str = ""  # "left" / "right" for alternating exercises, "" otherwise
    faults: tuple[str, ...] = ()
    signature: tuple[float, ...] = ()  # how the body moved (``exercises.signature``), to compare reps


def rep_to_json(r: RepDetail) -> dict[str, object]:
    """One rep as the JSON outputs write it (``analyze --json``, the app's summary)."""
    return {
        "index": r.index,
        "start_s": r.start_s,
        "turn_s": r.turn_s,
        "end_s": r.end_s,
        "eccentric_s": r.eccentric_s,
        "pause_s": r.pause_s,
        "concentric_s": r.concentric_s,
        "rom_deg": r.rom_deg,
        "mean_speed_dps": r.mean_speed_dps,
        "peak_speed_dps": r.peak_speed_dps,
        "side": r.side,
        "faults": list(r.faults),
    }


@dataclass(frozen=True, slots=True)
class Event:
    t: float  # stream time in seconds


@dataclass(frozen=True, slots=True)
class RepCounted(Event):
    exercise: str
    rep: RepDetail


@dataclass(frozen=True, slots=True)
class RepHeld(Event):
    """A movement that may be the set's first rep, or set-up: held until a movement like it
    confirms it (then both are counted) or the set ends. Screens may show it as tentative."""

    exercise: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class PartialRep(Event):
    exercise: str
    rom_deg: float | None  # None where the primary signal is not an angle
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class FormFault(Event):
    exercise: str
    rep_index: int
    fault: str
    cue: str
    severity: int = 1  # 1 advice, 2 form, 3 safety


@dataclass(frozen=True, slots=True)
class SetStarted(Event):
    exercise: str


@dataclass(frozen=True, slots=True)
class SetFinished(Event):
    exercise: str
    reps: int
    partial_reps: int
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class HoldStarted(Event):
    exercise: str


@dataclass(frozen=True, slots=True)
class HoldEnded(Event):
    exercise: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class WorkoutPaused(Event):
    """Frames are no longer analysed (the person asked for a pause)."""

    reason: str  # "voice", "user"


@dataclass(frozen=True, slots=True)
class WorkoutResumed(Event):
    reason: str


@dataclass(frozen=True, slots=True)
class ExerciseRecognized(Event):
    exercise: str
    confidence: float


@dataclass(frozen=True, slots=True)
class PersonFound(Event):
    pass


@dataclass(frozen=True, slots=True)
class PersonLost(Event):
    pass


@dataclass(frozen=True, slots=True)
class CameraStalled(Event):
    source: str
    attempt: int
    message: str


@dataclass(frozen=True, slots=True)
class CameraReconnected(Event):
    source: str
    attempt: int


@dataclass(frozen=True, slots=True)
class StreamEnded(Event):
    source: str
    reason: str  # "eof", "stopped", "camera_lost"


@dataclass(frozen=True, slots=True)
class PipelineStats(Event):
    """Periodic metrics (every few seconds, never per frame)."""

    frames: int
    dropped: int
    fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    stage_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EngineFailed(Event):
    where: str
    message: str


class EventSink(Protocol):
    """Receives engine events; called from engine threads, so it must be quick and thread-safe."""

    def emit(self, event: Event) -> None: ...
