"""A second opinion on every utterance from an open-vocabulary model (Moonshine), which knows what a
person says when it is not a command.

The grammar recogniser can only hear commands, so it forces anything onto the nearest one and needs its
own rejection; and a formant voice, or a command over babble, often comes out as the wrong command. The
checker transcribes the utterance freely, gathers candidate commands (what the grammar heard, and the
commands whose words are closest to the free transcript) and scores each one under the same model,
against the model's own transcript: ``margin = log P(candidate) - log P(transcript)``. "my phone is
ringing" read as "pause" falls 30-60 nats short; "paused the workout" read as "pause the workout", 1.

The two opinions combine (``CommandChecker.decide``):
- a hypothesis the grammar recogniser is sure of (``sure``) stands without a check;
- Moonshine's transcript stands when it is itself a command, word for word;
- the grammar's hypothesis, when its own confidence accepts it, stands unless Moonshine finds it far less
  likely than what it heard (``veto`` nats; ``far`` when the two are spelt nearly alike, "blood one
  hundred thirty five pounds" for "log one hundred thirty five pound": two recognisers agreeing on most
  of the words), or heard nothing at all and finds the hypothesis unlikely (``silent``); and unless
  Moonshine prefers another candidate to it (``rival`` nats), which then stands in its place if
  Moonshine finds it nearly as likely as what it heard ("unused" heard, "mute" hypothesised: "unmute");
- otherwise the best candidate stands when Moonshine finds it nearly as likely as its own transcript
  (``accept`` nats): the grammar misheard, or doubted, a command Moonshine heard plainly; or, a little
  less likely (``agree``), when it means what the grammar's accepted hypothesis means ("pounds" for
  "pound"): two recognisers agreeing.

A candidate the grammar did not accept (a rival, or a command the grammar doubted or misheard) must also be
vouched for, not merely found as likely as Moonshine's transcript: more than half of its words are in
that transcript, each spelt nearly alike (``word_alike``: Moonshine heard it), or, where it is the
grammar's own hypothesis, the grammar heard it with some confidence (``doubted``). Over background talkers
Moonshine's transcript of a stretch of babble is itself unlikely ("In 17," at -8.6 nats, "So we're going
to see." at -11.3), and a command the grammar forced onto it and all but dismissed ("continue" at 0.07),
or the command spelt nearest the transcript ("keep going"), scored about as well: opinions against it
made a confident command, in about 1 of 100 renderings of the round-trip test's talkers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import cache

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from app.voice.acceptance import Acceptance
from app.voice.audio import speech_span
from app.voice.command_set import COMMAND_SET, SAMPLE_VALUES, risk_of, words_of
from app.voice.grammar import split_affixes
from app.voice.intents import NONE, Intent, parse_intent
from app.voice.moonshine import Hidden, MoonshineModel
from app.voice.numbers import NUMBER_WORDS, number_words, parse_number
from app.voice.recognizer import SAMPLE_RATE, Recognition

log = logging.getLogger(__name__)

NEAREST = 4  # commands closest in spelling to the free transcript that are scored
LARGEST_NUMBER = 400  # spoken numbers expanded for the spelling match (slots take any number)


def normalize(text: str) -> str:
    """A free transcript in the grammar's words: lower case, numbers spelt out, no punctuation."""
    t = text.lower().replace("-", " ")
    t = re.sub(r"(\d+)\s*kgs?\b", r"\1 kilos", t)
    t = re.sub(r"(\d+)\s*lbs?\b", r"\1 pounds", t)
    t = re.sub(r"\d+", lambda m: number_words(int(m.group())) if int(m.group()) < 1000 else " ", t)
    return words_of(t)


def written(words: str) -> str:
    """Grammar words as Moonshine writes a short sentence: a capital and a full stop."""
    return words[:1].upper() + words[1:] + "." if words else ""


