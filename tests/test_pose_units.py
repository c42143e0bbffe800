"""Pose layer pieces that need no model: filters, person selection, detector decoding, geometry,
heatmap refinement and the ONNX Runtime runner (on a tiny generated model)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from app.engine.pose.blazepose import project_to_image, refine_from_heatmap, rotate_world
from app.engine.pose.detection import (
    Roi,
    iou_matrix,
    remove_letterbox,
    roi_from_alignment,
    ssd_anchors,
    weighted_nms,
)
from app.engine.pose.runners import CPU_PROVIDER, OnnxRunner, select_providers
from app.engine.pose.selection import (
    BodyCircle,
    Torso,
    choose_candidate,
    is_implausible_jump,
    match_candidate,
    rank_candidates,
    same_person,
    torso_of,
)
from app.engine.pose.smoothing import LandmarkSmoother, OneEuroFilter, OneEuroParams
from app.engine.pose.types import Landmark, Pose
from app.errors import ModelLoadError

FPS = 30.0


# ---------------------------------------------------------------------------------- One-Euro
def _run(filt: OneEuroFilter, signal: list[float], scale: float = 1.0) -> np.ndarray:
    return np.array([filt.apply(np.array([v]), i / FPS, scale)[0] for i, v in enumerate(signal)])


def test_one_euro_keeps_a_constant_signal_constant() -> None:
    out = _run(OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=80.0)), [3.25] * 50)
    np.testing.assert_allclose(out, 3.25)


def test_one_euro_follows_a_step_with_lag_that_drops_as_beta_rises() -> None:
    step = [0.0] * 10 + [1.0] * 40

    def frames_to_90_percent(beta: float) -> int:
        out = _run(OneEuroFilter(OneEuroParams(min_cutoff=0.5, beta=beta)), step)
        assert out[:10] == pytest.approx(0.0)
        assert np.all(np.diff(out) >= -1e-12)  # monotone, no overshoot
        return int(np.argmax(out >= 0.9)) - 10 if np.any(out >= 0.9) else 10**6

    lags = [frames_to_90_percent(beta) for beta in (0.0, 0.5, 5.0, 50.0)]
    assert lags[0] > lags[1] > lags[2] >= lags[3]
    assert lags[3] <= 2


def test_one_euro_first_value_passes_and_repeated_timestamps_are_ignored() -> None:
    filt = OneEuroFilter(OneEuroParams(min_cutoff=0.01, beta=0.0))
    np.testing.assert_allclose(filt.apply(np.array([1.0, 2.0]), 0.0), [1.0, 2.0])
    np.testing.assert_allclose(filt.apply(np.array([9.0, 9.0]), 0.0), [9.0, 9.0])  # same t: as is
    smoothed = filt.apply(np.array([9.0, 9.0]), 1 / FPS)
    np.testing.assert_allclose(smoothed, [1.0, 2.0], atol=0.05)  # heavy smoothing of the jump
    filt.reset()
    np.testing.assert_allclose(filt.apply(np.array([9.0, 9.0]), 2 / FPS), [9.0, 9.0])


def test_one_euro_value_scale_makes_speed_relative() -> None:
    # The same motion, in a frame twice as big, with value_scale halved: the same relative result.
    signal = list(np.linspace(0.0, 1.0, 30))
    small = _run(OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=5.0)), signal, 1.0)
    big = _run(OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=5.0)), [2 * v for v in signal], 0.5)
    np.testing.assert_allclose(big, 2 * small, rtol=1e-9, atol=1e-12)


def _pose(offset: float = 0.0, visibility: float = 0.9) -> Pose:
    rng = np.random.default_rng(0)
    image = rng.uniform(0.2, 0.8, (33, 3)).astype(np.float32) + np.float32(offset)
    world = rng.uniform(-0.5, 0.5, (33, 3)).astype(np.float32)
    return Pose(image, world, np.full(33, visibility, np.float32), np.ones(33, np.float32), 0.99, (640, 480))


def test_landmark_smoother_is_identity_on_a_still_pose_and_resets() -> None:
    smoother = LandmarkSmoother()
    pose = _pose()
    for i in range(10):
        out = smoother.apply(pose, i / FPS)
        np.testing.assert_allclose(out.image, pose.image, atol=1e-6)
        np.testing.assert_allclose(out.world, pose.world, atol=1e-6)
    jumped = smoother.apply(_pose(offset=0.1, visibility=0.1), 10 / FPS)
    assert np.all(np.abs(jumped.image[:, 0] - pose.image[:, 0]) < 0.1)  # smoothed towards the past
    assert np.all(jumped.visibility > 0.8)  # EMA with alpha 0.1
    smoother.reset()
    fresh = smoother.apply(_pose(offset=0.1, visibility=0.1), 11 / FPS)
    np.testing.assert_allclose(fresh.image, _pose(offset=0.1).image, atol=1e-6)


# ---------------------------------------------------------------------------------- selection
def test_choose_candidate_prefers_the_recently_lost_person() -> None:
    previous = BodyCircle(100, 200, 80)
    near_small = BodyCircle(110, 205, 75)
    far_big = BodyCircle(500, 220, 150)
    candidates, scores = [far_big, near_small], [0.95, 0.7]
    assert choose_candidate(candidates, scores, previous, since_lost_s=0.5) == 1
    # Long gone: the largest, most confident wins.
    assert choose_candidate(candidates, scores, previous, since_lost_s=10.0) == 0
    assert choose_candidate(candidates, scores) == 0
    # Nobody where they were: the largest again.
    assert choose_candidate([far_big, BodyCircle(900, 200, 60)], [0.6, 0.99], previous, since_lost_s=0.1) == 0
    assert choose_candidate([], [], previous, since_lost_s=0.0) is None
    assert rank_candidates(candidates, scores, previous, since_lost_s=0.5) == [1, 0]


def test_same_person_and_match_candidate() -> None:
    a = BodyCircle(100, 100, 50)
    assert same_person(a, BodyCircle(110, 95, 55))
    assert not same_person(a, BodyCircle(200, 100, 50))  # two radii away
    assert not same_person(a, BodyCircle(100, 100, 160))  # same centre, three times the size
    assert match_candidate([BodyCircle(400, 100, 50), BodyCircle(105, 100, 50)], a) == 1
    assert match_candidate([BodyCircle(400, 100, 50)], a) is None


def test_torso_of_and_implausible_jumps() -> None:
    image = np.zeros((33, 3), np.float32)
    image[Landmark.LEFT_SHOULDER, :2] = (0.55, 0.3)
    image[Landmark.RIGHT_SHOULDER, :2] = (0.45, 0.3)
    image[Landmark.LEFT_HIP, :2] = (0.53, 0.6)
    image[Landmark.RIGHT_HIP, :2] = (0.47, 0.6)
    torso = torso_of(image, (1000, 1000))
    assert (torso.x, torso.y) == pytest.approx((500.0, 450.0))
    assert torso.scale == pytest.approx(300.0)  # torso length beats shoulder width (100)

    dt = 1 / FPS
    assert not is_implausible_jump(torso, Torso(530, 460, 310), dt)  # a fast move
    assert is_implausible_jump(torso, Torso(800, 450, 300), dt)  # a torso length sideways
    assert is_implausible_jump(torso, Torso(500, 450, 160), dt)  # half the size
    assert not is_implausible_jump(torso, Torso(800, 450, 300), 1.0)  # after a second: possible


# ---------------------------------------------------------------------------------- detector
def test_ssd_anchors_match_the_detector_output() -> None:
    anchors = ssd_anchors(224)
    assert anchors.shape == (2254, 2)
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1], anchors[0])  # two anchors per cell
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_weighted_nms_merges_overlaps_and_keeps_separate_people() -> None:
    dets = np.zeros((3, 12), np.float32)
    dets[0, :4] = (0.10, 0.10, 0.30, 0.30)
    dets[1, :4] = (0.12, 0.10, 0.32, 0.30)
    dets[2, :4] = (0.60, 0.60, 0.80, 0.80)
    dets[:, 4] = (1.0, 2.0, 5.0)
    scores = np.array([0.9, 0.6, 0.8], np.float32)
    merged = weighted_nms(dets, scores, 0.3)
    assert [s for s, _ in merged] == pytest.approx([0.9, 0.8])
    np.testing.assert_allclose(merged[0][1][0], (0.10 * 0.9 + 0.12 * 0.6) / 1.5, rtol=1e-6)
    np.testing.assert_allclose(merged[0][1][4], (1.0 * 0.9 + 2.0 * 0.6) / 1.5, rtol=1e-6)
    np.testing.assert_allclose(merged[1][1], dets[2])
    iou = iou_matrix(dets[:, :4])
    assert iou[0, 0] == pytest.approx(1.0) and iou[0, 2] == 0.0


def test_letterbox_removal_and_roi_geometry() -> None:
    # 640x480 letterboxed into a square: 1/8 padding above and below.
    out = remove_letterbox(np.array([0.5, 0.125, 0.5, 0.875], np.float32), (0.0, 0.125))
    np.testing.assert_allclose(out, [0.5, 0.0, 0.5, 1.0], atol=1e-7)
    # Body circle point straight above the hips: upright, no rotation; side 2 * 100 px * 1.25.
    roi = roi_from_alignment(np.array([0.5, 0.5]), np.array([0.5, 0.5 - 100 / 480]), (640, 480))
    assert roi.rotation == pytest.approx(0.0, abs=1e-6)
    assert (roi.width * 640, roi.height * 480) == pytest.approx((250.0, 250.0))
    # Circle point to the right: the body lies along +x, head right; the crop turns by 90 degrees.
    lying = roi_from_alignment(np.array([0.5, 0.5]), np.array([0.6, 0.5]), (640, 480))
    assert lying.rotation == pytest.approx(math.pi / 2)


def test_projection_inverts_the_crop_rotation() -> None:
    roi = Roi(0.5, 0.5, 0.4, 0.4, math.pi / 2)
    crop_top_centre = np.array([[0.5, 0.0, 0.1]], np.float32)
    # Crop rotated by 90 degrees clockwise: its top edge lies on the image's right side.
    np.testing.assert_allclose(project_to_image(crop_top_centre, roi), [[0.7, 0.5, 0.04]], atol=1e-6)
    np.testing.assert_allclose(
        rotate_world(np.array([[1.0, 0.0, 0.3]], np.float32), math.pi / 2), [[0, 1, 0.3]], atol=1e-6
    )


def _refine_reference(
    xy: np.ndarray, heatmap: np.ndarray, kernel: int = 7, min_conf: float = 0.5
) -> np.ndarray:
    """Straight port of MediaPipe's RefineLandmarksFromHeatmap loop, for comparison."""
    hm_h, hm_w, n = heatmap.shape
    out = xy.copy()
    offset = (kernel - 1) // 2
    for i in range(n):
        col, row = int(xy[i, 0] * hm_w), int(xy[i, 1] * hm_h)
        if col < 0 or col >= hm_w or row < 0 or col >= hm_h:
            continue
        total = weighted_col = weighted_row = peak = 0.0
        for r in range(max(0, row - offset), min(hm_h, row + offset + 1)):
            for c in range(max(0, col - offset), min(hm_w, col + offset + 1)):
                conf = 1.0 / (1.0 + math.exp(-float(heatmap[r, c, i])))
                total += conf
                peak = max(peak, conf)
                weighted_col += c * conf
                weighted_row += r * conf
        if peak >= min_conf and total > 0:
            out[i] = (weighted_col / hm_w / total, weighted_row / hm_h / total)
    return out


