"""Spoken English numbers: words for numbers (cues) and numbers from words (intents)."""

from __future__ import annotations

UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

NUMBER_WORDS = frozenset([*UNITS, *TEENS, *(t for t in TENS if t), "hundred", "and", "point"])

_VALUES: dict[str, int] = {w: i for i, w in enumerate(UNITS)}
_VALUES.update({w: 10 + i for i, w in enumerate(TEENS)})
_VALUES.update({w: 10 * i for i, w in enumerate(TENS) if w})


def number_words(n: int) -> str:
    """``135`` -> ``"one hundred thirty five"`` (0 <= n < 1000)."""
    if not 0 <= n < 1000:
        raise ValueError(f"number out of range: {n}")
    if n < 10:
        return UNITS[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        tens, unit = divmod(n, 10)
        return TENS[tens] + (f" {UNITS[unit]}" if unit else "")
    hundreds, rest = divmod(n, 100)
    return f"{UNITS[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")


def parse_number(words: list[str]) -> float | None:
    """Words of one number (``one hundred and thirty five``, ``two point five``) -> value, else None."""
    if not words:
        return None
    if "point" in words:
        i = words.index("point")
        whole = parse_number(words[:i])
        frac = words[i + 1 :]
        if whole is None or len(frac) != 1 or frac[0] not in UNITS:
            return None
        return whole + UNITS.index(frac[0]) / 10
    total = 0
    current = 0
    last = ""
    for word in words:
        if word == "and":
            continue
        if word == "hundred":
            if not 1 <= current < 10:
                return None
            total += current * 100
            current = 0
        elif word in _VALUES:
            value = _VALUES[word]
            # "twenty five" is allowed; "five twenty" and "five five" are not one number
            if current and not (last in TENS and value < 10):
                return None
            current += value
        else:
            return None
        last = word
    return float(total + current)
