"""The ``SpeechRecognizer`` port and its engines: PocketSphinx with the command grammar (default), Vosk.

A recogniser is fed one utterance of 16 kHz 16-bit mono audio in pieces (``start``, ``feed``...,
``finish``), so decoding happens while the person speaks and the decision is quick at the end.

PocketSphinx decodes against the command grammar, so anything heard comes out as *some* command;
rejection decides whether it was one. Two measures, both over the frames of the hypothesis' words:
the mean acoustic log score per frame (relative to the best senone of each frame; forced decodes of
non-commands score far lower), and the agreement of a free phone-loop decoder, run beside the grammar
search, with the hypothesis' pronunciation. A filler-word loop in the grammar (``garbage=True``) also
works but makes decoding 10-100 times slower, so it is off by default.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from app.errors import SpeechError
from app.voice.grammar import exercise_names, jsgf, vocabulary

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FILLER_WEIGHT = 1e-3  # prior of the filler loop against the commands in the grammar
# The grammar search's word segments carry their acoustic scores in the search's units, log-scores shifted
# right by this many bits (PocketSphinx's SENSCR_SHIFT); a lattice's segments carry them unshifted.
SEARCH_SCORE_SHIFT = 10
_NON_PHONES = frozenset({"SIL", "+NSN+", "+SPN+", "<s>", "</s>"})
# A language model of one grammar word, in ARPA form (see ``PocketSphinxRecognizer``).
PLACEHOLDER_LM = r"""\data\
ngram 1=3

\1-grams:
-0.4771 </s>
-99 <s>
-0.4771 pause

