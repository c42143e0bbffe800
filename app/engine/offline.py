"""Offline analysis of a video file: decode, estimate poses, count, time and grade reps.

Decoding runs in its own thread (OpenCV releases the GIL), so on two cores the decoder and the
pose model overlap. Poses are estimated at about ``target_fps`` (every n-th frame of a faster
video): counting needs a tenth of a second of resolution, and the time saved is what makes long
videos quick to analyse.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.errors import NoPersonError, VideoError

from .events import rep_to_json
from .exercises.analyzer import ExerciseAnalyzer
from .exercises.anymove import ANY, RECOGNITION_MIN_CONFIDENCE, analyzer_for
from .exercises.features import Track
from .exercises.neighbours import NeighbourBank
from .exercises.recognize import rank_exercises, recognize_exercise
from .exercises.spec import get_spec
from .pose.types import Pose, PoseEstimator, StageTimed

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (frames done, frames total)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    path: Path
    fps: float
    frames: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0


@dataclass(slots=True)
class PoseTrack:
    """Poses of a whole video, one entry per analysed frame."""

    times: list[float] = field(default_factory=list)
    poses: list[Pose | None] = field(default_factory=list)
    image_size: tuple[int, int] = (0, 0)
    decoded_frames: int = 0  # frames the decoder delivered (short of the header's count if truncated)

    def to_track(self) -> Track:
        return Track.from_poses(self.times, self.poses, self.image_size)


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    info: VideoInfo
    exercise: str
    exercise_confidence: float
    analyzer: ExerciseAnalyzer
    frames_analysed: int
    decoded_frames: int
    wall_s: float
    backend: str
    model: str
    stage_ms: dict[str, float]

    @property
    def truncated(self) -> bool:
        """Fewer frames decoded than the file announces (allowing the last stride of frames)."""
        return self.decoded_frames < 0.95 * self.info.frames - 2

    def to_json(self) -> dict[str, object]:
        reps = [rep_to_json(r) for r in self.analyzer.reps]
        return {
            "file": str(self.info.path),
            "exercise": self.exercise,
            "exercise_confidence": round(self.exercise_confidence, 3),
            "reps": len(self.analyzer.reps),
            "partial_reps": len(self.analyzer.partial_reps),
            "reps_detail": reps,
            "holds": [{"start_s": s, "end_s": e} for s, e in self.analyzer.holds],
            "frames": self.info.frames,
            "duration_s": round(self.info.duration_s, 3),
            "processed_fps": round(self.info.frames / self.wall_s, 1) if self.wall_s > 0 else 0.0,
            "backend": self.backend,
            "model": self.model,
        }


def probe(path: Path) -> VideoInfo:
    """Open ``path`` and read its format; VideoError when it is not a readable video."""
    if not path.is_file():
        raise VideoError(f"Video file not found: {path}")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"Cannot read video {path}: not a video file, or corrupt.")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise VideoError(f"Cannot read video {path}: no decodable frame (corrupt or empty file).")
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
        if not math.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = 30.0
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        h, w = frame.shape[:2]
        return VideoInfo(path, fps, max(frames, 1), w, h)
    finally:
        cap.release()


def _decode(
    path: Path, stride: int, out: queue.Queue[tuple[int, np.ndarray] | None], stop: threading.Event
) -> None:
    cap = cv2.VideoCapture(str(path))
    index = 0
    try:
        while not stop.is_set():
            if index % stride:
                if not cap.grab():
                    break
            else:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                while not stop.is_set():
                    try:
                        out.put((index, rgb), timeout=0.5)
                        break
                    except queue.Full:
                        continue
            index += 1
    finally:
        cap.release()
        out.put(None)


def iter_frames(path: Path, stride: int) -> Iterator[tuple[int, np.ndarray]]:
    """Decoded RGB frames (index, image) of every ``stride``-th frame, decoded in a thread."""
    frames: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue(maxsize=4)
    stop = threading.Event()
    thread = threading.Thread(target=_decode, args=(path, stride, frames, stop), name="decode", daemon=True)
    thread.start()
    try:
        while True:
            item = frames.get()
            if item is None:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                frames.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)


def estimate_track(
    path: Path,
    estimator: PoseEstimator,
    *,
    target_fps: float = 15.0,
    progress: Progress | None = None,
) -> tuple[VideoInfo, PoseTrack, dict[str, float]]:
    """Run the pose estimator over a video; returns its poses and per-stage mean milliseconds."""
    info = probe(path)
    stride = max(1, round(info.fps / target_fps))
    track = PoseTrack(image_size=(info.width, info.height))
    pose_s = smooth_s = 0.0
    count = 0
    for index, rgb in iter_frames(path, stride):
        t = index / info.fps
        t0 = time.perf_counter()
        pose = estimator.estimate(rgb, t)
        elapsed = time.perf_counter() - t0
        smoothing = 0.0
        if isinstance(estimator, StageTimed):  # smoothing happens inside the estimator, timed apart
            smoothing = estimator.last_stage_ms().get("smoothing", 0.0) / 1e3
        pose_s += elapsed - smoothing
        smooth_s += smoothing
        track.times.append(t)
        track.poses.append(pose)
        count += 1
        track.decoded_frames = index + 1
        if progress is not None:
            progress(index + 1, info.frames)
    if count == 0:
        raise VideoError(f"Cannot read video {path}: no decodable frame.")
    stages = {"pose": 1000 * pose_s / count, "smoothing": 1000 * smooth_s / count}
    return info, track, stages


def count_track(track: PoseTrack, exercise: str) -> tuple[ExerciseAnalyzer, float]:
    """Replay a pose track through the exercise's analyzer; returns it and ms per frame."""
    analyzer = analyzer_for(exercise)
    t0 = time.perf_counter()
    for t, pose in zip(track.times, track.poses, strict=True):
        analyzer.update(pose, t)
    analyzer.finish(track.times[-1] if track.times else 0.0)
    per_frame = 1000 * (time.perf_counter() - t0) / max(len(track.times), 1)
    return analyzer, per_frame


