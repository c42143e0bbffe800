"""Pose estimators (the ``PoseEstimator`` port): BlazePose on LiteRT or ONNX Runtime, and the
MediaPipe Tasks PoseLandmarker as a reference, plus a factory that picks one by name."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.models import FIX_HINT, load_manifest, model_dir, model_path
from app.engine.pose.blazepose import BlazePose, BlazePoseConfig, Tracked
from app.engine.pose.runners import DEFAULT_THREADS, LiteRtRunner, OnnxRunner, TensorRunner
from app.engine.pose.smoothing import LandmarkSmoother
from app.engine.pose.task_bundle import VARIANTS, ensure_task_bundle
from app.engine.pose.types import NUM_LANDMARKS, Pose, PoseEstimator, RgbImage
from app.errors import ConfigError, ModelLoadError

log = logging.getLogger(__name__)

RUNNER_KINDS = ("litert", "onnx")
BACKENDS = (*RUNNER_KINDS, "mediapipe")
ONNX_FIX_HINT = f"ONNX models are converted from the .tflite files at set-up. {FIX_HINT}"


def _check_model(model: str) -> None:
    if model not in VARIANTS:
        raise ConfigError(f"Unknown pose model {model!r}; choose one of {', '.join(VARIANTS)}.")


def _check_frame(rgb: RgbImage) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {rgb.shape} {rgb.dtype}")


def onnx_model_path(name: str, directory: Path | None = None) -> Path:
    """A converted ``.onnx`` model: checksum-verified if the manifest lists it, else just present."""
    if any(entry.name == name for entry in load_manifest()):
        return model_path(name, directory=directory)
    path = (directory or model_dir()) / name
    if not path.is_file():
        raise ModelLoadError(f"Model file {path} is missing. {ONNX_FIX_HINT}")
    return path


def make_runners(
    runner_kind: str,
    model: str,
    *,
    threads: int = DEFAULT_THREADS,
    providers: Sequence[str] | None = None,
    directory: Path | None = None,
) -> tuple[TensorRunner, TensorRunner]:
    """Detector and landmark runners for ``runner_kind`` ('litert' or 'onnx') and ``model``."""
    _check_model(model)
    if runner_kind == "litert":
        return (
            LiteRtRunner(model_path("pose_detection.tflite", directory=directory), num_threads=threads),
            LiteRtRunner(
                model_path(f"pose_landmark_{model}.tflite", directory=directory), num_threads=threads
            ),
        )
    if runner_kind == "onnx":
        return (
            OnnxRunner(
                onnx_model_path("pose_detection.onnx", directory), num_threads=threads, providers=providers
            ),
            OnnxRunner(
                onnx_model_path(f"pose_landmark_{model}.onnx", directory),
                num_threads=threads,
                providers=providers,
            ),
        )
    raise ConfigError(f"Unknown pose runner {runner_kind!r}; choose one of {', '.join(RUNNER_KINDS)}.")


class BlazePoseEstimator:
    """BlazePose through Spotter's own pipeline, its networks run by LiteRT or ONNX Runtime."""

    def __init__(
        self,
        runner_kind: str = "litert",
        model: str = "full",
        *,
        threads: int = DEFAULT_THREADS,
        smoothing: bool = True,
        providers: Sequence[str] | None = None,
        config: BlazePoseConfig | None = None,
        directory: Path | None = None,
    ) -> None:
        detector, landmarker = make_runners(
            runner_kind, model, threads=threads, providers=providers, directory=directory
        )
        self.pipeline = BlazePose(detector, landmarker, config)
        self._smoother = LandmarkSmoother() if smoothing else None
        self._track_id: int | None = None
        self._name = f"{runner_kind}/{model}"
        self.last: Tracked | None = None  # the latest frame's result before smoothing, for diagnostics
        self._stage_ms: dict[str, float] = {}
        log.info("pose estimator %s, %d threads, smoothing %s", self._name, threads, smoothing)

    @property
    def name(self) -> str:
        return self._name

    def last_stage_ms(self) -> Mapping[str, float]:
        """Milliseconds of the last ``estimate`` call spent in the networks and in smoothing."""
        return self._stage_ms

    def estimate(self, rgb: RgbImage, t: float) -> Pose | None:
        _check_frame(rgb)
        t0 = time.perf_counter()
        tracked = self.pipeline.process(rgb, t)
        t1 = time.perf_counter()
        self.last = tracked
        self._stage_ms = {"pose": (t1 - t0) * 1e3, "smoothing": 0.0}
        if tracked is None:
            self._track_id = None
            return None
        if self._smoother is None:
            return tracked.pose
        if tracked.track_id != self._track_id:
            self._smoother.reset()
            self._track_id = tracked.track_id
        pose = self._smoother.apply(tracked.pose, t, object_scale_px=2.0 * tracked.body.radius)
        self._stage_ms["smoothing"] = (time.perf_counter() - t1) * 1e3
        return pose

    def reset(self) -> None:
        self.pipeline.reset()
        if self._smoother is not None:
            self._smoother.reset()
        self._track_id = None
        self.last = None

    def close(self) -> None:
        self.pipeline.detector.runner.close()
        self.pipeline.landmarks.runner.close()


