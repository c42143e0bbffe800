"""Routing recognised voice commands during a live workout.

The coach's own commands (repeat, mute, unmute, volume, rest, skip_rest, add_rest, reps_left) go to the
``VoiceCoach``; pause, resume and end_workout act on the pipeline; every accepted command is also a
``VoiceCommand`` event on the sink, so the recorder and the app see next_set, skip_exercise,
swap_exercise, log_weight and the rest timer's rest, skip_rest and add_rest, which only they can carry
out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from app.engine.events import Event, EventSink
from app.voice.intents import Intent, SlotValue

log = logging.getLogger(__name__)

COACH_INTENTS = frozenset(
    {"repeat", "mute", "unmute", "volume", "rest", "skip_rest", "add_rest", "reps_left"}
)


@dataclass(frozen=True, slots=True)
class VoiceCommand(Event):
    """An accepted voice command (``t``: stream time of the newest frame when it was decided)."""

    intent: str
    slots: dict[str, SlotValue] = field(default_factory=dict)
    text: str = ""
    confidence: float = 0.0


class WorkoutControls(Protocol):
    """What a voice command can do to the running workout (``LivePipeline`` has these)."""

    def pause(self, reason: str = "user") -> None: ...

    def resume(self, reason: str = "user") -> None: ...

    def stop(self) -> None: ...


class CoachCommands(Protocol):
    def command(self, intent: Intent) -> None: ...


class VoiceControl:
    def __init__(
        self,
        controls: WorkoutControls,
        sink: EventSink,
        *,
        coach: CoachCommands | None = None,
        stream_time: Callable[[], float] | None = None,
    ) -> None:
        self._controls = controls
        self._sink = sink
        self._coach = coach
        self._stream_time = stream_time
        self.handled = 0

    def handle(self, intent: Intent) -> None:
        """Carry out one recognised command; rejected utterances do nothing. Thread-safe."""
        if intent.rejected:
            return
        self.handled += 1
        name = intent.name
        if name == "pause":
            self._controls.pause("voice")
        elif name == "resume":
            self._controls.resume("voice")
        elif name in COACH_INTENTS and self._coach is not None:
            self._coach.command(intent)
        t = self._stream_time() if self._stream_time is not None else 0.0
        self._sink.emit(VoiceCommand(t, name, dict(intent.slots), intent.text, intent.confidence))
        if name == "end_workout":
            log.info("Voice command: end the workout")
            self._controls.stop()