#: The recogniser's best candidates that recognition by neighbours chooses among.
NEIGHBOUR_CANDIDATES = 3


def recognise_by_neighbours(track: PoseTrack, bank: NeighbourBank) -> tuple[str | None, float]:
    """Among the recogniser's best candidates that the bank knows, the one whose reps (counted with
    its spec) lie nearest the bank's reps of it; its confidence is its share of their nearness.
    None when the bank does not know the recogniser's favourite (then the recogniser decides)."""
    ranked = [c for c in rank_exercises(track.to_track()) if c.score > 0][:NEIGHBOUR_CANDIDATES]
    near: dict[str, float] = {}
    for cand in ranked:
        reps = count_track(track, cand.exercise)[0].reps
        d = bank.distance((r.signature for r in reps), cand.exercise)
        if np.isfinite(d):
            near[cand.exercise] = 1.0 / (d + 0.05)
    if not ranked or ranked[0].exercise not in near:  # it cannot judge the recogniser's favourite
        return None, 0.0
    best = max(near, key=lambda e: near[e])
    return best, near[best] / sum(near.values())


def analyze_video(
    path: Path,
    estimator: PoseEstimator,
    *,
    exercise: str | None = None,
    target_fps: float = 15.0,
    progress: Progress | None = None,
    model: str = "",
    neighbours: NeighbourBank | None = None,
) -> AnalysisResult:
    """Analyse one video file. ``exercise=None`` recognises the exercise first: by the recogniser,
    or with ``neighbours`` (labelled rep signatures) by which of the recogniser's best candidates
    moves most like the bank's reps of it (the recogniser alone where the bank knows none)."""
    if exercise is not None and exercise != ANY:
        get_spec(exercise)  # an unknown id fails before any decoding
    start = time.perf_counter()
    info, track, stages = estimate_track(path, estimator, target_fps=target_fps, progress=progress)
    seen = sum(p is not None for p in track.poses)
    if seen == 0:
        raise NoPersonError(f"Nobody was found in {path}: is a whole person in view?")
    confidence = 1.0
    if exercise is None and neighbours is not None and len(neighbours):
        exercise, confidence = recognise_by_neighbours(track, neighbours)
    if exercise is None:
        exercise, confidence = recognize_exercise(track.to_track())
        if confidence < RECOGNITION_MIN_CONFIDENCE:  # no exercise it knows: count what repeats
            exercise = ANY
    analyzer, analysis_ms = count_track(track, exercise)
    stages["analysis"] = analysis_ms
    return AnalysisResult(
        info=info,
        exercise=analyzer.spec.id,
        exercise_confidence=confidence,
        analyzer=analyzer,
        frames_analysed=len(track.times),
        decoded_frames=track.decoded_frames,
        wall_s=time.perf_counter() - start,
        backend=estimator.name.split("/")[0],
        model=model or estimator.name.split("/")[-1],
        stage_ms=stages,
    )
