"""The TFLite -> ONNX converter: ONNX Runtime must reproduce LiteRT on real images.

Agreement is measured per output as ``max|onnx - tflite| / max(max|tflite|, 1e-6)``: relative to the
output's own scale, so one number works for logits in the hundreds and scores near 1, and tiny values
next to large ones (which a per-element rtol would blow up) do not matter. The bound is 1e-4 for
every output except the landmark models' segmentation logits (magnitudes up to ~1750, long fp32
accumulations through five upsamplings): there LiteRT's own kernel sets (XNNPACK, built-in,
reference) disagree with each other by up to 3.6e-4 on these very images, so 1e-4 would test float
noise, not the converter; 1e-3 there. Real conversion bugs show up far above both bounds: a wrong
resize coordinate mode gives 1.0 on the segmentation, one convolution padded on the wrong side 0.25
on the landmarks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from numpy.typing import NDArray
from skimage import data as skdata

from app.engine.models import model_dir
from app.engine.pose.onnx_export import _densify, _schema, convert_tflite_to_onnx, ensure_onnx_models
from app.errors import ModelLoadError

Array = NDArray[np.float32]
VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"


def _signed_unit(pixels: Array) -> Array:
    return pixels / 127.5 - 1.0  # the detector takes [-1, 1]


def _unit(pixels: Array) -> Array:
    return pixels / 255.0  # the landmark models take [0, 1]


MODELS: dict[str, tuple[int, Callable[[Array], Array]]] = {  # name -> input size, pixel scaling
    "pose_detection": (224, _signed_unit),
    "pose_landmark_lite": (256, _unit),
    "pose_landmark_full": (256, _unit),
    "pose_landmark_heavy": (256, _unit),
}
TOLERANCE = 1e-4
SEGMENTATION_TOLERANCE = 1e-3
SEGMENTATION_SHAPE = (256, 256, 1)


def _tflite(name: str) -> Path:
    path = model_dir() / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is not in the model cache")
    return path


def _sample(name: str) -> NDArray[np.uint8]:
    """One of scikit-image's bundled sample pictures (no download)."""
    return np.asarray(getattr(skdata, name)(), np.uint8)


def _relative_error(expected: Array, actual: Array) -> float:
    return float(np.abs(actual - expected).max() / max(float(np.abs(expected).max()), 1e-6))


def _video_frames(clip: str, count: int) -> list[NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(VIDEOS / clip))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for k in range(count):
        capture.set(cv2.CAP_PROP_POS_FRAMES, total * (k + 1) // (count + 1))
        ok, frame = capture.read()
        if ok:
            frames.append(np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), np.uint8))
    capture.release()
    return frames


@pytest.fixture(scope="module")
def images() -> list[NDArray[np.uint8]]:
    """The astronaut, plus frames of a squat and a push-up clip when the shared data is present."""
    found = [_sample("astronaut")]
    for clip in ("squat_01.mp4", "pushup_01.mp4"):
        if (VIDEOS / clip).is_file():
            found += _video_frames(clip, 2)
    return found


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def converted(onnx_dir: Path) -> Iterator[Callable[[str], Path]]:
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = onnx_dir / f"{name}.onnx"
            convert_tflite_to_onnx(_tflite(name), cache[name])
        return cache[name]

    yield get


def _batch(name: str, frames: list[NDArray[np.uint8]]) -> Array:
    size, scale = MODELS[name]
    resized = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) for f in frames]
    return np.stack([scale(r) for r in resized]).astype(np.float32)


def _litert(path: Path, x: Array) -> list[Array]:
    interpreter = Interpreter(model_path=str(path), num_threads=2)
    interpreter.allocate_tensors()
    outputs = []
    for row in x:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], row[None])
        interpreter.invoke()
        outputs.append([interpreter.get_tensor(o["index"]).copy() for o in interpreter.get_output_details()])
    return [np.concatenate(column) for column in zip(*outputs, strict=True)]


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


MODEL_PARAMS = [pytest.param(n, marks=[pytest.mark.slow] if n.endswith("heavy") else []) for n in MODELS]


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_onnx_matches_litert_on_real_images(
    name: str, images: list[NDArray[np.uint8]], converted: Callable[[str], Path]
) -> None:
    session = _session(converted(name))
    x = _batch(name, images)
    expected = _litert(_tflite(name), x)
    singles = [session.run(None, {"input_1": row[None]}) for row in x]
    actual = [np.concatenate(column) for column in zip(*singles, strict=True)]
    assert len(actual) == len(expected)
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert got.shape == want.shape, f"output {index}"
        bound = SEGMENTATION_TOLERANCE if want.shape[1:] == SEGMENTATION_SHAPE else TOLERANCE
        error = _relative_error(want, got)
        assert error <= bound, f"{name} output {index}: relative error {error:.2e} > {bound:.0e}"


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_batch_of_four_equals_four_single_runs(
    name: str, images: list[NDArray[np.uint8]], converted: Callable[[str], Path]
) -> None:
    frames = [*images, *(_sample(n) for n in ("coffee", "chelsea", "rocket"))][:4]
    x = _batch(name, frames)
    session = _session(converted(name))
    batched = session.run(None, {"input_1": x})
    singles = [session.run(None, {"input_1": row[None]}) for row in x]
    for index, got in enumerate(batched):
        assert got.shape[0] == 4
        for row in range(4):
            want = singles[row][index][0]
            assert _relative_error(want, got[row]) <= 1e-5, f"{name} output {index}, image {row}"