\end\
"""


@dataclass(frozen=True, slots=True)
class Recognition:
    text: str  # best hypothesis; "" when nothing was decoded
    confidence: float  # 0..1
    frames: int = 0


class SpeechRecognizer(Protocol):
    """Decodes one utterance at a time; not thread-safe (one listener thread owns it)."""

    name: str

    def start(self) -> None: ...

    def feed(self, pcm: npt.NDArray[np.int16]) -> None: ...

    def partial(self) -> str:
        """The best hypothesis so far (words only, no rejection), while the utterance is open."""
        ...

    def finish(self) -> Recognition: ...


def _phone_edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


# Pronunciations for grammar words missing from CMUdict.
EXTRA_PRONUNCIATIONS: dict[str, str] = {
    "deadlift": "D EH D L IH F T",
    "deadlifts": "D EH D L IH F T S",
    "tricep": "T R AY S EH P",
    "unmute": "AH N M Y UW T",
    "unpause": "AH N P AO Z",
    "glute": "G L UW T",
    "glutes": "G L UW T S",
    "kettlebell": "K EH T AH L B EH L",
    "kettlebells": "K EH T AH L B EH L Z",
    "pulldown": "P UH L D AW N",
    "pulldowns": "P UH L D AW N Z",
    "pushdown": "P UH SH D AW N",
    "pushdowns": "P UH SH D AW N Z",
}


def _dictionary(source: Path, words: set[str], target: Path) -> Path:
    """The entries of a PocketSphinx dictionary for ``words`` (their variants, "word(2)", too), written to
    ``target``; a dictionary must name at least one word, so an empty set keeps the first entry."""
    kept: list[str] = []
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            head = line.split(" ", 1)[0]
            if head.split("(", 1)[0] in words or (not kept and not words):
                kept.append(line if line.endswith("\n") else line + "\n")
    target.write_text("".join(kept), encoding="utf-8")
    return target


class PocketSphinxRecognizer:
    """CMU PocketSphinx with the JSGF command grammar and a phone-loop consistency check."""

    name = "pocketsphinx"

    def __init__(
        self,
        *,
        max_phone_error: float = 1.0,
        min_acoustic: float = -3.9,
        filler_weight: float = FILLER_WEIGHT,
        garbage: bool = False,
    ) -> None:
        try:
            from pocketsphinx import Decoder, get_model_path, set_loglevel
        except ImportError as exc:
            raise SpeechError("PocketSphinx is not installed: pip install pocketsphinx") from exc
        set_loglevel("FATAL")  # "final result does not match the grammar" is a rejection, not an error
        model = Path(get_model_path()) / "en-us"
        common: dict[str, Any] = {"hmm": str(model / "en-us"), "samprate": SAMPLE_RATE, "loglevel": "FATAL"}
        all_names = exercise_names()
        try:
            with tempfile.TemporaryDirectory(prefix="spotter-dict-") as tmp:
                # each decoder holds its dictionary (CMUdict: 22 MB resident); the grammar's needs only its
                # own words, the phone loop none
                words = vocabulary(all_names) | {w for name in all_names for w in name.split()}
                grammar_dict = _dictionary(model / "cmudict-en-us.dict", words, Path(tmp) / "grammar.dict")
                no_words = _dictionary(model / "cmudict-en-us.dict", set(), Path(tmp) / "none.dict")
                # the grammar decoder's language model is never searched, but it must be there: with one,
                # PocketSphinx runs a phone-loop lookahead whose senones set each frame's best score, against
                # which the acoustic confidence is measured (without one, 10 of 168 decodes changed). Its
                # own trigram model is 63 MB resident; one word does the same, bit for bit
                placeholder = Path(tmp) / "placeholder.arpa"
                placeholder.write_text(PLACEHOLDER_LM, encoding="ascii")
                # the hypothesis is the Viterbi search's best path, not a second pass over its lattice: that
                # pass cost 45 ms (Piper) to 175 ms (eSpeak NG) at the end of each utterance, and its best
                # path was more often a wrong command (clean eSpeak NG, 90 commands: 35 right, against 62)
                self._grammar = Decoder(dict=str(grammar_dict), lm=str(placeholder), bestpath=False, **common)
                self._phones = Decoder(
                    allphone=str(model / "en-us-phone.lm.bin"), dict=str(no_words), lw=2.0, **common
                )
        except (OSError, RuntimeError, ValueError) as exc:
            raise SpeechError(f"Cannot load the PocketSphinx model in {model}: {exc}") from exc

        # an exercise the catalogue gained whose name has a word neither CMUdict nor ``EXTRA_PRONUNCIATIONS``
        # knows is left out of the grammar (said, with a warning), not the whole recogniser
        def known(word: str) -> bool:
            return word in EXTRA_PRONUNCIATIONS or self._grammar.lookup_word(word) is not None

        names = {}
        for name, exercise in all_names.items():
            if all(known(w) for w in name.split()):
                names[name] = exercise
            else:
                log.warning("No pronunciation for a word of the exercise %r: not in the grammar", name)
        for word in sorted(vocabulary(names)):
            if self._grammar.lookup_word(word) is None:
                pron = EXTRA_PRONUNCIATIONS.get(word)
                if pron is None:
                    raise SpeechError(f"No pronunciation for the grammar word {word!r}")
                self._grammar.add_word(word, pron, False)
        grammar = jsgf(names, garbage=garbage).replace(
            "public <utterance> = ([coach] <command>) | <filler>+;",
            f"public <utterance> = /1/ ([coach] <command>) | /{filler_weight:g}/ (<filler>+);",
        )
        self._grammar.add_jsgf_string("commands", grammar)
        self._grammar.activate_search("commands")
        self.max_phone_error = max_phone_error
        self.min_acoustic = min_acoustic  # mean log acoustic score per frame, relative to the best
        self.last_phone_error = 1.0
        self.last_acoustic = 0.0

    def start(self) -> None:
        self._grammar.start_utt()
        self._phones.start_utt()

    def feed(self, pcm: npt.NDArray[np.int16]) -> None:
        data = np.ascontiguousarray(pcm, dtype=np.int16).tobytes()
        self._grammar.process_raw(data, False, False)
        self._phones.process_raw(data, False, False)

    def partial(self) -> str:
        hyp = self._grammar.hyp()
        return str(hyp.hypstr).strip() if hyp is not None else ""

    def finish(self) -> Recognition:
        self._grammar.end_utt()
        self._phones.end_utt()
        frames = int(self._grammar.n_frames())
        hyp = self._grammar.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return Recognition("", 0.0, frames)
        text = hyp.hypstr.strip()
        words = [seg for seg in self._grammar.seg() if not seg.word.startswith(("<", "[", "+"))]
        if not words:
            return Recognition("", 0.0, frames)
        first, last = words[0].start_frame, words[-1].end_frame
        expected = self._pronunciation(text)
        heard = [
            seg.word
            for seg in self._phones.seg()
            if seg.word not in _NON_PHONES and seg.end_frame >= first and seg.start_frame <= last
        ]
        error = _phone_edit_distance(expected, heard) / max(len(expected), 1)
        span = max(last - first + 1, 1)
        acoustic = sum(math.log(max(seg.ascore, 1e-300)) for seg in words) * 2**SEARCH_SCORE_SHIFT / span
        self.last_phone_error, self.last_acoustic = error, acoustic
        # 1.0 for a perfect phone match; 0.5 at either rejection threshold, 0 far beyond them
        margin = min(1.0 - error / self.max_phone_error, 1.0 - acoustic / self.min_acoustic)
        confidence = float(np.clip(0.5 + margin, 0.0, 1.0))
        return Recognition(text, round(confidence, 3), frames)

    def _pronunciation(self, text: str) -> list[str]:
        phones: list[str] = []
        for word in text.split():
            pron = self._grammar.lookup_word(word) or ""
            phones.extend(pron.split())
        return phones


class VoskRecognizer:
    """Kaldi via Vosk, restricted to the command vocabulary, for a user-supplied model folder."""

    name = "vosk"

    def __init__(self, model_dir: Path) -> None:
        if not (model_dir / "am").is_dir() and not (model_dir / "conf").is_dir():
            raise SpeechError(f"{model_dir} is not a Vosk model folder (no am/ or conf/ inside)")
        try:
            os.environ.setdefault("VOSK_LOG_LEVEL", "-1")
            import vosk
        except ImportError as exc:
            raise SpeechError("Vosk is not installed: pip install vosk") from exc
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception on a bad model
            raise SpeechError(f"Cannot load the Vosk model in {model_dir}: {exc}") from exc
        self._words = json.dumps([*sorted(vocabulary()), "[unk]"])
        self._vosk = vosk
        self._rec: Any = None

    def start(self) -> None:
        self._rec = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE, self._words)
        self._rec.SetWords(True)

    def feed(self, pcm: npt.NDArray[np.int16]) -> None:
        self._rec.AcceptWaveform(np.ascontiguousarray(pcm, dtype=np.int16).tobytes())

    def partial(self) -> str:
        return str(json.loads(self._rec.PartialResult()).get("partial", ""))

    def finish(self) -> Recognition:
        result = json.loads(self._rec.FinalResult())
        words = result.get("result", [])
        text = " ".join(w["word"] for w in words if w["word"] != "[unk]")
        if any(w["word"] == "[unk]" for w in words):
            return Recognition(text, 0.0)
        confidence = min((float(w.get("conf", 0.0)) for w in words), default=0.0)
        return Recognition(text, round(confidence, 3))


def create_recognizer(engine: str = "pocketsphinx", *, vosk_model: Path | None = None) -> SpeechRecognizer:
    if engine == "vosk" or vosk_model is not None:
        if vosk_model is None:
            raise SpeechError("The Vosk engine needs a model folder (--vosk-model DIR)")
        return VoskRecognizer(vosk_model)
    if engine != "pocketsphinx":
        raise SpeechError(f"Unknown speech recogniser {engine!r} (pocketsphinx, vosk)")
    return PocketSphinxRecognizer()
