"""The voice side of a live workout: the coach speaking, the microphone listening, and the echo guard.

``LiveVoice.open`` builds what was asked for and degrades rather than fails: no speaker means captions
only (said once), no microphone means no voice commands (said once). A command heard while the coach
was talking is dropped: with a loudspeaker, the microphone hears the coach ("Rest over. Next set.").
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.engine.events import EventSink
from app.errors import SpeechError
from app.voice.coach import VoiceCoach
from app.voice.control import VoiceControl, WorkoutControls
from app.voice.cues import CueEngine, CueSettings, CueSpoken
from app.voice.listener import CommandListener, Heard

log = logging.getLogger(__name__)

ECHO_MARGIN_S = 0.3  # the room's reverberation after a line ends


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    speak: bool = True
    engine: Literal["auto", "piper", "espeak"] = "auto"
    rep_counts: Literal["every", "last_three", "none"] = "every"
    target_reps: int | None = None
    rest_s: int = 60
    wake_word: bool = False
    push_to_talk: bool = False  # Enter on stdin starts and stops listening
    vosk_model: Path | None = None


class LiveVoice:
    def __init__(self, coach: VoiceCoach | None, options: VoiceOptions | None = None) -> None:
        self.coach = coach
        self.options = options or VoiceOptions()
        self.control: VoiceControl | None = None
        self._mic_stop: Callable[[], None] | None = None
        self.listener: CommandListener | None = None  # while listening: push-to-talk presses it
        self.echoes = 0  # commands dropped because the coach was talking

    @classmethod
    def open_coach(cls, options: VoiceOptions, captions: Callable[[CueSpoken], None]) -> LiveVoice:
        """The coach (when ``options.speak``), started; its common lines are synthesized in the background."""
        if not options.speak:
            return cls(None, options)
        from app.voice.cache import SpeechCache, default_cache_dir
        from app.voice.playback import open_output
        from app.voice.tts import create_synthesizer

        synthesizer = create_synthesizer(options.engine)
        settings = CueSettings(
            rep_counts=options.rep_counts, target_reps=options.target_reps, rest_s=options.rest_s
        )
        coach = VoiceCoach(
            SpeechCache(synthesizer, default_cache_dir()),
            open_output(),
            CueEngine(settings),
            captions=captions,
        )
        coach.start()
        threading.Thread(target=_prewarm, args=(coach,), name="speech-prewarm", daemon=True).start()
        return cls(coach, options)

    def listen(
        self,
        controls: WorkoutControls,
        sink: EventSink,
        stream_time: Callable[[], float],
    ) -> bool:
        """Start voice commands from the default microphone; False (logged) when there is none."""
        options = self.options
        from app.voice.listener import MicrophoneListener, create_listener

        self.control = VoiceControl(controls, sink, coach=self.coach, stream_time=stream_time)
        try:
            import sounddevice

            sounddevice.query_devices(kind="input")
            listener = create_listener(vosk_model=options.vosk_model, wake_word=options.wake_word)
            mic = MicrophoneListener(listener, self._on_heard)
        except Exception as exc:  # OSError: no PortAudio; PortAudioError: no input device; SpeechError: model
            log.warning("No voice commands: %s", exc)
            return False
        if options.push_to_talk:
            from app.voice.listener import enter_key_toggles_talk

            enter_key_toggles_talk(listener, sys.stdin, log.warning)
        mic.start()
        self._mic_stop = mic.stop
        self.listener = listener
        return True

    def _on_heard(self, heard: Heard) -> None:
        self.hear(heard)

    def hear(self, heard: Heard) -> bool:
        """Carry out a heard command, unless the coach was talking then (its echo); True if carried out."""
        if self.control is None:
            return False
        now = time.monotonic()
        started = now - (heard.end_s - heard.start_s) - heard.decode_ms / 1000.0
        if self.coach is not None and self.coach.spoke_during(started - ECHO_MARGIN_S, now):
            self.echoes += 1
            log.info("Ignored %r: heard while the coach was talking", heard.intent.text)
            return False
        self.control.handle(heard.intent)
        return True

    def close(self, *, finish_s: float = 4.0) -> None:
        """Stop listening, let the coach finish what it has to say (up to ``finish_s``), then stop it."""
        if self._mic_stop is not None:
            self._mic_stop()
        if self.coach is not None:
            self.coach.wait_quiet(finish_s)
            self.coach.stop()


def _prewarm(coach: VoiceCoach) -> None:
    try:
        made = coach.prewarm()
        if made:
            log.info("Synthesized %d common lines into the speech cache", made)
    except SpeechError as exc:
        log.warning("Cannot prepare the coach's common lines: %s", exc)
