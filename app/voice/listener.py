"""Microphone -> VAD (raw audio) and noise suppressor -> recogniser (denoised audio, or the raw audio where
the talker stands far above the background) -> Moonshine's check (raw audio) -> intents. Over a speech-like
background (other people talking) the utterance's foreground is decoded again on its own, from the raw
audio.
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

from app.voice.acceptance import Acceptance, utterance_snr_db
from app.voice.check import CommandChecker, can_continue
from app.voice.command_set import risk_of
from app.voice.denoise import Denoiser
from app.voice.gain import InputGain
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
# over background speech, the foreground is decided this many held chunks after its last loud one (96 ms),
# while the segmenter waits out its hold (``SegmenterConfig.background_hold_chunks``, 320 ms)
EARLY_HELD_CHUNKS = 3
# An utterance whose onset stands this far above the background before it is heard raw: a noise suppressor
# has no noise to take out there, and takes some of the voice (clean, 90 eSpeak NG commands: 67 right
# through RNNoise, 79 raw; false triggers 1 and 0 of 60). Noise at 15 dB SNR or more still goes through it.
CLEAN_SNR_DB = 30.0


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
    ``denoiser`` (``app.voice.denoise.default_denoiser()``): what the recogniser hears is denoised, unless the
    utterance's onset stands ``CLEAN_SNR_DB`` over the background; the VAD hears the raw signal.
    ``checker``: a second opinion on every hypothesis (``app.voice.check``).
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
        acceptance: Acceptance | None = None,
    ) -> None:
        self.recognizer = recognizer
        # when a result is acted on: its confidence against the command's risk and the utterance's noise
        self.acceptance = acceptance or (checker.acceptance if checker is not None else Acceptance())
        self.vad = vad
        self.min_confidence = min_confidence
        self.wake_word = wake_word
        self.denoiser = denoiser
        self.checker = checker
        can_continue("")  # the command prefixes (0.3 s) are built now, not in the first early decision
        self.push_to_talk = False
        self._talking = threading.Event()
        self._segmenter = UtteranceSegmenter(segmenter)
        self._gain = InputGain()  # what the VAD hears: a quiet talker brought up (``app.voice.gain``)
        self._preroll: deque[tuple[Pcm, Pcm]] = deque(maxlen=self._segmenter.config.preroll_chunks)
        # the open utterance, pre-roll first, as (raw, heard) chunks: from the microphone, and as the
        # recogniser and the checker hear them (denoised, or raw where ``_raw``: the utterance's onset stood
        # ``CLEAN_SNR_DB`` over the background)
        self._utterance: list[tuple[Pcm, Pcm]] = []
        self._raw = False
        self._samples = 0
        self._start_s = 0.0
        self._busy_until_s = 0.0
        # whether the recogniser is decoding the open utterance as it comes (it stops for a decision made
        # early, and for the foreground's decoding over background speech)
        self._decoding = False
        # a decision made before the utterance ends, while the segmenter waits out its hangover: at the first
        # quiet chunk (with a checker), or over background speech a few chunks after the foreground's last
        # loud one. It stands unless speech (or the foreground) comes back. ``_early_foreground``: which of
        # the two it is.
        self._early: Recognition | None = None
        self._early_foreground = False
        # the last foreground decoded in the open utterance (its chunk span) and its result: background
        # talkers keep ending and restarting the hold, mostly around the same foreground
        self._foreground: tuple[tuple[int, int], Recognition] | None = None

    def reset(self) -> None:
        self._segmenter = UtteranceSegmenter(self._segmenter.config)
        self._preroll.clear()
        self._utterance = []
        self._samples = 0
        self._busy_until_s = 0.0
        self._early = None
        self._foreground = None
        self._raw = False
        self._stop_decoding()
        self._gain.reset()
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
        level = level_db(chunk)
        probability = self.vad.speech_probability(self._gain.apply(chunk, level))
        denoised = self.denoiser.process(chunk) if self.denoiser is not None else chunk
        seg = self._segmenter
        boundary = seg.step(level, probability, complete=self._complete())
        if boundary is Boundary.NONE:
            self._preroll.append((chunk, denoised))
            return None
        if boundary is Boundary.STARTED:
            self._start_s = self._samples / SAMPLE_RATE
            onset = max([level, *(level_db(raw) for raw, _ in self._preroll)])
            self._raw = onset - seg.level_before >= CLEAN_SNR_DB
            log.debug("onset %.0f dB over the background (raw: %s)", onset - seg.level_before, self._raw)
            self._utterance = [(raw, raw if self._raw else denoised) for raw, denoised in self._preroll]
            self._preroll.clear()
            self._foreground = None
            self._early = None
            if not seg.over_speech:  # over background speech only the foreground is decoded (below)
                self._start_decoding()
        heard = chunk if self._raw else denoised
        self._utterance.append((chunk, heard))
        if self._decoding and seg.over_speech:
            # over background speech only the foreground is decoded (the whole utterance again if the
            # background falls quiet): feeding babble to the grammar search costs a third of real time
            self._stop_decoding()
        if self._decoding:
            self.recognizer.feed(heard)
        back = seg.held_chunks if self._early_foreground else seg.trailing_silence  # 0: speech again
        if self._early is not None and back == 0:  # speech (or the foreground) after the early decision
            self._early = None
            if not self._early_foreground:
                self._start_decoding()  # decode on from the start
        early_s = 0.0
        if boundary is not Boundary.ENDED and self._early is None:
            t0 = time.perf_counter()
            if seg.over_speech and seg.held_chunks == EARLY_HELD_CHUNKS:
                self._early, self._early_foreground = self._decode_foreground(), True
            elif self.checker is not None and seg.trailing_silence == 1 and not seg.over_speech:
                self._early, self._early_foreground = self._check(self._finish()), False
            if self._early is not None and self._settled(self._early):  # no need to wait out the hangover
                seg.close()
                boundary = Boundary.ENDED
            early_s = time.perf_counter() - t0
        if boundary is Boundary.ENDED:
            t0 = time.perf_counter()
            intent = self._decide(too_long=seg.too_long, background=seg.over_speech)
            decode_ms = (time.perf_counter() - t0 + early_s) * 1000
            self.vad.reset()
            self._utterance = []
            return intent, decode_ms
        return None

    def _accepted(self, result: Recognition) -> bool:
        """Whether a result is a command this listener acts on."""
        return self._acts_on(parse_intent(result.text, require_wake_word=self.wake_word), result.confidence)

    def _acts_on(self, intent: Intent, confidence: float) -> bool:
        """Whether an intent heard with ``confidence`` is sure enough for its risk in this noise."""
        if intent.rejected or confidence < self.min_confidence:
            return False
        return self.acceptance.accepts(intent.name, risk_of(intent.name), confidence, self._snr_db())

    def _snr_db(self) -> float:
        """The open (or last) utterance's loudest stretch over the background before it."""
        seg = self._segmenter
        return utterance_snr_db(seg.levels, seg.level_before)

    def _settled(self, result: Recognition) -> bool:
        """Whether an early decision can end the utterance at once: an accepted command that no longer
        command continues. "pause" waits out the hangover ("pause ... the workout"); "log one hundred" is
        no command, so it waits for "... thirty five pounds"."""
        return self._accepted(result) and not can_continue(result.text)

    def _start_decoding(self) -> None:
        """(Re)start the recogniser on the open utterance so far."""
        self._stop_decoding()
        self.recognizer.start()
        self._decoding = True
        for _, heard in self._utterance:
            self.recognizer.feed(heard)

    def _stop_decoding(self) -> None:
        if self._decoding:
            self.recognizer.finish()
            self._decoding = False

    def _finish(self) -> Recognition:
        """The recogniser's result for the whole open utterance."""
        if not self._decoding:
            self._start_decoding()
        self._decoding = False
        return self.recognizer.finish()

    def _complete(self) -> bool:
        """Whether the open utterance already decodes to a whole command (checked only in a pause, where
        the shorter hangover could apply), so that it can end after a shorter silence."""
        seg = self._segmenter
        if not seg.in_speech or seg.trailing_silence + 1 < seg.config.complete_hangover_chunks:
            return False
        if self._early is not None:  # decided: complete when the decision is an accepted command
            return self._accepted(self._early)
        text = self.recognizer.partial() if self._decoding else ""
        return bool(text) and parse_intent(text, require_wake_word=self.wake_word).name != NONE

    def _decide(self, *, too_long: bool, background: bool) -> Intent:
        early, self._early = self._early, None
        if early is not None and self._early_foreground == background:
            result = early
        elif background:
            result = self._decode_foreground()
        elif self.checker is not None and not too_long:  # too long is rejected anyway
            result = self._check(self._finish())
        else:
            result = self._finish()
        intent = parse_intent(result.text, confidence=result.confidence, require_wake_word=self.wake_word)
        if too_long or not self._acts_on(intent, result.confidence):
            return Intent(NONE, text=intent.text, confidence=result.confidence)
        return intent

    def _decode_foreground(self) -> Recognition:
        """Over background talkers (who may also have held the utterance open), decode again only the
        foreground, from the raw audio: a noise suppressor takes a voice among voices for noise (RNNoise
        suppressed commands 15 dB above babble by 30-40 dB), and where it spared the foreground, both
        recognisers still heard it better raw (112 babble trials, piper and espeak-ng at 15 and 8 dB: 54 right
        against 38 from the denoised audio)."""
        seg = self._segmenter
        span = seg.foreground()
        if span is None:
            return Recognition("", 0.0)
        offset = len(self._utterance) - len(seg.levels)  # the pre-roll
        first = max(offset + span[0] - FOREGROUND_MARGIN_CHUNKS, 0)
        last = min(offset + span[1] + FOREGROUND_MARGIN_CHUNKS + 1, len(self._utterance))
        if self._foreground is not None and self._foreground[0] == (first, last):
            return self._foreground[1]
        raw = np.concatenate([r for r, _ in self._utterance[first:last]])
        self._stop_decoding()
        self.recognizer.start()
        self.recognizer.feed(raw)
        result = self.recognizer.finish()
        if self.checker is not None:
            result = self.checker.decide(raw, result, snr_db=self._snr_db())
        self._foreground = (first, last), result
        return result

    def _check(self, grammar: Recognition) -> Recognition:
        """The checker's verdict on the open utterance and the recogniser's result. The checker hears the raw
        audio, whatever the grammar recogniser heard: Moonshine was trained on noisy, reverberant speech, and
        RNNoise, which PocketSphinx's features need in noise, takes a far talker's reverberation for noise
        and distorts what is left (`bench/voice.py`, six voices: far microphone in gym noise 40 -> 58 %
        right with the raw audio checked, near gym noise 8 dB 83 -> 85 %, clean the same)."""
        assert self.checker is not None
        pcm = np.concatenate([raw for raw, _ in self._utterance])
        return self.checker.decide(pcm, grammar, snr_db=self._snr_db())

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
        """A whole recording, chunk by chunk, from stream time 0 (the times of what is heard are the
        recording's). A recording may start or end with the talker's first or last word, where a microphone
        stream would have had the room before and after: the VAD and the noise suppressor need a moment of
        it to settle, and the background's level is measured on it. So an edge of the recording that is
        loud (``loud_edges``) is heard after (or before) ``EDGE_FILL_S`` of its background
        (``background_fill``); a recording that has its own quiet start or end is heard as it is (a
        background talker already there stays the background)."""
        self.reset()
        starts, ends = loud_edges(pcm)
        fill = background_fill(pcm, int(EDGE_FILL_S * SAMPLE_RATE))
        lead = fill if starts else fill[:0]
        tail = fill if ends else fill[:0]
        pad = (-(len(pcm) + len(lead) + len(tail))) % CHUNK
        pcm = np.concatenate([lead, pcm, tail, np.zeros(pad, np.int16)])
        out = [h for i in range(0, len(pcm), CHUNK) if (h := self.step(pcm[i : i + CHUNK])) is not None]
        last = self.flush()
        heard = [*out, last] if last is not None else out
        shift = len(lead) / SAMPLE_RATE
        return [
            Heard(h.intent, h.start_s - shift, h.end_s - shift, h.decode_ms, h.decided_s - shift)
            for h in heard
        ]


