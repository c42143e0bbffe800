"""``VoiceCoach``: an ``EventSink`` that turns engine events into spoken lines and captions.

The ``coach`` thread pulls events from a bounded queue, asks the pure ``CueEngine`` what to say,
fetches the audio from the ``SpeechCache`` (synthesizing uncached lines) and hands it to the
``Player`` (the ``tts`` thread). Every line started is also a ``CueSpoken`` caption.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from app.engine.events import Event
from app.errors import SpeechError
from app.voice.cache import FREQUENT_LINES, SpeechCache, frequent_cues
from app.voice.cues import Cue, CueEngine, CueSpoken
from app.voice.intents import Intent
from app.voice.playback import AudioOutput, Line, Player

log = logging.getLogger(__name__)


class VoiceCoach:
    def __init__(
        self,
        cache: SpeechCache,
        output: AudioOutput,
        engine: CueEngine | None = None,
        *,
        captions: Callable[[CueSpoken], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.player = Player(output, on_start=self._started, on_done=lambda _line: self._done())
        self.engine = engine or CueEngine()
        self._captions = captions
        self._clock = clock
        self._events: queue.Queue[Event | Intent] = queue.Queue(maxsize=64)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coach", daemon=True)
        self._lock = threading.Lock()
        self.dropped = 0

    def prewarm(self) -> int:
        """Synthesize the common lines (numbers, set/rest lines, catalogue cues) into the cache."""
        return self.cache.prewarm([*FREQUENT_LINES, *frequent_cues()])

    def start(self) -> None:
        self.player.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.player.stop()

    def emit(self, event: Event) -> None:
        """EventSink: called from engine threads; never blocks."""
        self._put(event)

    def command(self, intent: Intent) -> None:
        """Voice commands that concern the coach itself: repeat, mute, unmute, volume, rest."""
        self._put(intent)

    def _put(self, item: Event | Intent) -> None:
        try:
            self._events.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step(timeout=0.05)
            except Exception:
                log.exception("The voice coach failed on an event; continuing")

    def step(self, *, timeout: float = 0.0) -> Cue | None:
        """Take queued events, then start at most one line. Returns the line started."""
        try:
            item = self._events.get(timeout=timeout) if timeout > 0 else self._events.get_nowait()
        except queue.Empty:
            item = None
        now = self._clock()
        while item is not None:
            if isinstance(item, Intent):
                self._apply(item, now)
            else:
                self.engine.feed(item, now)
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                item = None
        cue = self.engine.poll(now)
        if cue is None:
            return None
        try:
            audio = self.cache.get(cue.text)
        except SpeechError as exc:
            log.warning("Cannot speak %r: %s", cue.text, exc)
            return None
        self.engine.speaking(cue, audio.duration_s, self._clock())
        self.player.say(Line(cue.text, audio, cue.kind, cue.interrupts))
        return cue

    def _apply(self, intent: Intent, now: float) -> None:
        if intent.name == "repeat":
            self.engine.repeat(now)
        elif intent.name in {"mute", "unmute"}:
            self.engine.set_muted(intent.name == "mute")
        elif intent.name == "volume":
            factor = 1.25 if intent.slots.get("direction") == "up" else 0.8
            self.player.volume = min(max(self.player.volume * factor, 0.1), 2.0)
        elif intent.name == "rest":
            seconds = intent.slots.get("seconds", self.engine.settings.rest_s)
            self.engine.start_rest(int(seconds), now)

    def _started(self, line: Line) -> None:
        if self._captions is not None:
            self._captions(CueSpoken(self._clock(), line.text, line.kind, self.player.output.audible))

    def _done(self) -> None:
        self.engine.done(self._clock())