def test_onnx_signature_keeps_tflite_names_order_and_dynamic_batch(converted: Callable[[str], Path]) -> None:
    for name in ("pose_detection", "pose_landmark_full"):
        model = onnx.load(str(converted(name)))
        interpreter = Interpreter(model_path=str(_tflite(name)))
        tflite_in, tflite_out = interpreter.get_input_details(), interpreter.get_output_details()
        assert [i.name for i in model.graph.input] == [d["name"] for d in tflite_in]
        assert [o.name for o in model.graph.output] == [d["name"] for d in tflite_out]
        for value, detail in zip(model.graph.output, tflite_out, strict=True):
            dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            assert dims == ["batch", *[int(v) for v in detail["shape"][1:]]]
        assert model.opset_import[0].version == 17
        kinds = {t.data_type for t in model.graph.initializer}  # fp32 weights, int64 shapes and pads
        assert kinds <= {onnx.TensorProto.FLOAT, onnx.TensorProto.INT64}


def test_densify_decodes_sparse_weights_exactly() -> None:
    """Our numpy decoder of the TFLite sparse format gives LiteRT's own DENSIFY result, bit for bit."""
    path = _tflite("pose_detection")
    schema = _schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    graph = model.subgraphs[0]
    densify = [
        i for i, c in enumerate(model.operatorCodes) if c.builtinCode == schema.BuiltinOperator.DENSIFY
    ]
    ops = [op for op in graph.operators if op.opcodeIndex in densify]
    assert ops, "the detector is expected to carry sparse weights"
    interpreter = Interpreter(
        model_path=str(path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], np.float32))
    interpreter.invoke()
    for op in ops:
        sparse = graph.tensors[op.inputs[0]]
        values = np.frombuffer(bytes(model.buffers[sparse.buffer].data), np.float16)
        shape = tuple(int(d) for d in graph.tensors[op.outputs[0]].shape)
        ours = _densify(values, shape, sparse.sparsity, schema.DimensionType.DENSE)
        np.testing.assert_array_equal(ours, interpreter.get_tensor(op.outputs[0]))


def test_conversion_is_deterministic(tmp_path: Path) -> None:
    source = _tflite("pose_detection")  # the one with sparse (DENSIFY) weights
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    convert_tflite_to_onnx(source, first)
    convert_tflite_to_onnx(source, second)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a TFLite model"),
        (b"\x00" * 64, "not a TFLite model"),
        (b"this is not a model at all, just text" * 10, "not a TFLite model"),
    ],
)
def test_garbage_gives_model_load_error(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "pose_bad.tflite"
    bad.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        convert_tflite_to_onnx(bad, tmp_path / "pose_bad.onnx")
    assert not (tmp_path / "pose_bad.onnx").exists()


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.9])
def test_truncated_tflite_gives_model_load_error(tmp_path: Path, fraction: float) -> None:
    raw = _tflite("pose_detection").read_bytes()
    bad = tmp_path / "pose_detection.tflite"
    bad.write_bytes(raw[: int(len(raw) * fraction)])
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        convert_tflite_to_onnx(bad, tmp_path / "pose_detection.onnx")


def test_missing_schema_gives_model_load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "mediapipe.tasks.metadata.schema_py_generated", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    _schema.cache_clear()
    try:
        with pytest.raises(ModelLoadError, match="TFLite schema from the 'mediapipe' package"):
            convert_tflite_to_onnx(tmp_path / "pose_x.tflite", tmp_path / "pose_x.onnx")
    finally:
        _schema.cache_clear()


def test_missing_file_gives_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="Cannot read"):
        convert_tflite_to_onnx(tmp_path / "nope.tflite", tmp_path / "nope.onnx")


def test_ensure_onnx_models_converts_once_and_reconverts_when_stale(tmp_path: Path) -> None:
    (tmp_path / "pose_landmark_lite.tflite").symlink_to(_tflite("pose_landmark_lite"))
    (tmp_path / "pose_broken.tflite").write_bytes(b"garbage")
    assert ensure_onnx_models(tmp_path) == {
        "pose_broken.onnx": "failed",
        "pose_landmark_lite.onnx": "converted",
    }
    sidecar = tmp_path / "pose_landmark_lite.onnx.sha256"
    assert sidecar.read_text(encoding="utf-8").startswith(
        hashlib.sha256(_tflite("pose_landmark_lite").read_bytes()).hexdigest()
    )
    assert ensure_onnx_models(tmp_path)["pose_landmark_lite.onnx"] == "up-to-date"
    sidecar.write_text("0" * 64 + "  pose_landmark_lite.tflite  spotter-tflite2onnx/0\n", encoding="utf-8")
    assert ensure_onnx_models(tmp_path)["pose_landmark_lite.onnx"] == "converted"
    assert not (tmp_path / "pose_broken.onnx").exists()
    assert not list(tmp_path.glob(".*.part"))
