"""``spotter say`` and ``spotter listen`` (imported lazily by ``app.cli``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading

from app.errors import SpeechError
from app.voice.audio import read_audio, write_wav
from app.voice.intents import NONE, Intent

log = logging.getLogger(__name__)


def say_command(args: argparse.Namespace) -> int:
    from app.voice.playback import open_output
    from app.voice.tts import create_synthesizer

    synthesizer = create_synthesizer(args.engine)
    audio = synthesizer.synthesize(args.text)
    if args.out is not None:
        write_wav(args.out, audio)
        return 0
    output = open_output()
    output.play(audio, threading.Event())
    if not output.audible:
        print(args.text)  # the caption stands in for the missing speaker
    return 0


def _show(intent: Intent, as_json: bool) -> None:
    if as_json:
        print(json.dumps(intent.to_json()), flush=True)
    elif intent.rejected:
        print(f"(not a command: {intent.text!r}, confidence {intent.confidence:.2f})", flush=True)
    else:
        slots = " ".join(f"{k}={v}" for k, v in intent.slots.items())
        print(f"{intent.name} {slots}".rstrip() + f"  ({intent.text!r}, {intent.confidence:.2f})", flush=True)


def listen_command(args: argparse.Namespace) -> int:
    if args.commands:
        from app.voice import command_set

        print(json.dumps(command_set.to_json(), indent=1) if args.json else command_set.describe())
        return 0
    from app.voice.listener import Heard, MicrophoneListener, create_listener
    from app.voice.recognizer import SAMPLE_RATE

    listener = create_listener(vosk_model=args.vosk_model, wake_word=args.wake_word, check=args.check)
    if args.wav is not None:
        audio = read_audio(args.wav)
        pcm = audio.resampled(SAMPLE_RATE).pcm16()
        heard = listener.process(pcm)
        accepted = [h.intent for h in heard if not h.intent.rejected]
        result = accepted[0] if accepted else (heard[-1].intent if heard else Intent(NONE))
        _show(result, args.json)
        return 0

    def on_heard(h: Heard) -> None:
        _show(h.intent, args.json)

    def on_unclear(h: Heard) -> None:
        print(f"not understood ({h.intent.text or 'no words'}): say it again", file=sys.stderr, flush=True)

    try:
        mic = MicrophoneListener(listener, on_heard, on_unclear)
    except OSError as exc:
        raise SpeechError(f"No microphone: PortAudio is unavailable ({exc})") from exc
    if args.push_to_talk:
        from app.voice.listener import enter_key_toggles_talk

        enter_key_toggles_talk(listener, sys.stdin, lambda text: print(text, file=sys.stderr, flush=True))
    mic.start()
    stop = threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        mic.stop()
    return 0