class MediaPipePoseEstimator:
    """MediaPipe Tasks PoseLandmarker (the reference backend), in VIDEO mode unless ``video=False``.

    Tasks does not report the whole-pose presence score, only poses whose score passed
    ``min_presence``: their ``Pose.score`` is 1.0.
    """

    def __init__(
        self,
        model: str = "full",
        *,
        smoothing: bool = False,
        video: bool = True,
        min_detection: float = 0.5,
        min_presence: float = 0.5,
        min_tracking: float = 0.5,
        directory: Path | None = None,
    ) -> None:
        _check_model(model)
        self._bundle = ensure_task_bundle(model, directory=directory)
        self._video = video
        self._thresholds = (min_detection, min_presence, min_tracking)
        self._smoother = LandmarkSmoother() if smoothing else None
        self._name = f"mediapipe/{model}"
        self._landmarker: Any = None
        self._last_ms = -1
        self._open()
        log.info("pose estimator %s (MediaPipe Tasks, %s mode)", self._name, "VIDEO" if video else "IMAGE")

    def _open(self) -> None:
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        min_detection, min_presence, min_tracking = self._thresholds
        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self._bundle)),
            running_mode=RunningMode.VIDEO if self._video else RunningMode.IMAGE,
            num_poses=1,
            min_pose_detection_confidence=min_detection,
            min_pose_presence_confidence=min_presence,
            min_tracking_confidence=min_tracking,
        )
        try:
            self._landmarker = PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelLoadError(
                f"MediaPipe cannot load {self._bundle} ({exc}). Delete it so it is rebuilt at the next start."
            ) from exc
        self._last_ms = -1

    @property
    def name(self) -> str:
        return self._name

    def estimate(self, rgb: RgbImage, t: float) -> Pose | None:
        _check_frame(rgb)
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._video:
            ms = max(round(t * 1000.0), self._last_ms + 1)  # Tasks needs strictly increasing stamps
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect(image)
        if not result.pose_landmarks:
            if self._smoother is not None:
                self._smoother.reset()
            return None
        pose = _pose_from_tasks(result.pose_landmarks[0], result.pose_world_landmarks[0], rgb.shape)
        return pose if self._smoother is None else self._smoother.apply(pose, t)

    def reset(self) -> None:
        """Tasks keeps its tracking state inside the graph: start a fresh one."""
        self.close()
        self._open()
        if self._smoother is not None:
            self._smoother.reset()

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None


def _pose_from_tasks(landmarks: Any, world_landmarks: Any, shape: tuple[int, ...]) -> Pose:
    values = np.array(
        [(p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0) for p in landmarks], np.float32
    )
    world = np.array([(p.x, p.y, p.z) for p in world_landmarks], np.float32)
    if values.shape[0] != NUM_LANDMARKS:
        raise ModelLoadError(f"MediaPipe returned {values.shape[0]} landmarks, expected {NUM_LANDMARKS}.")
    return Pose(
        image=values[:, :3].copy(),
        world=world,
        visibility=values[:, 3].copy(),
        presence=values[:, 4].copy(),
        score=1.0,
        image_size=(int(shape[1]), int(shape[0])),
    )


def create_estimator(backend: str, model: str, threads: int = DEFAULT_THREADS) -> PoseEstimator:
    """The estimator named by ``backend`` ('litert', 'onnx' or 'mediapipe') and ``model``.

    Raises ``ConfigError`` for unknown names and ``ModelLoadError`` (with the fix) for missing or
    broken model files. MediaPipe Tasks picks its own thread count.
    """
    _check_model(model)
    if backend in RUNNER_KINDS:
        return BlazePoseEstimator(backend, model, threads=threads)
    if backend == "mediapipe":
        return MediaPipePoseEstimator(model, smoothing=True)
    raise ConfigError(f"Unknown pose backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