def test_heatmap_refinement_matches_mediapipe_loop() -> None:
    rng = np.random.default_rng(1)
    heatmap = rng.normal(-2.0, 2.0, (64, 64, 39)).astype(np.float32)
    xy = rng.uniform(-0.1, 1.1, (39, 2)).astype(np.float32)  # some outside, some on the edges
    xy[0] = (0.0, 0.0)
    xy[1] = (0.999, 1.05)  # row below the heatmap: MediaPipe's check lets it through
    np.testing.assert_allclose(refine_from_heatmap(xy, heatmap), _refine_reference(xy, heatmap), atol=1e-6)
    # A clear peak pulls the landmark onto it; a cold heatmap leaves it alone.
    cold = np.full((64, 64, 1), -10.0, np.float32)
    hot = cold.copy()
    hot[20, 30, 0] = 10.0
    start = np.array([[31.5 / 64, 21.5 / 64]], np.float32)
    np.testing.assert_allclose(refine_from_heatmap(start, hot), [[30 / 64, 20 / 64]], atol=1e-3)
    np.testing.assert_allclose(refine_from_heatmap(start, cold), start)


# ---------------------------------------------------------------------------------- ONNX runner
def test_select_providers_prefers_accelerators_and_ends_with_cpu(caplog: pytest.LogCaptureFixture) -> None:
    available = [
        "AzureExecutionProvider",
        "CPUExecutionProvider",
        "OpenVINOExecutionProvider",
        "CUDAExecutionProvider",
    ]
    assert select_providers(available) == ["CUDAExecutionProvider", "OpenVINOExecutionProvider", CPU_PROVIDER]
    assert select_providers(["CPUExecutionProvider"]) == [CPU_PROVIDER]
    assert select_providers(available, ["OpenVINOExecutionProvider"]) == [
        "OpenVINOExecutionProvider",
        CPU_PROVIDER,
    ]
    with caplog.at_level(logging.WARNING):
        assert select_providers(available, ["DmlExecutionProvider"]) == [CPU_PROVIDER]
    assert "not available" in caplog.text