EDGE_FILL_S = 0.5  # the background heard before and after a recording (``CommandListener.process``)
EDGE_CHUNKS = 3  # a recording's edge: its first (last) chunks...
EDGE_LOUD_DB = 12.0  # ...loud when one is within this of the recording's loudest chunk
QUIET_CHUNKS = 4  # the chunks of a recording whose level the background fill takes...
FILL_UNDER_DB = 10.0  # ...less this: in a recording without a pause, its quietest chunks are still speech


def _chunk_levels(pcm: Pcm) -> npt.NDArray[np.float64]:
    chunks = len(pcm) // CHUNK
    frames = pcm[: chunks * CHUNK].reshape(chunks, CHUNK)
    power = np.mean(np.square(frames, dtype=np.float64), axis=1) / 32768.0**2
    return np.asarray(10.0 * np.log10(power + 1e-12), dtype=np.float64)


def loud_edges(pcm: Pcm) -> tuple[bool, bool]:
    """Whether the recording starts, and ends, with the talker: a chunk of its first (last) ``EDGE_CHUNKS``
    within ``EDGE_LOUD_DB`` of its loudest."""
    levels = _chunk_levels(pcm)
    if len(levels) == 0:
        return False, False
    loud = float(np.max(levels)) - EDGE_LOUD_DB
    return bool(np.max(levels[:EDGE_CHUNKS]) >= loud), bool(np.max(levels[-EDGE_CHUNKS:]) >= loud)


