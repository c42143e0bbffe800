"""Round-trip measurement: synthesized commands (several voices, speeds, noises) -> listener -> intents.

Shared by ``bench/voice.py`` (the full grid) and the tests (a representative subset).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.voice.audio import Audio, Samples, resample, to_pcm16
from app.voice.intents import NONE, SlotValue
from app.voice.listener import CommandListener
from app.voice.recognizer import SAMPLE_RATE
from app.voice.tts import SpeechSynthesizer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    intent: str
    slots: dict[str, SlotValue] = field(default_factory=dict)


COMMAND_CASES: tuple[Case, ...] = (
    Case("pause", "pause"),
    Case("pause the workout", "pause"),
    Case("hold on", "pause"),
    Case("resume", "resume"),
    Case("continue", "resume"),
    Case("keep going", "resume"),
    Case("next set", "next_set"),
    Case("next exercise", "skip_exercise"),
    Case("skip this exercise", "skip_exercise"),
    Case("end workout", "end_workout"),
    Case("stop the workout", "end_workout"),
    Case("how many reps left", "reps_left"),
    Case("swap squats for lunges", "swap_exercise", {"from": "squat", "to": "lunge"}),
    Case("replace push ups with squats", "swap_exercise", {"from": "push_up", "to": "squat"}),
    Case("switch to lunges", "swap_exercise", {"to": "lunge"}),
    Case("switch to deadlifts", "swap_exercise", {"to": "deadlift"}),
    Case("start rest", "rest"),
    Case("rest for sixty seconds", "rest", {"seconds": 60}),
    Case("rest for ninety seconds", "rest", {"seconds": 90}),
    Case("repeat that", "repeat"),
    Case("louder", "volume", {"direction": "up"}),
    Case("quieter", "volume", {"direction": "down"}),
    Case("mute", "mute"),
    Case("unmute", "unmute"),
    Case("log twenty kilos", "log_weight", {"value": 20, "unit": "kg"}),
    Case("log one hundred thirty five pounds", "log_weight", {"value": 135, "unit": "lb"}),
    Case("log sixty two kilos", "log_weight", {"value": 62, "unit": "kg"}),
    Case("coach, pause", "pause"),
    Case("okay, next set please", "next_set"),
    Case("hey coach, louder", "volume", {"direction": "up"}),
)

NON_COMMANDS: tuple[str, ...] = (
    "my phone is ringing",
    "can you pass me the water bottle",
    "I think it's going to rain later",
    "let's get pizza after this",
    "turn the music up a bit",
    "where did you put my keys",
    "that song is really good",
    "did you watch the game last night",
    "hang on, I need to tie my shoe",
    "what time is it",
    "I'm so tired today",
    "the dog wants to go outside",
    "this gym is really crowded",
    "tell me about your weekend",
    "I'll call you back in five minutes",
    "we should leave at six",
    "somebody is at the door",
    "how was your day at work",
    "I forgot my headphones",
    "the weather is lovely",
)

BABBLE_TEXTS: tuple[str, ...] = (
    "So I told him we would meet at the station around noon.",
    "Honestly the new season of that show was better than I expected.",
    "She bought three tickets but only two of us could actually go.",
    "The restaurant on the corner closes early on Sundays.",
)


# Real human speech that is no command, shipped as test recordings in registry wheels (models/manifest.json):
# Beckett read by one voice, Dickens read by another, a scene of Beckett's Endgame in two more, one sentence.
REAL_TALK: tuple[str, ...] = (
    "moonshine-test-beckett.wav",
    "moonshine-test-two-cities.wav",
    "moonshine-test-endgame.wav",
    "moonshine-test-clone.wav",
)


def real_recording(name: str) -> npt.NDArray[np.int16]:
    """A recording of the model cache as 16 kHz PCM (``ModelLoadError`` if it is missing: ``spotter models
    ensure`` fetches it)."""
    from app.engine.models import model_path
    from app.voice.audio import read_audio

    return read_audio(model_path(name)).resampled(SAMPLE_RATE).pcm16()


def real_talk() -> dict[str, npt.NDArray[np.int16]]:
    """The ``REAL_TALK`` recordings."""
    return {name: real_recording(name) for name in REAL_TALK}


def trim(samples: Samples, *, floor_db: float = -40.0) -> Samples:
    """Drop leading and trailing near-silence (below ``floor_db`` of the peak)."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    loud = np.flatnonzero(np.abs(samples) > peak * 10 ** (floor_db / 20))
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def to_16k(audio: Audio) -> Samples:
    return trim(resample(audio.samples, audio.rate, SAMPLE_RATE))


