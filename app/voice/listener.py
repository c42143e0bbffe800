"""Microphone -> VAD (raw audio) and noise suppressor -> recogniser (denoised audio) -> intents. Over a
speech-like background (other people talking) the utterance's foreground is decoded again on its own.
``CommandListener`` is the pure-ish step function (audio chunks in, intents out); ``MicrophoneListener`` is
its thread around a sounddevice input stream."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from app.voice.check import CommandChecker
from app.voice.denoise import Denoiser
from app.voice.intents import NONE, Intent, parse_intent
from app.voice.recognizer import SAMPLE_RATE, Recognition, SpeechRecognizer
from app.voice.vad import (
    CHUNK,
    Boundary,
    SegmenterConfig,
    UtteranceSegmenter,
    VoiceActivityDetector,
    level_db,
)

log = logging.getLogger(__name__)

Pcm = npt.NDArray[np.int16]
FOREGROUND_MARGIN_CHUNKS = 6  # audio decoded either side of the foreground's loud chunks (192 ms)
SUPPRESSED_DB = 10.0  # the noise suppressor removed over 90 % of the foreground's power: it took it for noise


@dataclass(frozen=True, slots=True)
class Heard:
    """One decided utterance: the intent, and when the decision was made."""

    intent: Intent
    start_s: float  # audio time of the utterance's start (stream seconds)
    end_s: float  # audio time at which the segmenter closed it
    decode_ms: float  # wall time spent after the last chunk to reach the decision
    decided_s: float  # stream time of the decision, had the audio come in real time (see ``step``)


class CommandListener:
    """Feeds 512-sample chunks of 16 kHz int16 audio; returns a ``Heard`` when an utterance ends.

    ``wake_word``: only utterances that start with "coach" are commands. ``push_to_talk``: the VAD
    still segments, but audio counts only while ``talking`` is set (``press``/``release``).
    ``denoiser`` (``app.voice.denoise.default_denoiser()``): what the recogniser hears is denoised; the
    VAD hears the raw signal. ``checker``: a second opinion on every hypothesis (``app.voice.check``).
    """

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        vad: VoiceActivityDetector,
        *,
        min_confidence: float = 0.5,
        wake_word: bool = False,
        segmenter: SegmenterConfig | None = None,
        denoiser: Denoiser | None = None,
        checker: CommandChecker | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.vad = vad
        self.min_confidence = min_confidence
        self.wake_word = wake_word
        self.denoiser = denoiser
        self.checker = checker
        self.push_to_talk = False
        self._talking = threading.Event()
        self._segmenter = UtteranceSegmenter(segmenter)
        self._preroll: deque[tuple[Pcm, Pcm]] = deque(maxlen=self._segmenter.config.preroll_chunks)
        # the open utterance, pre-roll first, as (raw, heard) chunks: from the microphone, and as the
        # recogniser heard them (denoised)
        self._utterance: list[tuple[Pcm, Pcm]] = []
        self._samples = 0
        self._start_s = 0.0
        self._busy_until_s = 0.0
        # the decision made at the open utterance's first quiet chunk (with a checker): the recogniser has
        # finished, and it stands unless speech comes back
        self._early: Recognition | None = None

    def reset(self) -> None:
        self._segmenter = UtteranceSegmenter(self._segmenter.config)
        self._preroll.clear()
        self._utterance = []
        self._samples = 0
        self._busy_until_s = 0.0
        self._early = None
        self.vad.reset()
        if self.denoiser is not None:
            self.denoiser.reset()

    def press(self) -> None:
        self.push_to_talk = True
        self._talking.set()

    def release(self) -> None:
        self._talking.clear()

    def step(self, chunk: Pcm) -> Heard | None:
        """One chunk. Live, chunks queue while a step works; ``Heard.decided_s`` is when the decision would
        have come had the chunks arrived in real time, the listener working through them one at a time."""
        if len(chunk) != CHUNK:
            raise ValueError(f"chunks must be {CHUNK} samples")
        self._samples += CHUNK
        started = max(self._samples / SAMPLE_RATE, self._busy_until_s)
        t0 = time.perf_counter()
        decided = self._step(chunk)
        self._busy_until_s = started + time.perf_counter() - t0
        if decided is None:
            return None
        intent, decode_ms = decided
        return Heard(intent, self._start_s, self._samples / SAMPLE_RATE, decode_ms, self._busy_until_s)

    def _step(self, chunk: Pcm) -> tuple[Intent, float] | None:
        """The chunk's work; at the end of an utterance, its intent and the milliseconds spent deciding."""
        if self.push_to_talk and not self._talking.is_set() and not self._segmenter.in_speech:
            return None
        # the VAD hears the raw signal: Silero copes with noise, and on denoised audio it opened more often
        # on noise (false triggers 3/10 against 1/10 at 8 dB white noise)
        probability = self.vad.speech_probability(chunk)
        heard = self.denoiser.process(chunk) if self.denoiser is not None else chunk
        seg = self._segmenter
        boundary = seg.step(level_db(chunk), probability, complete=self._complete())
        if boundary is Boundary.NONE:
            self._preroll.append((chunk, heard))
            return None
        if boundary is Boundary.STARTED:
            self._start_s = self._samples / SAMPLE_RATE
            self._utterance = list(self._preroll)
            self._preroll.clear()
            self._restart_recognizer()
        self._utterance.append((chunk, heard))
        if self._early is None:
            self.recognizer.feed(heard)
        elif seg.trailing_silence == 0:  # speech again after the early decision: decode on from the start
            self._early = None
            self._restart_recognizer()
        if boundary is Boundary.ENDED:
            t0 = time.perf_counter()
            intent = self._decide(too_long=seg.too_long, background=seg.over_speech)
            decode_ms = (time.perf_counter() - t0) * 1000
            self.vad.reset()
            self._utterance = []
            return intent, decode_ms
        if self.checker is not None and seg.trailing_silence == 1 and not seg.over_speech:
            # the first quiet chunk: decide now, while the segmenter waits out its hangover, and keep the
            # decision unless speech comes back
            self._early = self._check(self.recognizer.finish())
        return None

    def _restart_recognizer(self) -> None:
        self.recognizer.start()
        for _, heard in self._utterance:
            self.recognizer.feed(heard)

    def _complete(self) -> bool:
        """Whether the open utterance already decodes to a whole command (checked only in a pause, where
        the shorter hangover could apply), so that it can end after a shorter silence."""
        seg = self._segmenter
        if not seg.in_speech or seg.trailing_silence + 1 < seg.config.complete_hangover_chunks:
            return False
        text = self.recognizer.partial()
        return bool(text) and parse_intent(text, require_wake_word=self.wake_word).name != NONE

    def _decide(self, *, too_long: bool, background: bool) -> Intent:
        early, self._early = self._early, None  # when set, the recogniser has already finished
        result = self.recognizer.finish() if early is None else early
        if background:
            result = self._decode_foreground()
        elif early is None and self.checker is not None and not too_long:  # too long is rejected anyway
            result = self._check(result)
        intent = parse_intent(result.text, confidence=result.confidence, require_wake_word=self.wake_word)
        if too_long or result.confidence < self.min_confidence:
            return Intent(NONE, text=intent.text, confidence=result.confidence)
        return intent

    def _decode_foreground(self) -> Recognition:
        """Over background talkers (who may also have held the utterance open), decode again only the
        foreground. From the raw audio when the noise suppressor took the foreground for noise (as RNNoise
        does with a voice among voices, by 30-40 dB), else from the denoised audio."""
        seg = self._segmenter
        span = seg.foreground()
        if span is None:
            return Recognition("", 0.0)
        offset = len(self._utterance) - len(seg.levels)  # the pre-roll
        first = max(offset + span[0] - FOREGROUND_MARGIN_CHUNKS, 0)
        last = offset + span[1] + FOREGROUND_MARGIN_CHUNKS + 1
        chunks = self._utterance[first:last]
        raw = np.concatenate([r for r, _ in chunks])
        heard = np.concatenate([h for _, h in chunks])
        suppressed = level_db(raw) - level_db(heard) > SUPPRESSED_DB
        self.recognizer.start()
        self.recognizer.feed(raw if suppressed else heard)
        result = self.recognizer.finish()
        if self.checker is None:
            return result
        return self.checker.decide(raw if suppressed else heard, result)

    def _check(self, grammar: Recognition) -> Recognition:
        """The checker's verdict on the open utterance (as the recogniser heard it) and its result."""
        assert self.checker is not None
        return self.checker.decide(np.concatenate([h for _, h in self._utterance]), grammar)

    def flush(self) -> Heard | None:
        """End of input: decide an utterance still open."""
        if not self._segmenter.in_speech:
            return None
        t0 = time.perf_counter()
        intent = self._decide(too_long=False, background=self._segmenter.over_speech)
        self._segmenter = UtteranceSegmenter(self._segmenter.config)
        self._utterance = []
        end_s = self._samples / SAMPLE_RATE
        decode_s = time.perf_counter() - t0
        return Heard(intent, self._start_s, end_s, decode_s * 1000, max(end_s, self._busy_until_s) + decode_s)

    def process(self, pcm: Pcm) -> list[Heard]:
        """A whole recording, chunk by chunk (the tail is padded with silence), from stream time 0."""
        self.reset()
        pad = (-len(pcm)) % CHUNK
        pcm = np.concatenate([pcm, np.zeros(pad, np.int16)])
        out = [h for i in range(0, len(pcm), CHUNK) if (h := self.step(pcm[i : i + CHUNK])) is not None]
        tail = self.flush()
        return [*out, tail] if tail is not None else out


