"""``live --save``: the real live pipeline on a real clip, every rep committed as it is counted."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shared_data import clip, manifest

from app.engine.capture import OpenCvFrameSource
from app.engine.events import Event, RepCounted, SetFinished
from app.engine.exercises.analyzer import ExerciseAnalyzer
from app.engine.exercises.spec import get_spec
from app.engine.pipeline import LivePipeline, PoseFrameProcessor
from app.engine.sinks import CallbackSink, ListSink
from app.storage.live import RecordingSink

ROOT = Path(__file__).resolve().parents[1]
CLIP = "jumpingjack_03.mp4"
REP_COLUMNS = "idx, start_s, turn_s, end_s, eccentric_s, pause_s, concentric_s, rom_deg, side"


def stored_reps(db: Path) -> int:
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM reps").fetchone()[0])


def test_live_pipeline_saves_each_rep_with_its_timings(litert_full: Any, tmp_path: Path) -> None:
    litert_full.reset()
    seen = ListSink()
    during: list[int] = []

    def display(event: Event) -> None:  # runs on the engine thread, after the sink queued the event
        seen.emit(event)
        if isinstance(event, RepCounted) and event.rep.index == 4:
            deadline = time.monotonic() + 5
            while stored_reps(tmp_path / "spotter.db") < 4 and time.monotonic() < deadline:
                time.sleep(0.005)
            during.append(stored_reps(tmp_path / "spotter.db"))

    recording = RecordingSink.open(tmp_path, "Ana", load=None, downstream=CallbackSink(display))
    processor = PoseFrameProcessor(litert_full, ExerciseAnalyzer(get_spec("jumping_jack")))
    with LivePipeline(OpenCvFrameSource(clip(CLIP)), processor, recording) as pipeline:
        assert pipeline.join(timeout=120), "the pipeline did not finish the clip"
    summary = recording.close()

    counted = [e.rep for e in seen.of_type(RepCounted)]
    assert len(counted) == 6 and summary.startswith("saved 6 reps in 1 set (")
    assert during == [4]  # committed mid-set, not at the end of it
    assert recording.failed == 0
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        rows = conn.execute(f"SELECT {REP_COLUMNS} FROM reps ORDER BY idx").fetchall()
        sets = conn.execute("SELECT exercise, achieved_reps, ended_at IS NOT NULL, load FROM sets").fetchall()
        workout = conn.execute("SELECT source, ended_at IS NOT NULL, deleted_at FROM workouts").fetchall()
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY seq")]
        profile = conn.execute("SELECT name FROM profiles").fetchall()
    expected = [
        (r.index, r.start_s, r.turn_s, r.end_s, r.eccentric_s, r.pause_s, r.concentric_s, r.rom_deg, r.side)
        for r in counted
    ]
    assert rows == expected
    assert sets == [("jumping_jack", 6, 1, None)] and workout == [("live", 1, None)] and profile == [("Ana",)]
    assert kinds.count("SetFinished") == len(seen.of_type(SetFinished)) == 1


def test_killed_live_session_keeps_its_counted_reps(tmp_path: Path) -> None:
    env = {**os.environ, "SPOTTER_DATA_DIR": str(tmp_path)}
    args = ["live", "--source", str(clip(CLIP)), "--exercise", "jumping_jack", "--save", "--profile", "Bo",
            "--load", "5", "--unit", "kg"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    assert proc.stdout is not None
    reps_seen = 0
    try:
        for line in proc.stdout:
            if "] rep " in line:
                reps_seen += 1
                if reps_seen == 4:
                    break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    assert reps_seen == 4
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        idx = [i for (i,) in conn.execute("SELECT idx FROM reps ORDER BY idx")]
        (achieved, load) = conn.execute("SELECT achieved_reps, load FROM sets").fetchone()
    assert idx[:3] == [1, 2, 3] and len(idx) in (3, 4)  # the 4th was printed as it was queued
    assert achieved == len(idx) and load == 5.0


def test_live_holds_are_saved_as_sets_with_their_time(tmp_path: Path) -> None:
    from app.engine.events import HoldEnded, HoldStarted, StreamEnded

    recording = RecordingSink.open(tmp_path, "Ana")
    for event in (
        HoldStarted(5.0, "plank"),
        HoldEnded(39.0, "plank", 2.0, 38.5),  # ended 0.5 s before it was reported
        HoldStarted(52.0, "plank"),
        HoldEnded(70.0, "plank", 47.0, 69.0),
        StreamEnded(71.0, "cam0", "eof"),
    ):
        recording.emit(event)
    summary = recording.close()
    assert summary.startswith("saved 0 reps and 2 holds (58 s) in 2 sets") and recording.failed == 0
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        sets = conn.execute(
            "SELECT exercise, hold_s, achieved_reps, id FROM sets ORDER BY started_at"
        ).fetchall()
        times = conn.execute("SELECT started_at, ended_at FROM sets ORDER BY started_at").fetchall()
        events = conn.execute("SELECT set_id FROM events WHERE kind = 'HoldEnded'").fetchall()
        best = conn.execute("SELECT kind, value, unit FROM personal_records ORDER BY value").fetchall()
    assert [s[:3] for s in sets] == [("plank", 36.5, 0), ("plank", 22.0, 0)]
    assert sorted(e[0] for e in events) == sorted(s[3] for s in sets)  # each event points at its set
    assert all(start < end for start, end in times)
    assert best == [("max_hold", 36.5, "s")]  # the shorter second hold is no record


def test_analyze_save_of_a_plank_clip_saves_the_hold_as_a_program_session(
    tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    from app.cli import main

    path = clip("plank_05.mp4")
    (hand_start, hand_end), *_ = manifest()["plank_05.mp4"]["hold_s"]
    data = ["--data-dir", str(tmp_path)]
    program = [*data, "program", "new", "--profile", "Ana", "--equipment", "bodyweight", "--days", "3"]
    assert main(program) == 0  # Day 1: squat, push_up, plank
    capsys.readouterr()
    assert main([*data, "analyze", str(path), "--exercise", "plank", "--save", "--profile", "Ana"]) == 0
    err = capsys.readouterr().err
    assert "saved 1 plank hold" in err and "session 1 of the active program" in err, err
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        (hold_s, reps), *more = conn.execute("SELECT hold_s, achieved_reps FROM sets").fetchall()
        linked = conn.execute("SELECT source, program_session FROM workouts").fetchall()
    assert not more and reps == 0 and linked == [("video", 0)]
    assert abs(hold_s - (hand_end - hand_start)) < 4.0  # 37 s marked by hand
    assert main([*data, "program", "next", "--profile", "Ana"]) == 0
    assert capsys.readouterr().out.startswith("Next: Day 2")


def test_voice_commands_and_spoken_cues_are_kept_and_act_on_the_sets(tmp_path: Path) -> None:
    from app.engine.events import RepCounted, RepDetail, SetFinished, SetStarted, StreamEnded
    from app.voice.control import VoiceCommand
    from app.voice.cues import CueSpoken

    def rep(i: int, t: float) -> RepCounted:
        return RepCounted(t, "squat", RepDetail(i, t - 2, t - 1, t, 1.0, 0.0, 1.0, 95.0, 90.0, 150.0))

    recording = RecordingSink.open(tmp_path, "Ana")
    for event in (
        SetStarted(1.0, "squat"),
        CueSpoken(1.1, "Set one. Go!", "set", False),
        rep(1, 3.0),
        VoiceCommand(3.5, "log_weight", {"value": 40, "unit": "kg"}, "log forty kilos", 0.9),
        rep(2, 5.0),
        VoiceCommand(6.0, "next_set", {}, "next set", 0.9),  # closes the set at once
        rep(3, 9.0),  # the engine goes on numbering; the next set starts at one
        rep(4, 11.0),
        SetFinished(20.0, "squat", 2, 0, 7.0, 11.0),
        StreamEnded(21.0, "cam0", "eof"),
    ):
        recording.emit(event)
    assert recording.close().startswith("saved 4 reps in 2 sets") and recording.failed == 0
    with sqlite3.connect(tmp_path / "spotter.db") as conn:
        sets = conn.execute("SELECT id, achieved_reps, load, unit FROM sets ORDER BY started_at").fetchall()
        reps = conn.execute("SELECT set_id, idx FROM reps ORDER BY start_s").fetchall()
        cues = conn.execute("SELECT text, t, set_id FROM cues").fetchall()
        commands = conn.execute("SELECT payload FROM events WHERE kind = 'VoiceCommand'").fetchall()
    assert [s[1:] for s in sets] == [(2, 40.0, "kg"), (2, 40.0, "kg")]  # the load told mid-set, and after
    assert [(sets.index(next(s for s in sets if s[0] == r[0])), r[1]) for r in reps] == [
        (0, 1),
        (0, 2),
        (1, 1),
        (1, 2),
    ]
    assert cues == [("Set one. Go!", 1.1, sets[0][0])]
    assert [json.loads(c[0])["intent"] for c in commands] == ["log_weight", "next_set"]
