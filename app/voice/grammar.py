"""The recogniser's JSGF grammar and the spoken exercise names, generated from the command set
(``app.voice.command_set``), so that what can be heard and what can be understood never drift apart.

Each phrase's slot fields become rules of their type: ``{to:exercise}`` -> ``<exercise>``,
``{seconds:duration}`` -> ``<duration>``, ``{value:number}`` -> ``<number>``, ``{unit:weight_unit}`` ->
``<weight_unit>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache

from app.voice.command_set import (
    COMMAND_SET,
    DURATION_WORDS,
    EXERCISE_ALIASES,
    LEADING_WORDS,
    TIME_UNITS,
    TRAILING_WORDS,
    WAKE_WORD,
    WEIGHT_UNITS,
    Phrase,
)
from app.voice.numbers import TEENS, TENS, UNITS

# Out-of-grammar absorber (optional, see ``jsgf(garbage=...)``): common short words, none of them part
# of a command. A non-command ("my phone is ringing") decodes to these and parses to no intent.
GARBAGE_WORDS = (  # noqa: SIM905  (a word list reads better as text)
    "a i the my you we it is was are be do did have has had what that this there here phone ring "
    "ringing call music song play turn on off up now today tomorrow yes no okay yeah hey hi hello "
    "good great nice thanks thank please sorry well so oh um uh like just really very much more "
    "time go get got let us me him her they them she he want need think know see look right left "
    "where when why who how about with from in at by of if but or not can will would could should "
    "dinner lunch water drink door dog cat car work home friend mom dad baby game watch tv movie "
    "text message weather rain sun hot cold tired hungry fun love day night week year man guy lot "
    "back down over out way new old big small two three four five six ten"
).split()


def split_affixes(words: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``(lead, core, trail)``: the leading run of ``LEADING_WORDS`` and the wake word, the command in the
    middle, and the trailing run of ``TRAILING_WORDS``. "hey coach pause please" -> (hey coach, pause,
    please)."""
    i = 0
    while i < len(words) and (words[i] in LEADING_WORDS or words[i] == WAKE_WORD):
        i += 1
    j = len(words)
    while j > i and words[j - 1] in TRAILING_WORDS:
        j -= 1
    return words[:i], words[i:j], words[j:]


def spoken_names(exercise_id: str, name: str) -> tuple[str, ...]:
    """``("push_up", "Push-up")`` -> ``("push up", "push ups")``; lower case, hyphens as spaces."""
    base = re.sub(r"[^a-z ]", " ", name.lower()).split()
    singular = " ".join(base)
    last = base[-1]
    if last.endswith("s") and not last.endswith("ss"):
        plural_last = last  # already plural ("high knees")
    elif last.endswith(("ss", "sh", "ch", "x")):
        plural_last = last + "es"
    else:
        plural_last = last + "s"
    plural = " ".join([*base[:-1], plural_last])
    names = [singular, plural, *EXERCISE_ALIASES.get(exercise_id, ())]
    return tuple(dict.fromkeys(names))


@cache
def exercise_names() -> dict[str, str]:
    """Every spoken form of every catalogue exercise -> exercise id."""
    from app.engine.exercises.spec import catalogue

    out: dict[str, str] = {}
    for spec in catalogue().values():
        for spoken in spoken_names(spec.id, spec.name):
            out.setdefault(spoken, spec.id)
    return out


def number_rules() -> list[str]:
    digit = " | ".join(UNITS[1:])
    return [
        f"<digit> = {digit};",
        f"<teen> = {' | '.join(TEENS)};",
        f"<tens> = {' | '.join(TENS[2:])};",
        "<below100> = <digit> | <teen> | <tens> [<digit>];",
        "<whole> = <below100> | <digit> hundred [and] [<below100>];",
        "<number> = <whole> [point (zero | <digit>)];",
    ]


def _alternatives(items: Iterable[str]) -> str:
    return " | ".join(f"({i})" if " " in i else i for i in sorted(items))


def phrase_rule(phrase: Phrase) -> str:
    """A phrase as a JSGF expansion: its slot fields as references to their type's rule."""
    return re.sub(r"\{\w+:(\w+)\}", r"<\1>", phrase.text)


def jsgf(names: Mapping[str, str] | None = None, *, garbage: bool = True) -> str:
    """The recogniser's grammar: ``[coach] <command>`` or, with ``garbage``, a run of filler words."""
    names = exercise_names() if names is None else names
    lines = ["#JSGF V1.0;", "grammar spotter;"]
    lines += number_rules()
    lines.append(f"<exercise> = {_alternatives(names)};")
    lines.append(f"<weight_unit> = {_alternatives(WEIGHT_UNITS)};")
    lines.append(f"<time_unit> = {_alternatives(TIME_UNITS)};")
    lines.append(f"<duration> = (<number> <time_unit>) | {_alternatives(DURATION_WORDS)};")
    for c in COMMAND_SET:
        lines.append(f"<{c.intent}> = {' | '.join(f'({phrase_rule(p)})' for p in c.all_phrases)};")
    lines.append(f"<command> = {' | '.join(f'<{c.intent}>' for c in COMMAND_SET)};")
    # the politeness words stay fillers too: "okay thanks" is no command
    command_words = set(re.findall(r"[a-z']+", re.sub(r"<[^>]*>", " ", "\n".join(lines[2:]))))
    lines.append(f"<lead> = {' | '.join(LEADING_WORDS)};")
    lines.append(f"<trail> = {' | '.join(TRAILING_WORDS)};")
    spoken = f"[<lead>] [{WAKE_WORD}] [<lead>] <command> [<trail>]"
    if garbage:
        filler = sorted(set(GARBAGE_WORDS) - command_words - {WAKE_WORD})
        lines.append(f"<filler> = {' | '.join(filler)};")
        lines.append(f"public <utterance> = ({spoken}) | <filler>+;")
    else:
        lines.append(f"public <utterance> = {spoken};")
    return "\n".join(lines) + "\n"


def vocabulary(names: Mapping[str, str] | None = None) -> set[str]:
    """Every word the grammar can produce (for dictionary checks)."""
    text = jsgf(names)
    body = "\n".join(line.split("=", 1)[1] for line in text.splitlines() if "=" in line)
    return set(re.findall(r"[a-z']+", re.sub(r"<[^>]*>", " ", body)))