def white_noise(n: int, rng: np.random.Generator) -> Samples:
    return rng.standard_normal(n).astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> Samples:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    return np.asarray(np.fft.irfft(spectrum / np.sqrt(f), n), dtype=np.float32)


def music_noise(n: int, rng: np.random.Generator, *, bpm: float = 124.0, rate: int = SAMPLE_RATE) -> Samples:
    """Synthetic instrumental music, as a gym plays it: a kick on every beat, a hi-hat between beats, and on
    each bar a bass note and a three-note chord of harmonic tones, from a random minor key."""
    beat = int(60.0 / bpm * rate)
    bar = 4 * beat
    out = np.zeros(n + bar, np.float64)  # whole bars, cut to ``n`` at the end
    k = np.arange(bar) / rate  # seconds into the bar
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-k[:beat] / 0.03)) * k[:beat]) * np.exp(-k[:beat] / 0.12)
    hat_n = int(0.05 * rate)
    for start in range(0, n, beat):
        out[start : start + beat] += kick
        hat = np.diff(rng.standard_normal(hat_n), prepend=0.0) * np.exp(-np.arange(hat_n) / (0.01 * rate))
        out[start + beat // 2 : start + beat // 2 + hat_n] += 0.15 * hat
    root = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)  # A2 to G#3
    scale = (0, 2, 3, 5, 7, 8, 10)
    fade = np.exp(-k / (2 * bar / rate))  # a chord dies away over two bars
    pulse = 0.6 + 0.4 * np.cos(2 * np.pi * k * rate / beat)  # the bass swells on each beat
    for start in range(0, n, bar):
        degree = int(rng.integers(0, len(scale)))
        notes = [scale[(degree + i) % 7] + 12 * ((degree + i) // 7) for i in (0, 2, 4)]
        for semitones in notes:
            f = 2 * root * 2 ** (semitones / 12)
            out[start : start + bar] += (
                0.12 * sum(np.sin(2 * np.pi * h * f * k) / h for h in range(1, 6)) * fade
            )
        bass = root / 2 * 2 ** (notes[0] / 12)
        out[start : start + bar] += 0.4 * np.sin(2 * np.pi * bass * k) * pulse
    return np.asarray(out[:n], dtype=np.float32)


def clank_noise(n: int, rng: np.random.Generator, *, per_s: float = 0.8, rate: int = SAMPLE_RATE) -> Samples:
    """Weights put down and plates knocking: at random times (``per_s`` a second on average), a metallic
    impact, a few inharmonic partials from 300 Hz to 4 kHz ringing down over 50-400 ms, and a thud."""
    out = np.zeros(n, np.float64)
    t = np.arange(int(0.6 * rate)) / rate
    for start in (int(i) * 160 for i in np.flatnonzero(rng.random(n // 160) < per_s / 100)):
        f0 = float(rng.uniform(300.0, 900.0))
        ring = np.zeros(len(t))
        for ratio in (1.0, 2.76, 5.40, 8.93):
            phase = float(rng.uniform(0, 2 * np.pi))
            ring += np.sin(2 * np.pi * f0 * ratio * t + phase) * np.exp(-t / float(rng.uniform(0.05, 0.4)))
        thud = np.sin(2 * np.pi * 70.0 * t) * np.exp(-t / 0.04) * 2.0
        hit = float(rng.uniform(0.3, 1.0)) * (ring + thud)
        end = min(n, start + len(t))
        out[start:end] += hit[: end - start]
    return np.asarray(out, dtype=np.float32)


def gym_noise(n: int, rng: np.random.Generator) -> Samples:
    """A gym: instrumental music (``music_noise``), clanking weights (``clank_noise``) and the room's
    low rumble (pink noise), at about equal power for music and clanks, the rumble 10 dB under."""

    def unit(x: Samples) -> Samples:
        return np.asarray(x / (np.sqrt(np.mean(np.square(x))) + 1e-9), dtype=np.float32)

    music = unit(music_noise(n, rng))
    clanks = unit(clank_noise(n, rng))
    rumble = unit(pink_noise(n, rng))
    return np.asarray(music + 0.8 * clanks + 0.3 * rumble, dtype=np.float32)


def far_field(speech: Samples, rng: np.random.Generator) -> Samples:
    """Speech from across the room: a livelier room than ``reverberate`` (RT60 0.8 s, the tail as loud as
    the direct sound), the highs lost (4th-order low-pass at 3.5 kHz). The trial plays it quieter too
    (``Condition.peak``)."""
    from scipy.signal import butter, fftconvolve, sosfilt

    response = room_response(rng, rt60_s=0.8, drr_db=0.0)
    wet = fftconvolve(speech, response)[: len(speech) + len(response)]
    sos = butter(4, 3500.0, btype="low", fs=SAMPLE_RATE, output="sos")
    return np.asarray(sosfilt(sos, wet), dtype=np.float32)


def babble_noise(n: int, rng: np.random.Generator, voices: Sequence[Samples]) -> Samples:
    """Several overlapping talkers (synthesized non-command speech), each looped at a random offset."""
    out = np.zeros(n, np.float32)
    for v in voices:
        reps = np.tile(v, n // max(len(v), 1) + 2)
        start = int(rng.integers(0, len(v)))
        out += reps[start : start + n] / (np.std(v) + 1e-9)
    return out


def room_response(
    rng: np.random.Generator, *, rt60_s: float = 0.5, drr_db: float = 5.0, rate: int = SAMPLE_RATE
) -> Samples:
    """A synthetic room impulse response: the direct sound, then from 4 ms a tail of noise decaying by 60 dB
    in ``rt60_s``, ``drr_db`` below the direct sound in energy (about a metre from the microphone in a
    furnished room)."""
    t = np.arange(int(rt60_s * rate)) / rate
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.004 * rate)] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(np.square(tail)))
    tail[0] = 1.0
    return np.asarray(tail, dtype=np.float32)


def reverberate(speech: Samples, rng: np.random.Generator) -> Samples:
    """Speech as heard in a room (``room_response``), its reverberant tail included."""
    from scipy.signal import fftconvolve

    response = room_response(rng)
    return np.asarray(fftconvolve(speech, response)[: len(speech) + len(response)], dtype=np.float32)


def mix(speech: Samples, noise: Samples, snr_db: float) -> Samples:
    """Speech plus noise scaled to ``snr_db`` (power of the speech over the noise's)."""
    p_speech = float(np.mean(np.square(speech))) + 1e-12
    p_noise = float(np.mean(np.square(noise))) + 1e-12
    return np.asarray(noise * np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10))), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Condition:
    # "clean", "white", "pink", "babble", "music", "clank", "gym"; or "room": no noise, the speech reverberant
    noise: str
    snr_db: float = float("inf")
    far: bool = False  # a far microphone (``far_field``), the speech ``FAR_PEAK`` at its peak

    def __str__(self) -> str:
        name = self.noise if self.noise in ("clean", "room") else f"{self.noise}@{self.snr_db:g}dB"
        return ("far" if name == "clean" else f"far+{name}") if self.far else name

    @property
    def peak(self) -> float:
        return FAR_PEAK if self.far else 0.3


FAR_PEAK = 0.05  # -26 dBFS: a talker a few metres away, against -10 dBFS close by


@dataclass(slots=True)
class Outcome:
    voice: str
    condition: str
    text: str
    expected: str
    got: str
    slots_ok: bool
    heard_text: str
    latency_ms: float  # end of speech -> decision

    @property
    def correct(self) -> bool:
        return self.got == self.expected and self.slots_ok


@dataclass(frozen=True, slots=True)
class Trial:
    voice: str
    condition: Condition
    case: Case


def run_trial(
    listener: CommandListener,
    speech: Samples,
    trial: Trial,
    noise: Callable[[int], Samples] | None,
    *,
    lead_s: float = 0.6,
    tail_s: float = 0.7,
    spoken: int | None = None,
    peak: float = 0.3,
) -> Outcome:
    """One trial. ``spoken``: the samples of ``speech`` until the talker stops (a room's reverberation
    rings on after), from which the decision's latency counts; all of it by default. ``peak``: the
    speech's peak level (0.3: -10 dBFS)."""
    lead, tail = int(lead_s * SAMPLE_RATE), int(tail_s * SAMPLE_RATE)
    speech = speech / (np.max(np.abs(speech)) + 1e-9) * peak
    signal = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(tail, np.float32)])
    if noise is not None:
        signal = signal + mix(speech, noise(len(signal)), trial.condition.snr_db)
    heard = listener.process(to_pcm16(np.asarray(signal, dtype=np.float32)))
    end_s = (lead + (len(speech) if spoken is None else spoken)) / SAMPLE_RATE
    accepted = [h for h in heard if not h.intent.rejected]
    pick = accepted[-1] if accepted else (heard[-1] if heard else None)
    got = NONE if len(accepted) != 1 else accepted[0].intent.name
    slots_ok = got == NONE or (pick is not None and pick.intent.slots == trial.case.slots)
    latency = (pick.decided_s - end_s) * 1000 if pick is not None else float("nan")
    return Outcome(
        trial.voice,
        str(trial.condition),
        trial.case.text,
        trial.case.intent,
        got,
        slots_ok,
        pick.intent.text if pick is not None else "",
        latency,
    )


