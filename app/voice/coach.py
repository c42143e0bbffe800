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
from collections import deque
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
        self._spans: deque[tuple[float, float]] = deque(maxlen=16)  # (start, end) of lines played
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

    def wait_quiet(self, timeout: float) -> bool:
        """Wait until nothing is queued, pending or playing (a rest countdown aside); False on timeout.
        For the end of a session, so that its last lines ("Set done: ...") are still said."""
        deadline = time.monotonic() + timeout
        quiet_checks = 0
        while time.monotonic() < deadline:
            quiet = self._events.empty() and not self.engine.has_pending and self.player.idle
            quiet_checks = quiet_checks + 1 if quiet else 0
            if quiet_checks >= 3:  # seen quiet over 40 ms: no event was between the queue and the engine
                return True
            time.sleep(0.02)
        return False

    def emit(self, event: Event) -> None:
        """EventSink: called from engine threads; never blocks."""
        self._put(event)

    def command(self, intent: Intent) -> None:
        """Voice commands that concern the coach itself: repeat, mute, unmute, volume, rest, skip_rest,
        add_rest, reps_left."""
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
        elif intent.name == "reps_left":
            self.engine.reps_left(now)
        elif intent.name == "rest":
            seconds = intent.slots.get("seconds", self.engine.settings.rest_s)
            self.engine.start_rest(int(seconds), now)
        elif intent.name == "skip_rest":
            self.engine.skip_rest()
        elif intent.name == "add_rest":
            self.engine.add_rest(int(intent.slots.get("seconds", 30)), now)

    def spoke_during(self, t0: float, t1: float) -> bool:
        """Whether a line was playing at any time in [t0, t1] (clock time): a microphone heard it too."""
        with self._lock:
            return any(start <= t1 and end >= t0 for start, end in self._spans)

    def _started(self, line: Line) -> None:
        if self.player.output.audible:  # a caption on a screen makes no sound for a microphone to hear
            with self._lock:
                self._spans.append((self._clock(), float("inf")))
        if self._captions is not None:
            self._captions(CueSpoken(self._clock(), line.text, line.kind, self.player.output.audible))

    def _done(self) -> None:
        now = self._clock()
        with self._lock:
            if self._spans and self._spans[-1][1] == float("inf"):
                self._spans[-1] = (self._spans[-1][0], now)
        self.engine.done(now)