def in_digits(words: str) -> str:
    """Grammar words with their numbers in digits ("log 135 pounds"), as Moonshine often writes them."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words.split(), ""]:
        if word in NUMBER_WORDS and (run or word not in ("and", "point", "hundred")):
            run.append(word)
            continue
        value = parse_number(run)
        if value is not None:
            out.append(f"{value:g}")
        else:
            out.extend(run)
        run = []
        out.append(word)
    return " ".join(out).strip()


def written_forms(words: str) -> list[str]:
    """The ways Moonshine may write a command: numbers in words, and in digits."""
    forms = [written(words), written(in_digits(words))]
    return forms[:1] if forms[0] == forms[1] else forms


def _slot_words() -> dict[str, list[str]]:
    """Every way a slot of each type is said, numbers up to ``LARGEST_NUMBER``."""
    from app.voice.command_set import DURATION_WORDS, TIME_UNITS, WEIGHT_UNITS
    from app.voice.grammar import exercise_names

    numbers = [number_words(n) for n in range(1, LARGEST_NUMBER)]
    durations = [f"{n} {u}" for n in numbers[:120] for u in TIME_UNITS] + list(DURATION_WORDS)
    out = {
        "exercise": list(exercise_names()),
        "number": numbers,
        "weight_unit": list(WEIGHT_UNITS),
        "duration": durations,
    }
    assert set(out) == set(SAMPLE_VALUES)  # every slot type of the command set
    return out


def _expansions(phrase: str, slots: dict[str, list[str]]) -> Iterator[str]:
    partial = [""]
    for token in phrase.split():
        field = re.fullmatch(r"\{\w+:(\w+)\}", token)
        options = slots[field[1]] if field is not None else [words_of(token)]
        partial = [f"{p} {w}".strip() for p in partial for w in options]
    yield from partial


@cache
def command_texts() -> tuple[str, ...]:
    """Every command of the command set, slots filled (numbers up to ``LARGEST_NUMBER``, durations up to
    120 of a unit), in the command set's spelling."""
    slots = _slot_words()
    return tuple(sorted({t for c in COMMAND_SET for p in c.all_phrases for t in _expansions(p.text, slots)}))


@cache
def _proper_prefixes() -> frozenset[str]:
    return frozenset(" ".join(w[:k]) for t in command_texts() if (w := t.split()) for k in range(1, len(w)))


def can_continue(text: str) -> bool:
    """Whether a longer command starts with these grammar words ("pause" -> "pause the workout"), so that
    an utterance heard as ``text`` may not be over yet. A trailing "please" ends it."""
    _, core, trail = split_affixes(text.split())
    return not trail and " ".join(core) in _proper_prefixes()


def _same_meaning(a: Intent, b: Intent) -> bool:
    return (a.name, a.slots) == (b.name, b.slots)


