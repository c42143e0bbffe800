"""Voice benchmarks.

    .venv/bin/python bench/voice.py tts        # event -> first audio sample, cached and uncached
    .venv/bin/python bench/voice.py roundtrip  # spoken commands -> intents: accuracy, false triggers, latency

The round trip speaks every command and non-command with Piper (three speeds) and eSpeak NG (three
voices/rates, when installed), clean and with white, pink and babble noise at 15 and 8 dB SNR, and
runs the result through the Silero VAD, PocketSphinx and the intent parser.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.voice.roundtrip import (
    COMMAND_CASES,
    Condition,
    evaluate,
    non_command_cases,
    summarize,
)
from app.voice.tts import SpeechSynthesizer

CONDITIONS = [Condition("clean")] + [
    Condition(n, s) for s in (15.0, 8.0) for n in ("white", "pink", "babble")
]


def voices() -> dict[str, SpeechSynthesizer]:
    from app.errors import ModelLoadError
    from app.voice.tts import EspeakSettings, EspeakSynthesizer, PiperSynthesizer

    out: dict[str, SpeechSynthesizer] = {}
    for ls in (0.85, 1.0, 1.2):
        out[f"piper-joe-ls{ls:g}"] = PiperSynthesizer(length_scale=ls)
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


def roundtrip(args: argparse.Namespace) -> None:
    from app.voice.listener import CommandListener
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.vad import SileroVad

    listener = CommandListener(PocketSphinxRecognizer(), SileroVad())
    cases = list(COMMAND_CASES) + non_command_cases()
    conditions = CONDITIONS[: args.conditions] if args.conditions else CONDITIONS
    t0 = time.perf_counter()
    outcomes = evaluate(listener, voices(), cases, conditions)
    rows: dict[str, dict[str, object]] = {}
    for key in sorted({(o.voice, o.condition) for o in outcomes}):
        s = summarize([o for o in outcomes if (o.voice, o.condition) == key])
        rows[f"{key[0]} {key[1]}"] = {
            "accuracy": round(s.accuracy, 3),
            "false_triggers": f"{s.false_triggers}/{s.non_commands}",
            "latency_p95_ms": round(s.latency_p95_ms),
        }
        print(
            f"{key[0]:24s} {key[1]:16s} commands {s.commands_right:2d}/{s.commands}  false triggers {s.false_triggers}/{s.non_commands}  decision p50/p95 {s.latency_p50_ms:.0f}/{s.latency_p95_ms:.0f} ms"
        )
    for group in ("piper", "espeak"):
        part = [o for o in outcomes if o.voice.startswith(group)]
        if part:
            s = summarize(part)
            print(
                f"ALL {group:8s} commands {s.accuracy:.1%} ({s.commands_right}/{s.commands})  false triggers {s.false_triggers}/{s.non_commands} ({s.false_trigger_rate * 10:.2f} per 10)  decision p50/p95 {s.latency_p50_ms:.0f}/{s.latency_p95_ms:.0f} ms"
            )
    s = summarize(outcomes)
    print(
        f"ALL              commands {s.accuracy:.1%} ({s.commands_right}/{s.commands})  false triggers {s.false_triggers}/{s.non_commands} ({s.false_trigger_rate * 10:.2f} per 10)  decision p50/p95 {s.latency_p50_ms:.0f}/{s.latency_p95_ms:.0f} ms  ({time.perf_counter() - t0:.0f} s)"
    )
    if args.errors:
        for o in outcomes:
            if not o.correct:
                print(
                    f"  miss {o.voice} {o.condition}: {o.text!r} expected {o.expected}, got {o.got} ({o.heard_text!r})"
                )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


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
    p.add_argument("--errors", action="store_true", help="list every miss")
    p.add_argument("--json", help="write the per-condition table here")
    p = sub.add_parser("tts")
    p.add_argument("--engine", choices=("auto", "piper", "espeak"), default="auto")
    p.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    {"roundtrip": roundtrip, "tts": tts}[args.what](args)


if __name__ == "__main__":
    main()
