"""Text -> intent with slots. Pure; the recogniser's hypothesis goes in, an ``Intent`` comes out.

The patterns are generated from the command set (``app.voice.command_set``): one per phrase, each slot
field matched by its type's words only and turned into its type's value, so a slot of one intent never
fills another's ("rest for sixty seconds" has a duration; "log sixty kilos" a number and a weight unit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from app.voice.command_set import (
    COMMAND_SET,
    DURATION_WORDS,
    TIME_UNITS,
    WAKE_WORD,
    WEIGHT_UNITS,
    Phrase,
    SlotValue,
    words_of,
)
from app.voice.grammar import exercise_names, split_affixes
from app.voice.numbers import NUMBER_WORDS, parse_number

__all__ = ["NONE", "Intent", "SlotValue", "parse_intent", "slot_value"]

NONE = "none"


@dataclass(frozen=True, slots=True)
class Intent:
    name: str  # an intent of the command set, or "none"
    slots: dict[str, SlotValue] = field(default_factory=dict)
    text: str = ""
    confidence: float = 0.0

    @property
    def rejected(self) -> bool:
        return self.name == NONE

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "intent": self.name,
            "slots": dict(self.slots),
            "confidence": self.confidence,
        }


def _either(words: Iterable[str]) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


@cache
def _type_patterns() -> dict[str, str]:
    number = rf"(?:(?:{_either(NUMBER_WORDS)})\s?)+?"
    return {
        "exercise": _either(exercise_names()),
        "number": number,
        "weight_unit": _either(WEIGHT_UNITS),
        "duration": rf"(?:{number}\s(?:{_either(TIME_UNITS)})|{_either(DURATION_WORDS)})",
    }


def _pattern(phrase: Phrase) -> re.Pattern[str]:
    types = _type_patterns()
    parts: list[str] = []
    for token in phrase.text.split():
        field_ = re.fullmatch(r"\{(\w+):(\w+)\}", token)
        if field_ is not None:
            parts.append(f"(?P<s_{field_[1]}>{types[field_[2]]})")
        else:
            parts.append(re.escape(words_of(token)))
    return re.compile(r"\s".join(p for p in parts if p))


@cache
def _patterns() -> list[tuple[str, Phrase, re.Pattern[str]]]:
    return [(c.intent, p, _pattern(p)) for c in COMMAND_SET for p in c.all_phrases]


def slot_value(kind: str, words: str) -> SlotValue | None:
    """The value of a slot of type ``kind`` said as ``words``, or ``None`` if it has none."""
    if kind == "exercise":
        return exercise_names().get(words)
    if kind == "weight_unit":
        return WEIGHT_UNITS.get(words)
    if kind == "number":
        value = parse_number(words.split())
        if value is None or value <= 0:
            return None
        return int(value) if value.is_integer() else value
    if kind == "duration":
        if words in DURATION_WORDS:
            return DURATION_WORDS[words]
        *number, unit = words.split()
        value = parse_number(number)
        if value is None or value <= 0 or unit not in TIME_UNITS:
            return None
        return round(value * TIME_UNITS[unit])
    raise ValueError(f"unknown slot type {kind!r}")


def parse_intent(text: str, *, confidence: float = 1.0, require_wake_word: bool = False) -> Intent:
    """The intent of a whole utterance, or ``none``: every word must belong to one command, but for the
    politeness words and the wake word around it ("okay coach, next set please")."""
    words = words_of(text).split()
    clean = " ".join(words)
    lead, core, trail = split_affixes(words)
    if require_wake_word and WAKE_WORD not in lead:
        return Intent(NONE, text=clean, confidence=confidence)
    # the trailing words may belong to the command ("mute the coach")
    for k in range(len(trail) + 1):
        utterance = " ".join(core + trail[:k])
        for intent, phrase, pattern in _patterns():
            match = pattern.fullmatch(utterance)
            if match is None:
                continue
            slots = _slots(phrase, match)
            if slots is not None:
                return Intent(intent, slots, clean, confidence)
    return Intent(NONE, text=clean, confidence=confidence)


def _slots(phrase: Phrase, match: re.Match[str]) -> dict[str, SlotValue] | None:
    slots: dict[str, SlotValue] = dict(phrase.fixed)
    for name, kind in phrase.fields:
        value = slot_value(kind, match[f"s_{name}"].strip())
        if value is None:
            return None
        slots[name] = value
    return slots


def intent_names() -> Mapping[str, str]:
    """Intent -> its summary, for front ends."""
    return {c.intent: c.summary for c in COMMAND_SET}
