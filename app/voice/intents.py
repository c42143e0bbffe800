"""Text -> intent with slots. Pure; the recogniser's hypothesis goes in, an ``Intent`` comes out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from app.voice.grammar import (
    COMMANDS,
    TIME_UNIT_WORDS,
    UNIT_WORDS,
    VOLUME_WORDS,
    WAKE_WORD,
    exercise_names,
    split_affixes,
)
from app.voice.numbers import NUMBER_WORDS, parse_number

NONE = "none"
SlotValue = str | int | float


@dataclass(frozen=True, slots=True)
class Intent:
    name: str  # one of COMMANDS, or "none"
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


_NUMBER_WORDS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))


def _pattern(phrase: str, names: Mapping[str, str]) -> re.Pattern[str]:
    exercise = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    parts: list[str] = []
    ex = 0
    for word in phrase.split():
        if word == "<exercise>":
            ex += 1
            parts.append(f"(?P<ex{ex}>{exercise})")
        elif word == "<number>":
            parts.append(rf"(?P<number>(?:(?:{_NUMBER_WORDS})\s?)+?)")
        elif word == "<unit>":
            parts.append(f"(?P<unit>{'|'.join(UNIT_WORDS)})")
        elif word == "<time_unit>":
            parts.append(f"(?P<time_unit>{'|'.join(TIME_UNIT_WORDS)})")
        else:
            parts.append(re.escape(word))
    return re.compile(r"\s".join(parts))


@cache
def _patterns() -> list[tuple[str, str, re.Pattern[str]]]:
    names = exercise_names()
    return [(intent, p, _pattern(p, names)) for intent, phrases in COMMANDS.items() for p in phrases]


def parse_intent(text: str, *, confidence: float = 1.0, require_wake_word: bool = False) -> Intent:
    """The intent of a whole utterance, or ``none``: every word must belong to one command, but for the
    politeness words and the wake word around it ("okay coach, next set please")."""
    words = re.sub(r"[^a-z ]", " ", text.lower()).split()
    clean = " ".join(words)
    lead, core, _ = split_affixes(words)
    if require_wake_word and WAKE_WORD not in lead:
        return Intent(NONE, text=clean, confidence=confidence)
    utterance = " ".join(core)
    for intent, phrase, pattern in _patterns():
        match = pattern.fullmatch(utterance)
        if match is None:
            continue
        slots = _slots(intent, phrase, match)
        if slots is not None:
            return Intent(intent, slots, clean, confidence)
    return Intent(NONE, text=clean, confidence=confidence)


def _slots(intent: str, phrase: str, match: re.Match[str]) -> dict[str, SlotValue] | None:
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    names = exercise_names()
    slots: dict[str, SlotValue] = {}
    if intent == "swap_exercise":
        if "ex2" in groups:
            slots["from"] = names[groups["ex1"]]
            slots["to"] = names[groups["ex2"]]
        else:
            slots["to"] = names[groups["ex1"]]
    elif intent == "volume":
        slots["direction"] = VOLUME_WORDS[phrase]
    elif intent == "rest":
        if phrase == "rest for a minute":
            slots["seconds"] = 60
        elif "number" in groups:
            value = parse_number(groups["number"].split())
            if value is None or value <= 0:
                return None
            slots["seconds"] = round(value * TIME_UNIT_WORDS[groups["time_unit"]])
    elif intent == "log_weight":
        value = parse_number(groups["number"].split())
        if value is None or value <= 0:
            return None
        slots["value"] = int(value) if value.is_integer() else value
        slots["unit"] = UNIT_WORDS[groups["unit"]]
    return slots