class CommandChecker:
    """Moonshine's check of an utterance, and its combination with the grammar recogniser's result."""

    def __init__(
        self,
        model: MoonshineModel,
        *,
        veto: float = 15.0,
        far: float = 25.0,
        alike: float = 75.0,
        silent: float = 10.0,
        rival: float = 2.0,
        accept: float = 4.0,
        agree: float = 10.0,
        min_confidence: float = 0.5,
        word_alike: float = 70.0,
        doubted: float = 0.25,
        speech_margin_s: float | None = 0.15,
        acceptance: Acceptance | None = None,
    ) -> None:
        self.model = model
        # Moonshine hears the utterance cut to its speech with this much either side (None: all of it, with
        # the VAD's pre-roll and hangover). It was trained on tight segments, and silence around a short
        # command makes it write nothing: 165 commands (15 phrases, Piper and ten eSpeak NG voices) gave a
        # transcript of the right intent 49 times with 0.1 s either side, 51 with 0.2 s, 36 with 0.4 s
        # and 21 with 0.7 s, where 115 came out empty
        self.speech_margin_s = speech_margin_s
        self.veto = veto  # nats under the transcript at which Moonshine overrules an accepted hypothesis
        self.far = far  # ...when the transcript is spelt like the hypothesis (``alike``, rapidfuzz's ratio)
        self.alike = alike  # on the bench, non-commands' transcripts were at most 53 like the hypothesis
        self.silent = silent  # nats under an empty transcript within which the hypothesis still stands
        self.rival = rival  # nats by which Moonshine prefers another candidate to the hypothesis
        self.accept = accept  # nats under the transcript within which Moonshine's own candidate stands
        self.agree = agree  # the same for a candidate that means what the accepted hypothesis means
        self.min_confidence = min_confidence  # the grammar recogniser's own acceptance
        # ...and when it needs no second opinion (its confidence, the command's risk, the noise)
        self.acceptance = acceptance or Acceptance()
        # rapidfuzz's ratio at which a word of Moonshine's transcript is a word of a candidate the grammar did
        # not accept ("slowder": "louder", "devil": "deadlift"). On the bench (piper, clean and babble) 18
        # of 19 commands said and found so had more than half their words heard, the 19th a wrong number;
        # of 5 false or wrong ones found over babble (two fired by the talkers alone), none
        self.word_alike = word_alike
        # ...or the grammar's own confidence in it, halfway to its acceptance: the grammar doubted it (three
        # commands said, 0.31-0.50), where its forced decodes of babble scored 0.0-0.24
        self.doubted = doubted
        command_texts()  # built now, not during the first decision

    def decide(
        self, pcm: npt.NDArray[np.int16], grammar: Recognition, *, snr_db: float = 60.0
    ) -> Recognition:
        """The combined result for an utterance the grammar recogniser decoded as ``grammar``. The work
        stops as soon as the answer is known: a hypothesis the grammar recogniser is sure of needs no
        check (on the bench 2 of 76 at 0.9 or more were wrong, both "mute" for eSpeak's "unmute", against
        44 of 73 from 0.5 to 0.6), and the hypothesis is Moonshine's draft, so a right one costs the
        encoder and one decoder run. Whether the grammar's hypothesis needs the check at all is the
        acceptance's call (``Acceptance.needs_no_check``): never for a risky command, a number, or in noise
        (``snr_db``: the utterance's)."""
        intent = parse_intent(grammar.text)
        hypothesis = grammar.text if intent.name != NONE else ""
        accepted = bool(hypothesis) and grammar.confidence >= self.min_confidence
        if accepted and self.acceptance.needs_no_check(
            intent.name, risk_of(intent.name), grammar.confidence, snr_db
        ):
            return grammar
        audio = np.asarray(pcm, np.float32) / 32768.0
        if self.speech_margin_s is not None:
            audio = speech_span(audio, SAMPLE_RATE, margin_s=self.speech_margin_s)
        rejected = Recognition(grammar.text, 0.0)
        if len(audio) < SAMPLE_RATE // 10:
            return rejected
        hidden = self.model.encode(audio)
        free, drafted = self.model.transcribe(hidden, len(audio) / SAMPLE_RATE, written(hypothesis))
        heard = normalize(free.text)
        log.debug(
            "grammar %r (%.2f); Moonshine %r (%.1f)",
            grammar.text,
            grammar.confidence,
            free.text,
            free.logprob,
        )
        if not heard:  # no words: noise the VAD let through, or speech too garbled to transcribe
            silent = accepted and drafted is not None and drafted - free.logprob >= -self.silent
            return grammar if silent else rejected
        if parse_intent(heard).name != NONE:  # Moonshine heard a command, word for word
            return Recognition(heard, 1.0)
        candidates = self._candidates(heard, hypothesis)
        if not candidates:
            return rejected
        if (
            accepted
            and drafted is not None
            and self._stands(heard, hypothesis, drafted - free.logprob)
            and not self._rivalled(heard, hypothesis, intent, candidates[0])
        ):
            # no other command is spelt nearer what Moonshine heard: nothing to score
            return self._stood(grammar, heard)
        reference, scores = self._scores(hidden, heard, candidates)
        reference = max(free.logprob, reference)
        best = int(np.argmax(scores))
        margin = scores[best] - reference
        found = parse_intent(candidates[best])
        same = _same_meaning(found, intent)
        log.debug("best candidate %r, %.1f nats under the transcript", candidates[best], -margin)
        if accepted:
            likely = max(scores[candidates.index(hypothesis)], drafted if drafted is not None else -np.inf)
            if self._stands(heard, hypothesis, likely - free.logprob):
                if same or scores[best] <= likely + self.rival:
                    return self._stood(grammar, heard)
                # Moonshine prefers a rival: it stands if nearly as likely as what Moonshine heard (a little
                # less likely when it is the hypothesis' intent with other slots: "thirty five" for "nine")
                near = self.agree if found.name == intent.name else self.accept
                if margin >= -near and self._heard(heard, candidates[best]):
                    return self._found(candidates[best], margin)
                return rejected
        if accepted and same:  # two recognisers agreeing on its meaning
            return self._found(candidates[best], margin) if margin >= -self.agree else rejected
        heard_it = self._heard(heard, candidates[best])
        if same and grammar.confidence >= self.doubted and heard_it:
            # the grammar heard it, if doubtfully, and Moonshine heard most of its words: two recognisers
            # agreeing, less surely than above (an odd voice: "stop the workout" at 0.26, "Stop then we're
            # counting" 4.8 nats over it); the margin lowers the confidence the acceptance weighs by risk
            return self._found(candidates[best], margin) if margin >= -self.agree else rejected
        vouched = heard_it or (same and grammar.confidence >= self.doubted)
        if margin >= -self.accept and vouched:
            return self._found(candidates[best], margin)
        return rejected

    def _stood(self, grammar: Recognition, heard: str) -> Recognition:
        """The grammar's hypothesis, which the check let stand; at least ``Acceptance.agreed`` sure when
        Moonshine's transcript holds most of its words (two recognisers agreeing)."""
        if grammar.confidence < self.acceptance.agreed and self._heard(heard, grammar.text):
            return Recognition(grammar.text, self.acceptance.agreed)
        return grammar

    def _heard(self, heard: str, candidate: str) -> bool:
        """Whether Moonshine's transcript holds more than half of a candidate's words (its wake and politeness
        words aside), each spelt nearly alike: Moonshine heard it (finding it as likely as an unlikely
        transcript is no evidence)."""
        words = heard.split()
        _, core, _ = split_affixes(candidate.split())
        found = sum(max((fuzz.ratio(w, h) for h in words), default=0.0) >= self.word_alike for w in core)
        return 2 * found > len(core)

    def _scores(self, hidden: Hidden, heard: str, candidates: list[str]) -> tuple[float, list[float]]:
        """Moonshine's log probability of its transcript in the candidates' style, and of each candidate,
        the likelier of its forms (numbers in words or in digits), in one batched decoder run."""
        forms = [written_forms(c) for c in candidates]
        scores = self.model.score(hidden, [written(heard), *(f for fs in forms for f in fs)])
        out: list[float] = []
        i = 1
        for fs in forms:
            out.append(max(scores[i : i + len(fs)]))
            i += len(fs)
        return scores[0], out

    def _stands(self, heard: str, hypothesis: str, margin: float) -> bool:
        """Whether an accepted hypothesis survives Moonshine's transcript, ``margin`` nats more likely."""
        if margin >= -self.veto:
            return True
        return margin >= -self.far and fuzz.ratio(heard, hypothesis) >= self.alike

    @staticmethod
    def _rivalled(heard: str, hypothesis: str, intent: Intent, nearest: str) -> bool:
        """Whether the command spelt nearest to Moonshine's transcript means something other than the
        hypothesis (whose intent is ``intent``) and is spelt nearer to it ("unused": "unmute" for "mute")."""
        return not _same_meaning(parse_intent(nearest), intent) and fuzz.ratio(heard, nearest) > fuzz.ratio(
            heard, hypothesis
        )

    def _found(self, text: str, margin: float) -> Recognition:
        """A candidate Moonshine found ``margin`` nats under its transcript, with a confidence from it."""
        return Recognition(text, round(float(np.clip(1.0 + margin / (2.0 * self.agree), 0.5, 1.0)), 3))

    def _candidates(self, heard: str, hypothesis: str) -> list[str]:
        """The commands nearest in spelling to the transcript (within its wake and politeness words, which
        they keep), and the hypothesis."""
        lead, core, trail = split_affixes(heard.split())
        found = process.extract(" ".join(core), command_texts(), scorer=fuzz.ratio, limit=NEAREST)
        nearest = [" ".join([*lead, c, *trail]) for c, _, _ in found]
        out = list(dict.fromkeys([*nearest, hypothesis] if hypothesis else nearest))
        return [c for c in out if parse_intent(c).name != NONE]


def default_checker() -> CommandChecker | None:
    """Moonshine's check when its model is in the cache; otherwise ``None`` (the grammar recogniser decides
    alone), with a warning: without it, the bench's non-commands triggered 0.75 times in 10, against none."""
    from app.errors import ModelLoadError

    try:
        return CommandChecker(MoonshineModel())
    except ModelLoadError as exc:
        log.warning("No second opinion on voice commands: %s", exc)
        return None
