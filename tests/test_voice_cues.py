"""The cue engine's rules (pure: events and times in, lines out)."""

from __future__ import annotations

import itertools

from app.engine.events import FormFault, RepCounted, RepDetail, SetFinished, SetStarted
from app.voice.cues import CueEngine, CueSettings, Priority


def rep(i: int, t: float) -> RepCounted:
    return RepCounted(t, "squat", RepDetail(i, t - 2, t - 1, t, 1, 0, 1, 90.0, 50, 80))


def fault(i: int, t: float, cue: str = "Knees out", severity: int = 2) -> FormFault:
    return FormFault(t, "squat", i, "valgus", cue, severity)


def drain(engine: CueEngine, now: float, speak_s: float = 0.0) -> list[str]:
    said = []
    while (cue := engine.poll(now)) is not None:
        engine.speaking(cue, speak_s, now)
        said.append(cue.text)
    return said


def test_counts_every_rep_and_last_three() -> None:
    every = CueEngine(CueSettings(encouragement_every_reps=0))
    last = CueEngine(CueSettings(rep_counts="last_three", target_reps=5, encouragement_every_reps=0))
    none = CueEngine(CueSettings(rep_counts="none", encouragement_every_reps=0))
    out: dict[str, list[str]] = {"every": [], "last": [], "none": []}
    for i in range(1, 6):
        for name, engine in (("every", every), ("last", last), ("none", none)):
            engine.feed(rep(i, float(i)), float(i))
            out[name] += drain(engine, float(i))
    assert out["every"] == ["one", "two", "three", "four", "five"]
    assert out["last"] == ["three", "four", "five"]
    assert out["none"] == []


def test_form_cues_are_intermittent_and_never_repeat_back_to_back() -> None:
    engine = CueEngine(CueSettings(rep_counts="none", encouragement_every_reps=0, cue_cooldown_s=0))
    said = []
    for i in range(1, 10):
        engine.feed(fault(i, float(i)), float(i))
        said += drain(engine, float(i))
    assert said == ["Knees out"]  # the same cue is never said twice in a row
    engine.feed(fault(10, 10.0, "Chest up"), 10.0)
    engine.feed(fault(11, 11.0, "Knees out"), 11.0)  # only one rep later: too soon
    engine.feed(fault(13, 13.0, "Knees out"), 13.0)
    assert drain(engine, 13.0) == ["Chest up", "Knees out"]


def test_one_line_at_a_time_and_safety_preempts() -> None:
    engine = CueEngine(CueSettings(encouragement_every_reps=0))
    engine.feed(rep(1, 0.0), 0.0)
    first = engine.poll(0.0)
    assert first is not None and first.text == "one"
    engine.speaking(first, 1.0, 0.0)
    engine.feed(fault(1, 0.2, "Neutral spine", severity=2), 0.2)
    assert engine.poll(0.2) is None  # busy: a form cue waits
    engine.feed(fault(1, 0.3, "Stop: back rounding", severity=3), 0.3)
    safety = engine.poll(0.3)
    assert safety is not None and safety.priority is Priority.SAFETY and safety.interrupts
    engine.speaking(safety, 1.5, 0.3)
    assert engine.poll(1.0) is None  # a safety line is not interrupted
    engine.done(1.8)
    waiting = engine.poll(1.8)
    assert waiting is not None and waiting.text == "Neutral spine"


def test_stale_counts_expire_instead_of_queueing() -> None:
    engine = CueEngine(CueSettings(encouragement_every_reps=0))
    engine.feed(rep(1, 0.0), 0.0)
    cue = engine.poll(0.0)
    assert cue is not None
    engine.speaking(cue, 3.0, 0.0)
    engine.feed(rep(2, 0.5), 0.5)
    assert engine.poll(3.0) is None  # "two" is 2.5 s old: not worth saying any more


def test_set_lines_and_rest_countdown() -> None:
    engine = CueEngine(CueSettings(rep_counts="none", rest_s=12, encouragement_every_reps=0))
    engine.feed(SetStarted(0.0, "squat"), 0.0)
    assert drain(engine, 0.0) == ["Set one. Go!"]
    engine.feed(SetFinished(30.0, "squat", 8, 0, 0.0, 30.0), 30.0)
    said = drain(engine, 30.0)
    t = 30.0
    while t < 43.0:
        t += 0.25
        said += drain(engine, t)
    assert said == ["Set done: eight reps.", "ten seconds.", "three", "two", "one", "Rest over. Next set."]


def test_encouragement_never_twice_in_a_row_and_repeat() -> None:
    engine = CueEngine(CueSettings(rep_counts="none", encouragement_every_reps=1), seed=3)
    said = []
    for i in range(1, 12):
        engine.feed(rep(i, float(i)), float(i))
        said += drain(engine, float(i))
    assert len(said) == 11
    assert all(a != b for a, b in itertools.pairwise(said))
    engine.repeat(20.0)
    assert drain(engine, 20.0) == [said[-1]]


def test_muted_engine_says_only_safety() -> None:
    engine = CueEngine()
    engine.set_muted(True)
    engine.feed(rep(1, 0.0), 0.0)
    engine.feed(fault(1, 0.0, "Stop", severity=3), 0.0)
    assert drain(engine, 0.0) == ["Stop"]


def test_counts_start_again_at_one_in_each_set() -> None:
    from app.engine.events import RepCounted, RepDetail, SetFinished, SetStarted
    from app.voice.cues import CueEngine, CueSettings

    engine = CueEngine(CueSettings(encouragement_every_reps=0, rest_s=0))
    said: list[str] = []
    t = 0.0
    for set_no in range(2):
        engine.feed(SetStarted(t, "squat"), t)
        for i in range(1, 4):
            t += 3.0
            engine.feed(
                RepCounted(t, "squat", RepDetail(3 * set_no + i, 0, 0.5, 1, 0.5, 0, 0.5, 90, 50, 80)), t
            )
            while (cue := engine.poll(t)) is not None:
                said.append(cue.text)
        engine.feed(SetFinished(t, "squat", 3, 0, 0.0, t), t)
        t += 30.0
    counts = [line for line in said if line in {"one", "two", "three", "four", "five", "six"}]
    assert counts == ["one", "two", "three", "one", "two", "three"]