def evaluate(
    listener: CommandListener,
    voices: Mapping[str, SpeechSynthesizer],
    cases: Iterable[Case],
    conditions: Sequence[Condition],
    *,
    seed: int = 7,
    babble: Sequence[Samples] | None = None,
    lead_s: float = 0.6,
) -> list[Outcome]:
    """Every case in every voice and condition. Babble is ``babble`` or, by default, the first voice
    speaking ``BABBLE_TEXTS``. ``lead_s``: the silence or noise before each command."""
    rng = np.random.default_rng(seed)
    cases = list(cases)
    babble_voices: list[Samples] = list(babble or [])
    outcomes: list[Outcome] = []
    for voice_name, synth in voices.items():
        if any(c.noise == "babble" for c in conditions) and not babble_voices:
            babble_voices = [to_16k(synth.synthesize(t)) for t in BABBLE_TEXTS]
        for case in cases:
            speech = to_16k(synth.synthesize(case.text))
            for condition in conditions:
                noise = _noise_source(condition.noise, rng, babble_voices)
                heard = reverberate(speech, rng) if condition.noise == "room" else speech
                heard = far_field(heard, rng) if condition.far else heard
                trial = Trial(voice_name, condition, case)
                outcome = run_trial(
                    listener, heard, trial, noise, lead_s=lead_s, spoken=len(speech), peak=condition.peak
                )
                log.debug("%s", outcome)
                outcomes.append(outcome)
    return outcomes


