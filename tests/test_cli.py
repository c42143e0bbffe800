"""The command line as a user meets it: one JSON object, or one clear error line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from shared_data import clip

SPOTTER = [sys.executable, "-m", "app.cli"]


def spotter(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPOTTER, *args], capture_output=True, text=True, timeout=300, check=False)


def test_analyze_json_is_exactly_one_object() -> None:
    out = spotter("analyze", str(clip("shoulderpress_01.mp4")), "--exercise", "shoulder_press", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)  # fails if anything else is printed on stdout
    assert set(result) == {
        "file", "exercise", "exercise_confidence", "reps", "partial_reps", "reps_detail", "holds",
        "frames", "duration_s", "processed_fps", "backend", "model",
    }  # fmt: skip
    assert result["reps"] == 2 == len(result["reps_detail"])
    rep = result["reps_detail"][0]
    for key in (
        "index",
        "start_s",
        "turn_s",
        "end_s",
        "eccentric_s",
        "pause_s",
        "concentric_s",
        "rom_deg",
        "faults",
    ):
        assert key in rep
    assert result["backend"] == "litert" and result["model"] == "full"
    assert result["frames"] == 151


def _error_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("spotter: error:")]
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_corrupt_video_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "workout.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(50_000))
    assert "not a video file, or corrupt" in _error_line(spotter("analyze", str(bad)))


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    assert "not found" in _error_line(spotter("analyze", str(tmp_path / "nope.mp4")))


def test_unknown_exercise_is_one_clear_line() -> None:
    line = _error_line(spotter("analyze", str(clip("squat_10.mp4")), "--exercise", "zumba"))
    assert "Unknown exercise 'zumba'" in line


def test_video_with_nobody_in_it(tmp_path: Path) -> None:
    path = tmp_path / "empty_room.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 15, (320, 240))
    rng = np.random.default_rng(1)
    for _ in range(30):
        writer.write(rng.integers(90, 110, (240, 320, 3), dtype=np.uint8))
    writer.release()
    assert "Nobody was found" in _error_line(spotter("analyze", str(path), "--exercise", "squat"))


def test_broken_model_file_says_how_to_fix(tmp_path: Path) -> None:
    from app.engine.models import model_dir

    for name in ("pose_detection.tflite", "pose_landmark_full.tflite"):
        data = (model_dir() / name).read_bytes()
        (tmp_path / name).write_bytes(data if "detection" in name else data[: len(data) // 2])
    env = {"SPOTTER_MODEL_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([*SPOTTER, "analyze", str(clip("squat_10.mp4"))], capture_output=True, text=True,
                         env=env, timeout=120, check=False)  # fmt: skip
    line = _error_line(out)
    assert "pose_landmark_full.tflite is corrupt" in line and "spotter models ensure" in line


def test_truncated_video_is_counted_as_far_as_readable_with_a_warning(tmp_path: Path) -> None:
    data = clip("squat_10.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    out = spotter("analyze", str(cut), "--exercise", "squat", "--json")
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)
    warnings = [ln for ln in out.stderr.splitlines() if ln.startswith("spotter: warning:")]
    assert len(warnings) == 1 and "truncated or damaged" in warnings[0]


def test_an_output_path_that_cannot_be_written_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    data = ("--data-dir", str(tmp_path / "data"))
    assert spotter(*data, "profile", "add", "Ann").returncode == 0
    line = _error_line(spotter(*data, "export", "--format", "json", "--out", str(blocker / "x.json")))
    assert "Not a directory" in line and str(blocker) in line