def _tiny_onnx(path: Path) -> Path:
    """NHWC image in, two outputs: the image doubled and its per-item sum; dynamic batch."""
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["batch", 8, 8, 3])
    doubled = helper.make_tensor_value_info("Identity", TensorProto.FLOAT, ["batch", 8, 8, 3])
    total = helper.make_tensor_value_info("Identity_1", TensorProto.FLOAT, ["batch", 1])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    axes = helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3])
    nodes = [
        helper.make_node("Mul", ["input_1", "two"], ["Identity"]),
        helper.make_node("ReduceSum", ["input_1", "axes"], ["sum"], keepdims=0),
        helper.make_node("Unsqueeze", ["sum", "one"], ["Identity_1"]),
    ]
    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(nodes, "tiny", [x], [doubled, total], initializer=[two, axes, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_onnx_runner_runs_batches_in_output_order(tmp_path: Path) -> None:
    runner = OnnxRunner(_tiny_onnx(tmp_path / "tiny.onnx"), num_threads=1)
    assert runner.input_size == (8, 8)
    assert runner.providers[-1] == CPU_PROVIDER
    x = np.random.default_rng(0).random((3, 8, 8, 3), dtype=np.float32)
    doubled, total = runner.run(x)
    np.testing.assert_allclose(doubled, 2 * x)
    np.testing.assert_allclose(total[:, 0], x.sum(axis=(1, 2, 3)), rtol=1e-5)


def test_onnx_runner_falls_back_to_cpu_when_a_provider_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import onnxruntime as ort

    path = _tiny_onnx(tmp_path / "tiny.onnx")
    tried: list[list[str]] = []

    class FlakyOrt:
        @staticmethod
        def InferenceSession(model: str, sess_options: Any, providers: list[str]) -> Any:  # noqa: N802
            tried.append(providers)
            if providers != [CPU_PROVIDER]:
                raise RuntimeError("CUDA driver not found")
            return ort.InferenceSession(model, sess_options=sess_options, providers=providers)

    with caplog.at_level(logging.WARNING):
        session = OnnxRunner._create(
            FlakyOrt, path, ort.SessionOptions(), ["CUDAExecutionProvider", CPU_PROVIDER]
        )
    assert tried == [["CUDAExecutionProvider", CPU_PROVIDER], [CPU_PROVIDER]]
    assert session.get_providers() == [CPU_PROVIDER]
    assert "falling back to CPU" in caplog.text


def test_onnx_runner_rejects_broken_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "pose_landmark_full.onnx"
    broken.write_bytes(b"not a protobuf" * 10)
    with pytest.raises(ModelLoadError, match=r"pose_landmark_full\.onnx.*cannot be loaded.*Delete it"):
        OnnxRunner(broken)
    with pytest.raises(ModelLoadError, match="missing"):
        OnnxRunner(tmp_path / "absent.onnx")


def test_litert_start_up_prints_nothing_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """LiteRT's native INFO line about XNNPACK is filtered; a CLI's stderr is for real problems."""
    from app.engine.models import model_dir
    from app.engine.pose.runners import LiteRtRunner

    path = model_dir() / "pose_landmark_full.tflite"
    if not path.is_file():
        pytest.skip("model files are not set up")
    LiteRtRunner(path)
    assert "XNNPACK" not in capfd.readouterr().err