def _noise_source(
    kind: str, rng: np.random.Generator, babble: Sequence[Samples]
) -> Callable[[int], Samples] | None:
    if kind in ("clean", "room"):
        return None
    if kind == "white":
        return lambda n: white_noise(n, rng)
    if kind == "pink":
        return lambda n: pink_noise(n, rng)
    if kind == "babble":
        return lambda n: babble_noise(n, rng, babble)
    if kind == "music":
        return lambda n: music_noise(n, rng)
    if kind == "clank":
        return lambda n: clank_noise(n, rng)
    if kind == "gym":
        return lambda n: gym_noise(n, rng)
    raise ValueError(f"unknown noise {kind!r}")


@dataclass(frozen=True, slots=True)
class Summary:
    commands: int
    commands_right: int
    non_commands: int
    false_triggers: int
    latency_p50_ms: float
    latency_p95_ms: float

    @property
    def accuracy(self) -> float:
        return self.commands_right / self.commands if self.commands else 0.0

    @property
    def false_trigger_rate(self) -> float:
        return self.false_triggers / self.non_commands if self.non_commands else 0.0


def summarize(outcomes: Sequence[Outcome]) -> Summary:
    commands = [o for o in outcomes if o.expected != NONE]
    others = [o for o in outcomes if o.expected == NONE]
    latencies = [o.latency_ms for o in commands if o.correct and np.isfinite(o.latency_ms)]
    p50, p95 = np.percentile(latencies, [50, 95]) if latencies else (np.nan, np.nan)
    return Summary(
        len(commands),
        sum(o.correct for o in commands),
        len(others),
        sum(o.got != NONE for o in others),
        float(p50),
        float(p95),
    )


def non_command_cases() -> list[Case]:
    return [Case(t, NONE) for t in NON_COMMANDS]


def command_set_cases(*, variants: bool = True) -> list[Case]:
    """Every phrase of the command set (``app.voice.command_set.utterances``), its slots filled."""
    from app.voice.command_set import utterances

    return [Case(u.text, u.intent, u.slots) for u in utterances(variants=variants)]