def create_listener(
    *, vosk_model: Path | None = None, wake_word: bool = False, check: bool = True
) -> CommandListener:
    """The listener Spotter runs: Silero VAD, RNNoise, the grammar recogniser and Moonshine's check."""
    from app.voice.check import default_checker
    from app.voice.denoise import default_denoiser
    from app.voice.recognizer import create_recognizer
    from app.voice.vad import SileroVad

    return CommandListener(
        create_recognizer(vosk_model=vosk_model),
        SileroVad(),
        wake_word=wake_word,
        denoiser=default_denoiser(),
        checker=default_checker() if check else None,
    )


class MicrophoneListener:
    """The ``listen`` thread: a sounddevice input stream feeds a bounded queue; the thread steps the
    listener and hands every accepted intent to ``on_intent``. Raises ``OSError`` without PortAudio."""

    def __init__(self, listener: CommandListener, on_intent: Callable[[Heard], None]) -> None:
        import sounddevice  # raises OSError when libportaudio is missing

        self._sd = sounddevice
        self._listener = listener
        self._on_intent = on_intent
        self._chunks: queue.Queue[npt.NDArray[np.int16]] = queue.Queue(maxsize=64)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listen", daemon=True)
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _callback(self, data: npt.NDArray[np.int16], _frames: int, _time: object, _status: object) -> None:
        try:
            self._chunks.put_nowait(data[:, 0].copy())
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        try:
            with self._sd.InputStream(
                samplerate=SAMPLE_RATE, channels=1, dtype="int16", blocksize=CHUNK, callback=self._callback
            ):
                while not self._stop.is_set():
                    try:
                        chunk = self._chunks.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    heard = self._listener.step(chunk)
                    if heard is not None and not heard.intent.rejected:
                        self._on_intent(heard)
        except Exception:
            log.exception("The microphone listener stopped")


def enter_key_toggles_talk(
    listener: CommandListener, keys: TextIO, note: Callable[[str], None]
) -> threading.Thread:
    """Push-to-talk from a terminal: each Enter on ``keys`` starts or stops listening (``note`` says
    which). The reading thread is a daemon; it ends with ``keys``."""
    listener.push_to_talk = True

    def run() -> None:
        talking = False
        for _line in keys:
            talking = not talking
            if talking:
                listener.press()
                note("listening... (Enter to stop)")
            else:
                listener.release()
                note("not listening (Enter to talk)")

    note("push to talk: press Enter, say the command, press Enter")
    thread = threading.Thread(target=run, name="push-to-talk", daemon=True)
    thread.start()
    return thread
