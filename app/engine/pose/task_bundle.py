"""MediaPipe Tasks ``.task`` bundles assembled from the plain BlazePose ``.tflite`` files.

MediaPipe 1.x ships no models and only has the Tasks API, whose PoseLandmarker wants a zip with
``pose_detector.tflite`` and ``pose_landmarks_detector.tflite`` that carry TFLite metadata: the
Tasks image pre-processing reads the input normalisation (mean, std) from it and refuses a float
image input without it ("requires specifying NormalizationOptions metadata"). The landmark models
we fetch have none, so we add it, at set-up time, from Spotter's own checksummed files.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Any

from app.engine.models import load_manifest, model_dir, model_path
from app.errors import ConfigError, ModelLoadError

log = logging.getLogger(__name__)

VARIANTS = ("lite", "full", "heavy")
DETECTOR_MEMBER = "pose_detector.tflite"
LANDMARKS_MEMBER = "pose_landmarks_detector.tflite"
# Input normalisation, (pixel - mean) / std: detector in [-1, 1], landmark model in [0, 1].
DETECTOR_NORMALIZATION = (127.5, 127.5)
LANDMARKS_NORMALIZATION = (0.0, 255.0)
_METADATA_NAME = "TFLITE_METADATA"


def bundle_path(variant: str, directory: Path | None = None) -> Path:
    return (directory or model_dir()) / f"pose_landmarker_{variant}.task"


def _has_metadata(model: Any) -> bool:
    return any(m.name in (_METADATA_NAME, _METADATA_NAME.encode()) for m in model.metadata or [])


def add_image_metadata(model_bytes: bytes, *, mean: float, std: float, name: str) -> bytes:
    """``model_bytes`` with TFLite metadata describing an RGB image input normalised by mean/std.

    A model that already has metadata is returned unchanged.
    """
    import flatbuffers
    import numpy as np
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md
    from mediapipe.tasks.metadata import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    if _has_metadata(model):
        return model_bytes
    subgraph = model.subgraphs[0]

    normalization = md.NormalizationOptionsT()
    normalization.mean, normalization.std = [mean], [std]
    process_unit = md.ProcessUnitT()
    process_unit.optionsType = md.ProcessUnitOptions.NormalizationOptions
    process_unit.options = normalization
    properties = md.ImagePropertiesT()
    properties.colorSpace = md.ColorSpaceType.RGB
    image = md.TensorMetadataT()
    image.name = "image"
    image.content = md.ContentT()
    image.content.contentPropertiesType = md.ContentProperties.ImageProperties
    image.content.contentProperties = properties
    image.processUnits = [process_unit]
    image.stats = md.StatsT()
    image.stats.max, image.stats.min = [(255.0 - mean) / std], [(0.0 - mean) / std]

    outputs = []
    for index in subgraph.outputs:
        tensor = md.TensorMetadataT()
        raw_name = subgraph.tensors[index].name
        tensor.name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        outputs.append(tensor)
    subgraph_metadata = md.SubGraphMetadataT()
    subgraph_metadata.inputTensorMetadata = [image]
    subgraph_metadata.outputTensorMetadata = outputs
    metadata = md.ModelMetadataT()
    metadata.name, metadata.version, metadata.minParserVersion = name, "v1", "1.0.0"
    metadata.subgraphMetadata = [subgraph_metadata]
    builder = flatbuffers.Builder(0)
    builder.Finish(metadata.Pack(builder), file_identifier=b"M001")

    buffer = schema.BufferT()
    buffer.data = np.frombuffer(bytes(builder.Output()), dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = _METADATA_NAME, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    out = flatbuffers.Builder(len(model_bytes) + 4096)
    out.Finish(model.Pack(out), file_identifier=b"TFL3")
    return bytes(out.Output())


def _stamp(detector: Path, landmarks: Path) -> bytes:
    """What the bundle was built from: the manifest checksums of its two sources."""
    sums = {entry.name: entry.sha256 for entry in load_manifest()}
    return f"spotter {detector.name}={sums[detector.name]} {landmarks.name}={sums[landmarks.name]}".encode()


def _is_current(bundle: Path, stamp: bytes) -> bool:
    if not bundle.is_file():
        return False
    try:
        with zipfile.ZipFile(bundle) as zf:
            return zf.comment == stamp and {DETECTOR_MEMBER, LANDMARKS_MEMBER} <= set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def build_task_bundle(detector: Path, landmarks: Path, out: Path, *, stamp: bytes = b"") -> None:
    """Write the PoseLandmarker bundle for the two models to ``out`` (atomically)."""
    try:
        detector_bytes = add_image_metadata(
            detector.read_bytes(),
            mean=DETECTOR_NORMALIZATION[0],
            std=DETECTOR_NORMALIZATION[1],
            name="pose_detector",
        )
        landmark_bytes = add_image_metadata(
            landmarks.read_bytes(),
            mean=LANDMARKS_NORMALIZATION[0],
            std=LANDMARKS_NORMALIZATION[1],
            name="pose_landmarks_detector",
        )
    except (ValueError, IndexError, AttributeError, TypeError) as exc:  # a malformed flatbuffer
        raise ModelLoadError(f"Cannot add metadata to {detector.name} / {landmarks.name}: {exc}") from exc
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")  # two processes may build at once
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(DETECTOR_MEMBER, detector_bytes)
        zf.writestr(LANDMARKS_MEMBER, landmark_bytes)
        zf.comment = stamp
    os.replace(tmp, out)


def ensure_task_bundle(variant: str, *, directory: Path | None = None) -> Path:
    """Path of ``pose_landmarker_<variant>.task`` in the model folder, built first if missing or stale.

    Raises ``ConfigError`` for an unknown variant, ``ModelLoadError`` (with the fix) when a source
    model is missing or corrupt.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"Unknown pose model {variant!r}; choose one of {', '.join(VARIANTS)}.")
    detector = model_path("pose_detection.tflite", directory=directory)
    landmarks = model_path(f"pose_landmark_{variant}.tflite", directory=directory)
    out = bundle_path(variant, directory)
    stamp = _stamp(detector, landmarks)
    if not _is_current(out, stamp):
        log.info("building %s", out)
        build_task_bundle(detector, landmarks, out, stamp=stamp)
    return out
