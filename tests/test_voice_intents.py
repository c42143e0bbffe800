"""Intent parsing and the command grammar (pure; no audio)."""

from __future__ import annotations

import pytest

from app.voice.grammar import exercise_names, jsgf, spoken_names, vocabulary
from app.voice.intents import parse_intent
from app.voice.numbers import number_words, parse_number

CASES = [
    ("pause", "pause", {}),
    ("pause the workout", "pause", {}),
    ("hold on", "pause", {}),
    ("resume", "resume", {}),
    ("continue", "resume", {}),
    ("keep going", "resume", {}),
    ("next set", "next_set", {}),
    ("next exercise", "skip_exercise", {}),
    ("skip this exercise", "skip_exercise", {}),
    ("end workout", "end_workout", {}),
    ("stop the workout", "end_workout", {}),
    ("how many reps left", "reps_left", {}),
    ("swap squats for lunges", "swap_exercise", {"from": "squat", "to": "lunge"}),
    ("replace push ups with squats", "swap_exercise", {"from": "push_up", "to": "squat"}),
    ("switch to lunges", "swap_exercise", {"to": "lunge"}),
    ("start rest", "rest", {}),
    ("rest for sixty seconds", "rest", {"seconds": 60}),
    ("rest for two minutes", "rest", {"seconds": 120}),
    ("repeat that", "repeat", {}),
    ("louder", "volume", {"direction": "up"}),
    ("quieter", "volume", {"direction": "down"}),
    ("mute", "mute", {}),
    ("unmute", "unmute", {}),
    ("log twenty kilos", "log_weight", {"value": 20, "unit": "kg"}),
    ("log one hundred thirty five pounds", "log_weight", {"value": 135, "unit": "lb"}),
    ("log two point five kilos", "log_weight", {"value": 2.5, "unit": "kg"}),
    ("Coach, pause!", "pause", {}),
    ("okay, next set please", "next_set", {}),
    ("hey coach, log twenty kilos", "log_weight", {"value": 20, "unit": "kg"}),
    ("okay, rest for a minute now", "rest", {"seconds": 60}),
]


@pytest.mark.parametrize(("text", "intent", "slots"), CASES)
def test_commands_parse_with_slots(text: str, intent: str, slots: dict[str, object]) -> None:
    result = parse_intent(text)
    assert (result.name, result.slots) == (intent, slots)


@pytest.mark.parametrize(
    "text",
    [
        "my phone is ringing",
        "pause the music",
        "log five five kilos",
        "switch to yoga",
        "",
        "rest for zero seconds",
        "okay please",
        "okay thanks",
        "coach",
    ],
)
def test_non_commands_are_none(text: str) -> None:
    assert parse_intent(text).name == "none"


def test_wake_word_mode_requires_coach() -> None:
    assert parse_intent("pause", require_wake_word=True).name == "none"
    assert parse_intent("coach pause", require_wake_word=True).name == "pause"
    assert parse_intent("hey coach, pause please", require_wake_word=True).name == "pause"
    assert parse_intent("okay pause", require_wake_word=True).name == "none"


def test_numbers_round_trip() -> None:
    for n in [1, 9, 10, 13, 20, 42, 99, 100, 105, 135, 999]:
        assert parse_number(number_words(n).split()) == n


def test_spoken_exercise_names_cover_the_catalogue() -> None:
    assert spoken_names("push_up", "Push-up") == ("push up", "push ups")
    assert spoken_names("bench_press", "Bench press") == ("bench press", "bench presses")
    names = exercise_names()
    assert {"squats", "lunges", "push ups", "biceps curls", "deadlifts"} <= set(names)
    from app.engine.exercises.spec import catalogue

    assert set(names.values()) == set(catalogue())


def test_jsgf_grammar_names_every_intent_and_filler_excludes_command_words() -> None:
    grammar = jsgf()
    for intent in ["pause", "swap_exercise", "log_weight", "rest", "volume"]:
        assert f"<{intent}> =" in grammar
    filler = next(line for line in grammar.splitlines() if line.startswith("<filler>"))
    assert " two " not in filler and " up " not in filler
    assert "lunges" in vocabulary()