def background_fill(pcm: Pcm, n: int) -> Pcm:
    """``n`` samples of a recording's background: steady noise at the level of its ``QUIET_CHUNKS``
    quietest chunks less ``FILL_UNDER_DB`` (the same samples every time). Noise, not the chunks themselves:
    where the talker starts at once, the quietest chunks are the ends of words, and the VAD hears them."""
    levels = _chunk_levels(pcm)
    if len(levels) == 0 or n <= 0:
        return np.zeros(max(n, 0), np.int16)
    power = float(np.mean(10 ** (np.sort(levels)[:QUIET_CHUNKS] / 10)))
    rms = 32768.0 * np.sqrt(power) * 10 ** (-FILL_UNDER_DB / 20)
    noise = np.random.default_rng(0).standard_normal(n) * rms
    return np.asarray(np.clip(np.round(noise), -32768, 32767), dtype=np.int16)


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
    listener and hands every accepted intent to ``on_intent``, and, given ``on_unclear``, every utterance
    said with push-to-talk that was no command to it: with the key held it was meant for the coach, and the
    person should hear that it was not understood rather than be ignored (open-mic, it may have been
    anyone). Raises ``OSError`` without PortAudio."""

    def __init__(
        self,
        listener: CommandListener,
        on_intent: Callable[[Heard], None],
        on_unclear: Callable[[Heard], None] | None = None,
    ) -> None:
        import sounddevice  # raises OSError when libportaudio is missing

        self._sd = sounddevice
        self._listener = listener
        self._on_intent = on_intent
        self._on_unclear = on_unclear
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
                    if heard is not None:
                        self._hand_over(heard)
        except Exception:
            log.exception("The microphone listener stopped")

    def _hand_over(self, heard: Heard) -> None:
        if not heard.intent.rejected:
            self._on_intent(heard)
        elif self._on_unclear is not None and self._listener.push_to_talk:
            self._on_unclear(heard)


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
