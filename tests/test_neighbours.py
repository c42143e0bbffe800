"""Recognition by nearest neighbours, offered to the engine as an option (``spotter analyze
--recognise-by neighbours``): the signed reps already in the database vote on a clip they have
never seen; with none, the recogniser decides as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shared_data import clip, manifest, poses_of

from app.cli import main
from app.engine.offline import count_track
from app.storage import open_database
from app.storage.operations import neighbour_bank
from app.storage.recorder import WorkoutRecorder

BANK = {
    "squat": ["squat_01.mp4", "squat_08.mp4", "squat_09.mp4"],
    "biceps_curl": ["curl_01.mp4", "curl_04.mp4"],
}


def test_analyze_recognises_by_the_signed_reps_in_the_database(
    tmp_path: Path, litert_full: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_database(tmp_path) as db:
        for exercise, clips in BANK.items():
            for name in clips:
                recorder = WorkoutRecorder(db, "Ana")
                recorder.start_set(exercise)
                for rep in count_track(poses_of(name, litert_full), manifest()[name]["exercise"])[0].reps:
                    recorder.rep(rep)
                recorder.finish_set()
                recorder.finish()
        bank = neighbour_bank(db)
    assert len(bank) >= 20 and set(bank.labels) == set(BANK)
    video = str(clip("squat_13.mp4"))
    assert (
        main(["--data-dir", str(tmp_path), "analyze", video, "--recognise-by", "neighbours", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["exercise"] == "squat" and result["reps"] == manifest()["squat_13.mp4"]["reps"]


def test_with_no_signed_reps_the_recogniser_decides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = str(clip("curl_05.mp4"))
    assert (
        main(["--data-dir", str(tmp_path), "analyze", video, "--recognise-by", "neighbours", "--json"]) == 0
    )
    out = capsys.readouterr()
    assert "no signed reps" in out.err
    assert json.loads(out.out)["exercise"] == "biceps_curl"
