"""Voice benchmarks.

    .venv/bin/python bench/voice.py tts        # event -> first audio sample, cached and uncached
    .venv/bin/python bench/voice.py roundtrip  # spoken commands -> intents: accuracy, false triggers, latency
    .venv/bin/python bench/voice.py frontend   # CPU cost of the noise suppressor per second of audio

The round trip speaks every command and non-command with Piper (three speeds) and eSpeak NG (three
voices/rates, when installed), clean, with white, pink, babble and (synthetic, instrumental) music at 15
and 8 dB SNR, and in a room (reverberation: RT60 0.5 s, the tail 5 dB under the direct sound), and runs
the result through the Silero VAD, the RNNoise suppressor (``--no-denoise`` to leave it out),
PocketSphinx, Moonshine's check (``--no-check`` to leave it out) and the intent parser.

    .venv/bin/python bench/voice.py babble     # what background talkers alone fire, over many renderings

The babble run is the round-trip test's live scene (``test_a_command_is_decided_while_background_talk_goes_on``):
3 s of four talkers, "next set" (Piper's steady rendering) 15 dB over them, 4 s more of talk; the talkers
rendered afresh by Piper each time (its noise: a little different each run), each rendering at several
offsets of the talkers (``--seeds``). Every accepted intent but the command is a false trigger.
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

from app.voice.roundtrip import (
    COMMAND_CASES,
    Condition,
    Outcome,
    evaluate,
    non_command_cases,
    summarize,
)
from app.voice.tts import SpeechSynthesizer

CONDITIONS = (
    [Condition("clean")]
    + [Condition(n, s) for s in (15.0, 8.0) for n in ("white", "pink", "babble", "music")]
    + [Condition("room")]
)


def voices(*, steady: bool = False) -> dict[str, SpeechSynthesizer]:
    """Piper at three speeds (``steady``: without its noise, the same samples every run) and eSpeak NG."""
    from app.errors import ModelLoadError
    from app.voice.tts import EspeakSettings, EspeakSynthesizer, PiperSynthesizer

    out: dict[str, SpeechSynthesizer] = {}
    for ls in (0.85, 1.0, 1.2):
        piper = PiperSynthesizer.steady(length_scale=ls) if steady else PiperSynthesizer(length_scale=ls)
        out[f"piper-joe-ls{ls:g}"] = piper
    try:
        for s in (
            EspeakSettings("en-us", 150, 50),
            EspeakSettings("en-gb", 175, 40),
            EspeakSettings("en-us+f3", 160, 60),
        ):
            out[f"espeak-{s.voice}-r{s.rate_wpm}"] = EspeakSynthesizer(s)
    except ModelLoadError as exc:
        print(f"eSpeak NG voices skipped: {exc}", file=sys.stderr)
    return out


def _row(label: str, outcomes: list[Outcome]) -> str:
    s = summarize(outcomes)
    return (
        f"{label:41s} commands {s.commands_right:3d}/{s.commands:3d} ({s.accuracy:6.1%})  false triggers "
        f"{s.false_triggers:2d}/{s.non_commands} ({s.false_trigger_rate * 10:.2f} per 10)  decision p50/p95 "
        f"{s.latency_p50_ms:.0f}/{s.latency_p95_ms:.0f} ms"
    )


def roundtrip(args: argparse.Namespace) -> None:
    from app.voice.check import CommandChecker
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.listener import CommandListener
    from app.voice.moonshine import MoonshineModel
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.roundtrip import BABBLE_TEXTS, to_16k
    from app.voice.vad import SileroVad

    denoiser = RnnoiseDenoiser() if args.denoise else None
    checker = CommandChecker(MoonshineModel()) if args.check else None
    listener = CommandListener(PocketSphinxRecognizer(), SileroVad(), denoiser=denoiser, checker=checker)
    cases = list(COMMAND_CASES) + non_command_cases()
    conditions = CONDITIONS[: args.conditions] if args.conditions else CONDITIONS
    if args.noise:
        conditions = [c for c in conditions if c.noise in args.noise.split(",")]
    speakers = voices(steady=args.steady)
    if args.voices:
        speakers = {k: v for k, v in speakers.items() if any(k.startswith(p) for p in args.voices.split(","))}
    first = next(iter(speakers.values()))
    babble = [to_16k(first.synthesize(t)) for t in BABBLE_TEXTS]  # the same talkers behind every voice
    t0 = time.perf_counter()
    outcomes: list[Outcome] = []
    for name, synth in speakers.items():  # one voice at a time, so that a long run reports as it goes
        mine = evaluate(listener, {name: synth}, cases, conditions, babble=babble, lead_s=args.lead)
        outcomes += mine
        for condition in conditions:
            print(_row(f"{name} {condition}", [o for o in mine if o.condition == str(condition)]), flush=True)
        if args.json:
            with Path(args.json).open("a") as f:
                f.writelines(json.dumps(dataclasses.asdict(o)) + "\n" for o in mine)
    for group in ("piper", "espeak"):
        for condition in conditions:
            part = [o for o in outcomes if o.voice.startswith(group) and o.condition == str(condition)]
            if part:
                print(_row(f"{group} {condition}", part))
        part = [o for o in outcomes if o.voice.startswith(group)]
        if part:
            print(_row(f"ALL {group}", part))
    print(_row("ALL", outcomes) + f"  ({time.perf_counter() - t0:.0f} s)")
    if args.errors:
        for o in outcomes:
            if not o.correct:
                print(
                    f"  miss {o.voice} {o.condition}: {o.text!r} expected {o.expected}, got {o.got} ({o.heard_text!r})"
                )


def babble(args: argparse.Namespace) -> None:
    """False triggers of background talkers alone, in the round-trip test's scene, over many renderings."""
    import numpy as np

    from app.voice.audio import to_pcm16
    from app.voice.check import CommandChecker
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.listener import CommandListener
    from app.voice.moonshine import MoonshineModel
    from app.voice.recognizer import SAMPLE_RATE, PocketSphinxRecognizer
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
    {"roundtrip": roundtrip, "babble": babble, "frontend": frontend, "tts": tts}[args.what](args)


if __name__ == "__main__":
    main()
