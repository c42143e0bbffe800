"""The one adapter where engine events cross into Qt.

``EngineBridge`` is an ``EventSink``: engine threads call ``emit`` (quick, thread-safe: it only
queues a Qt signal), and the GUI thread receives each event, in order, as ``event_received`` and as
one typed signal per kind. Frames never travel this way: the GUI pulls the latest frame on a timer.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance, Slot

from app.engine.events import (
    CameraReconnected,
    CameraStalled,
    EngineFailed,
    Event,
    ExerciseRecognized,
    FormFault,
    HoldEnded,
    HoldStarted,
    PartialRep,
    PersonFound,
    PersonLost,
    PipelineStats,
    RepCounted,
    RepHeld,
    SetFinished,
    SetStarted,
    StreamEnded,
    WorkoutPaused,
    WorkoutResumed,
)
from app.voice.control import VoiceCommand
from app.voice.cues import CueSpoken


class EngineBridge(QObject):
    event_received = Signal(object)
    rep_counted = Signal(object)
    rep_held = Signal(object)
    partial_rep = Signal(object)
    form_fault = Signal(object)
    set_started = Signal(object)
    set_finished = Signal(object)
    hold_started = Signal(object)
    hold_ended = Signal(object)
    exercise_recognized = Signal(object)
    person_found = Signal(object)
    person_lost = Signal(object)
    camera_stalled = Signal(object)
    camera_reconnected = Signal(object)
    stream_ended = Signal(object)
    engine_failed = Signal(object)
    stats_updated = Signal(object)
    workout_paused = Signal(object)
    workout_resumed = Signal(object)
    cue_spoken = Signal(object)
    voice_command = Signal(object)

    _relay = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._relay.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._typed: dict[type[Event], SignalInstance] = {
            RepCounted: self.rep_counted, RepHeld: self.rep_held, PartialRep: self.partial_rep,
            FormFault: self.form_fault, SetStarted: self.set_started, SetFinished: self.set_finished,
            HoldStarted: self.hold_started, HoldEnded: self.hold_ended,
            ExerciseRecognized: self.exercise_recognized, PersonFound: self.person_found,
            PersonLost: self.person_lost, CameraStalled: self.camera_stalled,
            CameraReconnected: self.camera_reconnected, StreamEnded: self.stream_ended,
            EngineFailed: self.engine_failed, PipelineStats: self.stats_updated,
            WorkoutPaused: self.workout_paused, WorkoutResumed: self.workout_resumed,
            CueSpoken: self.cue_spoken, VoiceCommand: self.voice_command,
        }  # fmt: skip
        self.received = 0

    def emit(self, event: Event) -> None:  # type: ignore[override]  # EventSink.emit, not Qt's
        """EventSink.emit: callable from any thread."""
        self._relay.emit(event)

    @Slot(object)
    def _dispatch(self, event: Event) -> None:
        self.received += 1
        self.event_received.emit(event)
        signal = self._typed.get(type(event))
        if signal is not None:
            signal.emit(event)
