"""The voice command set as data: phrases per intent, spoken exercise names, and the JSGF grammar.

Phrases are plain word sequences with three slot placeholders: ``<exercise>``, ``<number>`` and
``<unit>``/``<time_unit>``. The same table yields the recogniser's JSGF grammar and the intent
parser's patterns, so what can be heard and what can be understood never drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache

from app.voice.numbers import TEENS, TENS, UNITS

WAKE_WORD = "coach"
# Words people put around a command ("okay, pause", "hey coach, next set", "pause please"): heard and
# parsed around any command, never a command by themselves.
LEADING_WORDS = ("okay", "ok", "hey", "please")  # not "um": "um mute" is "unmute"
TRAILING_WORDS = ("please", "now")

COMMANDS: dict[str, tuple[str, ...]] = {
    "pause": ("pause", "pause the workout", "pause workout", "hold on"),
    "resume": ("resume", "resume the workout", "continue", "keep going"),
    "next_set": ("next set", "start the next set", "start next set"),
    "skip_exercise": ("next exercise", "skip this exercise", "skip exercise"),
    "end_workout": ("end workout", "end the workout", "stop the workout", "finish the workout"),
    "reps_left": ("how many reps left", "how many reps are left", "how many more reps"),
    "swap_exercise": (
        "swap <exercise> for <exercise>",
        "replace <exercise> with <exercise>",
        "switch to <exercise>",
        "swap to <exercise>",
    ),
    "rest": ("start rest", "start resting", "rest for <number> <time_unit>", "rest for a minute"),
    "repeat": ("repeat that", "say that again"),
    "volume": ("louder", "quieter", "volume up", "volume down", "speak up"),
    "mute": ("mute", "mute the coach"),
    "unmute": ("unmute", "unmute the coach"),
    "log_weight": ("log <number> <unit>",),
}

UNIT_WORDS: dict[str, str] = {"kilos": "kg", "kilo": "kg", "kilograms": "kg", "pounds": "lb", "pound": "lb"}
TIME_UNIT_WORDS: dict[str, int] = {"seconds": 1, "second": 1, "minutes": 60, "minute": 60}
VOLUME_WORDS: dict[str, str] = {
    "louder": "up",
    "volume up": "up",
    "speak up": "up",
    "quieter": "down",
    "volume down": "down",
}

# Extra spoken names beyond the spec's own name (singular and plural are derived).
ALIASES: dict[str, tuple[str, ...]] = {
    "biceps_curl": ("bicep curls", "curls"),
    "jumping_jack": ("jumping jacks",),
    "triceps_pushdown": ("tricep pushdowns",),
}

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
    plural_last = last + "es" if last.endswith(("s", "sh", "ch", "x")) else last + "s"
    plural = " ".join([*base[:-1], plural_last])
    names = [singular, plural, *ALIASES.get(exercise_id, ())]
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


def jsgf(names: Mapping[str, str] | None = None, *, garbage: bool = True) -> str:
    """The recogniser's grammar: ``[coach] <command>`` or, with ``garbage``, a run of filler words."""
    names = exercise_names() if names is None else names
    lines = ["#JSGF V1.0;", "grammar spotter;"]
    lines += number_rules()
    lines.append(f"<exercise> = {_alternatives(names)};")
    lines.append(f"<unit> = {_alternatives(UNIT_WORDS)};")
    lines.append(f"<time_unit> = {_alternatives(TIME_UNIT_WORDS)};")
    for intent, phrases in COMMANDS.items():
        lines.append(f"<{intent}> = {' | '.join(f'({p})' for p in phrases)};")
    lines.append(f"<command> = {' | '.join(f'<{i}>' for i in COMMANDS)};")
    # the politeness words stay fillers too: "okay thanks" is no command
    command_words = set(re.findall(r"[a-z]+", re.sub(r"<[^>]*>", " ", "\n".join(lines[2:]))))
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
    return {w for w in re.findall(r"[a-z]+", re.sub(r"<[^>]*>", " ", body))}
