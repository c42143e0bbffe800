"""The voice command set, defined once: every intent, its phrases and variants, its typed slots and its risk.

The recogniser's JSGF grammar (``app.voice.grammar``), the intent parser (``app.voice.intents``), the
checker's candidate commands (``app.voice.check``), ``spotter listen --commands``, the tests and the bench
are all generated from ``COMMAND_SET``, so a command cannot exist in one and be missing in another.

A phrase is plain words and typed slot fields, ``{name:type}``: ``"replace {from:exercise} with
{to:exercise}"``. Slot types are ``exercise`` (a catalogue exercise, by any of its spoken names),
``number`` (a spoken number), ``weight_unit`` (kilos, pounds) and ``duration`` (a number and a time unit,
or "a minute"; its value is seconds). A slot of one intent never fills a slot of another: "sixty seconds"
is a ``duration`` and only ``rest`` and ``add_rest`` take one; ``log_weight`` takes a ``number`` and a
``weight_unit``. A phrase may also carry fixed slot values ("louder": ``direction=up``).

``risk`` says how certain the listener must be before acting (``app.voice.acceptance``): "louder" done
by mistake is undone by "quieter"; "end workout" done by mistake ends the workout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

SlotValue = str | int | float

WAKE_WORD = "coach"
# Words people put around a command ("okay, pause", "hey coach, next set", "pause please", "louder coach"):
# heard and parsed around any command, never a command by themselves. Not "um": "um mute" is "unmute".
LEADING_WORDS = ("okay", "ok", "hey", "please", "now", "so", "alright")
TRAILING_WORDS = ("please", "now", "coach", "thanks")

SLOT_TYPES = ("exercise", "number", "weight_unit", "duration")
WEIGHT_UNITS: dict[str, str] = {
    "kilos": "kg",
    "kilo": "kg",
    "kilograms": "kg",
    "kilogram": "kg",
    "pounds": "lb",
    "pound": "lb",
}
TIME_UNITS: dict[str, int] = {"seconds": 1, "second": 1, "minutes": 60, "minute": 60}
# durations said without a number
DURATION_WORDS: dict[str, int] = {"a minute": 60, "half a minute": 30}

# How a free transcript may spell the command set's words (Moonshine writes "work out", "push-ups",
# "pushups", "un-mute"): rewritten before matching. Keys and values are whole words.
SPELLINGS: dict[str, str] = {
    "work out": "workout",
    "pushups": "push ups",
    "pushup": "push up",
    "situps": "sit ups",
    "situp": "sit up",
    "un mute": "unmute",
    "okey": "okay",
    "lbs": "pounds",
    "kgs": "kilos",
    "kg": "kilos",
    "secs": "seconds",
    "sec": "seconds",
    "mins": "minutes",
    "min": "minutes",
}


class Risk(IntEnum):
    """What acting on a misheard command costs."""

    LOW = 0  # undone by another word or harmless (louder, repeat)
    MEDIUM = 1  # changes the session's flow (pause, next set, swap)
    HIGH = 2  # hard to undo (end the workout, skip an exercise)


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # words and ``{name:type}`` slot fields
    fixed: tuple[tuple[str, SlotValue], ...] = ()  # slot values the phrase itself carries

    @property
    def fields(self) -> list[tuple[str, str]]:
        """``(slot name, slot type)`` of each field, in order."""
        return [(m[1], m[2]) for m in re.finditer(r"\{(\w+):(\w+)\}", self.text)]


@dataclass(frozen=True, slots=True)
class Command:
    intent: str
    summary: str  # what it does, for ``spotter listen --commands``
    risk: Risk
    phrases: tuple[Phrase, ...]  # the canonical phrases (the first is the one a help text shows)
    variants: tuple[Phrase, ...] = ()  # common other ways of saying it
    slots: tuple[str, ...] = ()  # the slots an accepted command may carry

    @property
    def all_phrases(self) -> tuple[Phrase, ...]:
        return self.phrases + self.variants


def _p(text: str, **fixed: SlotValue) -> Phrase:
    return Phrase(text, tuple(fixed.items()))


def _ps(*texts: str) -> tuple[Phrase, ...]:
    return tuple(Phrase(t) for t in texts)


COMMAND_SET: tuple[Command, ...] = (
    Command(
        "pause",
        "pause the workout (counting stops)",
        Risk.MEDIUM,
        _ps("pause", "pause the workout", "pause workout", "hold on"),
        _ps("pause it", "wait a second", "take a break"),
    ),
    Command(
        "resume",
        "resume a paused workout",
        Risk.MEDIUM,
        _ps("resume", "resume the workout", "continue", "keep going"),
        _ps("unpause", "carry on", "resume workout", "continue the workout", "let's go"),
    ),
    Command(
        "next_set",
        "close the set and rest (or, resting, start the next set)",
        Risk.MEDIUM,
        _ps("next set", "start the next set", "start next set"),
        _ps(
            "that's my last rep",
            "that was my last rep",
            "last rep",
            "set done",
            "new set",
            "go to the next set",
        ),
    ),
    Command(
        "skip_exercise",
        "move on to the next exercise of the program",
        Risk.HIGH,
        _ps("next exercise", "skip this exercise", "skip exercise"),
        _ps("skip the exercise", "go to the next exercise", "move on to the next exercise", "skip this one"),
    ),
    Command(
        "end_workout",
        "end the workout and save it",
        Risk.HIGH,
        _ps("end workout", "end the workout", "stop the workout", "finish the workout"),
        _ps("stop workout", "finish workout", "end the session", "end session"),
    ),
    Command(
        "reps_left",
        "say how many reps are left in the set",
        Risk.LOW,
        _ps("how many reps left", "how many reps are left", "how many more reps"),
        _ps("how many left", "how many more", "reps left"),
    ),
    Command(
        "swap_exercise",
        "swap one exercise for another (or switch to one)",
        Risk.MEDIUM,
        _ps(
            "swap {from:exercise} for {to:exercise}",
            "replace {from:exercise} with {to:exercise}",
            "switch to {to:exercise}",
            "swap to {to:exercise}",
        ),
        _ps(
            "change to {to:exercise}",
            "let's do {to:exercise}",
            "swap {from:exercise} with {to:exercise}",
            "change {from:exercise} to {to:exercise}",
            "switch {from:exercise} to {to:exercise}",
            "switch from {from:exercise} to {to:exercise}",
        ),
        ("from", "to"),
    ),
    Command(
        "rest",
        "start the rest timer (the set's rest, or as long as said)",
        Risk.LOW,
        _ps("start rest", "start resting", "rest for {seconds:duration}"),
        _ps("start the rest", "start the rest timer", "take a rest", "rest {seconds:duration}", "rest"),
        ("seconds",),
    ),
    Command(
        "skip_rest",
        "end the rest now",
        Risk.MEDIUM,
        _ps("skip rest", "skip the rest"),
        _ps("end rest", "end the rest", "stop the rest", "stop resting", "done resting", "enough rest"),
    ),
    Command(
        "add_rest",
        "add time to the running rest",
        Risk.LOW,
        (Phrase("add {seconds:duration}"), _p("more rest", seconds=30)),
        _ps("add {seconds:duration} to the rest", "give me {seconds:duration} more"),
        ("seconds",),
    ),
    Command(
        "repeat",
        "say the coach's last line again",
        Risk.LOW,
        _ps("repeat that", "say that again"),
        _ps("repeat", "come again"),
    ),
    Command(
        "volume",
        "make the coach louder or quieter",
        Risk.LOW,
        (
            _p("louder", direction="up"),
            _p("quieter", direction="down"),
            _p("volume up", direction="up"),
            _p("volume down", direction="down"),
            _p("speak up", direction="up"),
        ),
        (
            _p("turn it up", direction="up"),
            _p("turn it down", direction="down"),
            _p("a bit louder", direction="up"),
            _p("a bit quieter", direction="down"),
            _p("softer", direction="down"),
        ),
        ("direction",),
    ),
    Command(
        "mute", "silence the coach", Risk.LOW, _ps("mute", "mute the coach"), _ps("be quiet", "mute yourself")
    ),
    Command(
        "unmute",
        "let the coach speak again",
        Risk.LOW,
        _ps("unmute", "unmute the coach"),
        _ps("unmute yourself", "you can talk again"),
    ),
    Command(
        "log_weight",
        "log the load of the open and following sets",
        Risk.MEDIUM,
        _ps("log {value:number} {unit:weight_unit}"),
        _ps("weight {value:number} {unit:weight_unit}", "log weight {value:number} {unit:weight_unit}"),
        ("value", "unit"),
    ),
)

# Extra spoken names of exercises beyond the spec's own name (singular and plural are derived).
EXERCISE_ALIASES: dict[str, tuple[str, ...]] = {
    "biceps_curl": ("bicep curls", "curls"),
    "jumping_jack": ("jumping jacks",),
    "triceps_pushdown": ("tricep pushdowns",),
}

# Fillers the grammar's slot values are spoken with, for the generated utterances (tests, bench):
# several per type, so that the phrases of one intent are not all heard with one value.
SAMPLE_VALUES: dict[str, tuple[tuple[str, SlotValue], ...]] = {
    "exercise": (
        ("squats", "squat"),
        ("lunges", "lunge"),
        ("push ups", "push_up"),
        ("deadlifts", "deadlift"),
    ),
    "number": (("twenty", 20), ("one hundred thirty five", 135), ("sixty two", 62), ("forty", 40)),
    "weight_unit": (("kilos", "kg"), ("pounds", "lb")),
    "duration": (
        ("sixty seconds", 60),
        ("ninety seconds", 90),
        ("two minutes", 120),
        ("ten seconds", 10),
        ("thirty seconds", 30),
        ("a minute", 60),
    ),
}


def command(intent: str) -> Command:
    for c in COMMAND_SET:
        if c.intent == intent:
            return c
    raise KeyError(intent)


def risk_of(intent: str) -> Risk:
    return command(intent).risk


def words_of(text: str) -> str:
    """A phrase or a transcript in the command set's spelling: lower case, no apostrophes ("that's" ->
    "thats"), other punctuation as spaces, ``SPELLINGS`` applied."""
    t = re.sub(r"[^a-z ]", " ", text.lower().replace("'", "").replace("\u2019", ""))
    t = " " + " ".join(t.split()) + " "
    for spelt, word in SPELLINGS.items():
        t = t.replace(f" {spelt} ", f" {word} ")
    return t.strip()


@dataclass(frozen=True, slots=True)
class Utterance:
    """A spoken example generated from a phrase, with the intent and slots it must parse to."""

    text: str
    intent: str
    slots: dict[str, SlotValue]
    canonical: bool  # from a canonical phrase (not a variant)


def utterances(*, variants: bool = True) -> Iterator[Utterance]:
    """One utterance per phrase of the command set, its slots filled with ``SAMPLE_VALUES`` in turn (the
    from and to of a swap never the same exercise)."""
    turn = dict.fromkeys(SAMPLE_VALUES, 0)
    for c in COMMAND_SET:
        for phrase in c.phrases + (c.variants if variants else ()):
            text = phrase.text
            slots: dict[str, SlotValue] = dict(phrase.fixed)
            for name, kind in phrase.fields:
                spoken, value = SAMPLE_VALUES[kind][turn[kind] % len(SAMPLE_VALUES[kind])]
                turn[kind] += 1
                text = text.replace(f"{{{name}:{kind}}}", spoken, 1)
                slots[name] = value
            yield Utterance(text, c.intent, slots, phrase in c.phrases)


def validate() -> None:
    """The command set's own consistency (run by the tests): unique intents, known slot types, slots
    declared, no phrase in two intents."""
    seen: dict[str, str] = {}
    intents = [c.intent for c in COMMAND_SET]
    if len(set(intents)) != len(intents):
        raise ValueError("an intent is defined twice")
    for c in COMMAND_SET:
        for phrase in c.all_phrases:
            for name, kind in phrase.fields:
                if kind not in SLOT_TYPES:
                    raise ValueError(f"{c.intent}: {phrase.text!r} has an unknown slot type {kind!r}")
                if name not in c.slots:
                    raise ValueError(f"{c.intent}: slot {name!r} is not declared")
            for name, _ in phrase.fixed:
                if name not in c.slots:
                    raise ValueError(f"{c.intent}: slot {name!r} is not declared")
            key = words_of(re.sub(r"\{\w+:(\w+)\}", r"<\1>", phrase.text).replace("<", " ").replace(">", " "))
            if key in seen and seen[key] != c.intent:
                raise ValueError(f"{phrase.text!r} is in {seen[key]} and {c.intent}")
            seen[key] = c.intent


def describe() -> str:
    """The command set as text (``spotter listen --commands``)."""
    lines = [
        f"Say a command, with or without {WAKE_WORD!r} and {', '.join(repr(w) for w in LEADING_WORDS[:3])} "
        f"before it or {', '.join(repr(w) for w in TRAILING_WORDS[:2])} after it.",
        "Slots: {exercise} a catalogue exercise, {number} a number in words, {weight_unit} kilos or pounds, "
        "{duration} a number of seconds or minutes.",
        "",
    ]
    for c in COMMAND_SET:
        slots = f"  slots: {', '.join(c.slots)}" if c.slots else ""
        lines.append(f"{c.intent} ({c.risk.name.lower()} risk): {c.summary}{slots}")
        for p in c.phrases:
            lines.append(f"    {_shown(p)}")
        for p in c.variants:
            lines.append(f"    {_shown(p)}   (variant)")
    return "\n".join(lines)


def _shown(phrase: Phrase) -> str:
    text = re.sub(r"\{(\w+):(\w+)\}", r"{\2}", phrase.text)
    return text + (f"  -> {', '.join(f'{k}={v}' for k, v in phrase.fixed)}" if phrase.fixed else "")


def to_json() -> list[dict[str, object]]:
    return [
        {
            "intent": c.intent,
            "summary": c.summary,
            "risk": c.risk.name.lower(),
            "slots": list(c.slots),
            "phrases": [p.text for p in c.phrases],
            "variants": [p.text for p in c.variants],
        }
        for c in COMMAND_SET
    ]
