"""Tensor runners: run one network on a float32 NHWC batch, whatever the inference library.

The BlazePose pipeline only needs ``run(batch) -> outputs`` and the network's input size, so the
same pre- and post-processing drives LiteRT (``.tflite``, fastest on CPU) and ONNX Runtime
(``.onnx``, for GPU and NPU execution providers).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.engine.models import FIX_HINT
from app.engine.pose.types import Float32Array
from app.errors import ModelLoadError

log = logging.getLogger(__name__)

DEFAULT_THREADS = 2

# ONNX Runtime execution providers, most preferred first; CPU always closes the list.
PROVIDER_PREFERENCE = (
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "OpenVINOExecutionProvider",
    "CPUExecutionProvider",
)
CPU_PROVIDER = "CPUExecutionProvider"


class TensorRunner(Protocol):
    """One network with one image input, run on float32 NHWC batches."""

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the network's input image."""
        ...

    def run(self, x: Float32Array) -> list[Float32Array]:
        """Outputs for the batch ``x`` (N, H, W, C), in the model's output order, batch first."""
        ...

    def close(self) -> None: ...


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise ModelLoadError(f"Model file {path} is missing. {FIX_HINT}")


def _broken(path: Path, exc: BaseException) -> ModelLoadError:
    return ModelLoadError(f"Model file {path} cannot be loaded ({exc}). Delete it. {FIX_HINT}")


def _image_size(shape: Sequence[Any], path: Path) -> tuple[int, int]:
    """(height, width) from an NHWC input shape whose batch dimension may be symbolic."""
    if len(shape) != 4 or not all(isinstance(d, int) for d in shape[1:]) or shape[3] != 3:
        raise ModelLoadError(f"Model file {path} has input shape {list(shape)}, expected [N, H, W, 3].")
    return int(shape[1]), int(shape[2])


_NATIVE_NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate",)


@contextmanager
def _native_noise_filtered() -> Iterator[None]:
    """Hold back what native code writes to file descriptor 2 meanwhile, then pass it on without the
    lines in ``_NATIVE_NOISE`` (LiteRT's C++ logger prints one INFO line per interpreter, ignoring
    every log-level setting). Lines other threads write in that moment are delayed, not lost."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded, pythonw): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [
                ln
                for ln in held.read().decode(errors="replace").splitlines()
                if not ln.startswith(_NATIVE_NOISE)
            ]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


class LiteRtRunner:
    """A ``.tflite`` model run by the LiteRT interpreter (XNNPACK on CPU)."""

    def __init__(self, path: Path, *, num_threads: int = DEFAULT_THREADS) -> None:
        _check_file(path)
        from ai_edge_litert.interpreter import Interpreter

        try:
            with _native_noise_filtered():
                self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise _broken(path, exc) from exc
        inputs = self._interpreter.get_input_details()
        self._input_index = int(inputs[0]["index"])
        self._input_size = _image_size([int(d) for d in inputs[0]["shape"]], path)
        self._output_indices = [int(o["index"]) for o in self._interpreter.get_output_details()]
        self.path = path

    @property
    def input_size(self) -> tuple[int, int]:
        return self._input_size

    def _invoke(self, x: Float32Array) -> list[Float32Array]:
        self._interpreter.set_tensor(self._input_index, x)
        self._interpreter.invoke()
        return [np.asarray(self._interpreter.get_tensor(i), np.float32) for i in self._output_indices]

    def run(self, x: Float32Array) -> list[Float32Array]:
        x = np.ascontiguousarray(x, np.float32)
        if x.shape[0] == 1:
            return self._invoke(x)
        # The BlazePose graphs are built for batch 1: run the items one by one.
        per_item = [self._invoke(x[i : i + 1]) for i in range(x.shape[0])]
        return [np.concatenate(outs, axis=0) for outs in zip(*per_item, strict=True)]

    def close(self) -> None:
        """Nothing to release explicitly; the interpreter goes with the object."""


def select_providers(available: Sequence[str], override: Sequence[str] | None = None) -> list[str]:
    """Execution providers to ask ONNX Runtime for, best first, always ending with CPU.

    Without ``override`` these are the ``available`` ones in ``PROVIDER_PREFERENCE`` order; with it,
    the overriding names that are available, in the given order (unavailable ones are logged).
    """
    if override is None:
        wanted = [p for p in PROVIDER_PREFERENCE if p in available]
    else:
        missing = [p for p in override if p not in available]
        if missing:
            log.warning("execution providers %s are not available here (have %s)", missing, list(available))
        wanted = [p for p in override if p in available]
    if CPU_PROVIDER not in wanted:
        wanted.append(CPU_PROVIDER)
    return wanted


class OnnxRunner:
    """An ``.onnx`` model run by ONNX Runtime on the best available execution provider."""

    def __init__(
        self,
        path: Path,
        *,
        num_threads: int = DEFAULT_THREADS,
        providers: Sequence[str] | None = None,
    ) -> None:
        _check_file(path)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads keep a core busy between runs; two sessions back to back (detector,
        # then landmarks) on two cores then run slower than with one thread.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        wanted = select_providers(ort.get_available_providers(), providers)
        self._session = self._create(ort, path, options, wanted)
        model_input = self._session.get_inputs()[0]
        self._input_name = str(model_input.name)
        self._input_size = _image_size(list(model_input.shape), path)
        self._dynamic_batch = not isinstance(model_input.shape[0], int)  # a name like 'batch'
        self._output_names = [str(o.name) for o in self._session.get_outputs()]
        self.providers: list[str] = list(self._session.get_providers())
        self.path = path
        log.info("%s runs on %s", path.name, self.providers)

    @staticmethod
    def _create(ort: Any, path: Path, options: Any, providers: list[str]) -> Any:
        from onnxruntime.capi import onnxruntime_pybind11_state as state

        load_errors = (
            state.Fail,
            state.InvalidArgument,
            state.InvalidGraph,
            state.InvalidProtobuf,
            state.NoSuchFile,
            state.NotImplemented,
            state.RuntimeException,
            state.EPFail,
            RuntimeError,
            ValueError,
        )
        try:
            return ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except load_errors as exc:
            if providers == [CPU_PROVIDER]:
                raise _broken(path, exc) from exc
            log.warning("%s failed on %s (%s); falling back to CPU", path.name, providers[0], exc)
        try:
            return ort.InferenceSession(str(path), sess_options=options, providers=[CPU_PROVIDER])
        except load_errors as exc:
            raise _broken(path, exc) from exc

    @property
    def input_size(self) -> tuple[int, int]:
        return self._input_size

    def _invoke(self, x: Float32Array) -> list[Float32Array]:
        outputs = self._session.run(self._output_names, {self._input_name: x})
        return [np.asarray(o, np.float32) for o in outputs]

    def run(self, x: Float32Array) -> list[Float32Array]:
        x = np.ascontiguousarray(x, np.float32)
        if x.shape[0] == 1 or self._dynamic_batch:
            return self._invoke(x)
        per_item = [self._invoke(x[i : i + 1]) for i in range(x.shape[0])]
        return [np.concatenate(outs, axis=0) for outs in zip(*per_item, strict=True)]

    def close(self) -> None:
        """Nothing to release explicitly; the session goes with the object."""
