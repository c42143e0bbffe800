"""Spotter's own TFLite -> ONNX converter for the BlazePose models.

ONNX Runtime (CPU, CUDA, DirectML, CoreML, OpenVINO) cannot read ``.tflite`` files, and the public
converters either miss ops these models use (DENSIFY, DEPTH_TO_SPACE, PAD) or need TensorFlow. The
BlazePose graphs use a dozen standard ops, so we translate them ourselves:

* The tflite is read with the pure-Python flatbuffer schema that ships in ``mediapipe``.
* Constants are folded at conversion time: DEQUANTIZE (fp16 -> fp32) and DENSIFY (the TFLite
  sparse tensor format, decoded here in numpy). Every ONNX constant is fp32.
* The public input keeps the model's NHWC layout with a dynamic batch (``['batch', H, W, C]``); one
  Transpose turns it into NCHW, every 4-D activation inside is NCHW, and 4-D outputs are
  transposed back to NHWC. Outputs keep the tflite's names and order.
* Reshapes keep the batch dimension (``0``) instead of hard-coding 1, so batches just work.
* The result is deterministic: the same tflite gives the same ONNX bytes, so its sha256 can be pinned.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from app.engine.models import FIX_HINT, model_dir, sha256_of, write_atomic
from app.errors import ModelLoadError

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17: readable by older ONNX Runtime builds too
BATCH_DIM = "batch"

_TO_NCHW = (0, 3, 1, 2)
_TO_NHWC = (0, 2, 3, 1)
_NCHW_AXIS = {1: 2, 2: 3, 3: 1}  # NHWC axis -> NCHW axis
_DTYPES: dict[str, type[np.generic]] = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32}
_PARSE_ERRORS = (struct.error, IndexError, ValueError, TypeError, AttributeError, KeyError, OverflowError)


@functools.cache
def _schema() -> ModuleType:
    """The TFLite flatbuffer schema (pure Python) that ships with mediapipe, loaded on demand.

    The file is loaded on its own: importing the ``mediapipe`` package would pull in matplotlib and
    the Tasks runtime (about 1.5 s) for one generated module that only needs ``flatbuffers``.
    """
    loaded = sys.modules.get("mediapipe.tasks.metadata.schema_py_generated")
    if loaded is not None:
        return loaded
    try:
        spec = importlib.util.find_spec("mediapipe")
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        path = origin.parent / "tasks" / "metadata" / "schema_py_generated.py" if origin else None
        if path is None or not path.is_file():
            raise ImportError("mediapipe/tasks/metadata/schema_py_generated.py not found")
        file_spec = importlib.util.spec_from_file_location("_spotter_tflite_schema", path)
        if file_spec is None or file_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(file_spec)
        file_spec.loader.exec_module(module)
    except ImportError as exc:
        raise ModelLoadError(
            "Converting BlazePose to ONNX needs the TFLite schema from the 'mediapipe' package "
            f"(and 'flatbuffers'), which cannot be loaded ({exc}). Install Spotter's requirements."
        ) from exc
    return module


def _enum_names(enum_class: Any) -> dict[int, str]:
    return {int(v): k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)}


def _densify(values: NDArray[Any], shape: tuple[int, ...], sparsity: Any, dense_format: int) -> NDArray[Any]:
    """Decode a TFLite sparse tensor (traversal order, block map, DENSE/CSR levels) into a dense array."""
    rank = len(shape)
    order = [int(x) for x in sparsity.traversalOrder]
    block_map = [int(x) for x in sparsity.blockMap] if sparsity.blockMap is not None else []
    levels = sparsity.dimMetadata
    positions = np.zeros(1, np.int64)  # position of each partial path in its level's storage
    coords = np.zeros((len(order), 1), np.int64)  # coordinate per level of each partial path
    for level, dim in enumerate(levels):
        if dim.format == dense_format:
            size = int(dim.denseSize)
            parent = np.repeat(np.arange(positions.size), size)
            coord = np.tile(np.arange(size), positions.size)
            positions = positions[parent] * size + coord
        else:
            segments = np.asarray(dim.arraySegments.values, np.int64)
            indices = np.asarray(dim.arrayIndices.values, np.int64)
            starts, counts = segments[positions], segments[positions + 1] - segments[positions]
            parent = np.repeat(np.arange(positions.size), counts)
            offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            positions = np.repeat(starts, counts) + offsets
            coord = indices[positions]
        coords = coords[:, parent]
        coords[level] = coord
    if positions.size != values.size:
        raise ValueError(f"sparse tensor has {values.size} values but its index describes {positions.size}")
    block_size = [1] * rank
    for k, dim_index in enumerate(block_map):
        block_size[dim_index] = int(levels[order.index(rank + k)].denseSize)
    original = np.zeros((rank, positions.size), np.int64)
    for level, dim_index in enumerate(order):
        if dim_index < rank:
            original[dim_index] += coords[level] * block_size[dim_index]
        else:
            original[block_map[dim_index - rank]] += coords[level]
    dense = np.zeros(shape, values.dtype)
    dense[tuple(original)] = values
    return dense


def _same_pads(
    in_hw: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> list[int]:
    """TFLite SAME padding as explicit ONNX pads [top, left, bottom, right] (the extra pixel goes last)."""
    begins, ends = [], []
    for size, k, s, d in zip(in_hw, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def _layout_free(nhwc_shape: Sequence[int]) -> bool:
    """Whether an NHWC tensor has the same memory order as its NCHW twin (1x1 spatial or one channel)."""
    return nhwc_shape[1] * nhwc_shape[2] == 1 or nhwc_shape[3] == 1


class _Converter:
    """Translates the main subgraph of one parsed tflite model into ONNX nodes and initializers."""

    def __init__(self, schema: ModuleType, model: Any, raw: bytes) -> None:
        self.s = schema
        self.model = model
        self.raw = raw
        self.graph = model.subgraphs[0]
        self.op_names = _enum_names(schema.BuiltinOperator)
        self.type_names = _enum_names(schema.TensorType)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, TensorProto] = {}
        self.consts: dict[int, NDArray[Any]] = {}
        self.inputs = [int(i) for i in self.graph.inputs]
        self.outputs = [int(i) for i in self.graph.outputs]
        self.folded_pads: dict[int, tuple[int, list[int]]] = {}  # PAD output -> (its input, NCHW pads)
        self.handlers: dict[str, Callable[[Any], None]] = {
            "CONV_2D": self._conv,
            "DEPTHWISE_CONV_2D": self._conv,
            "ADD": self._binary,
            "MUL": self._binary,
            "SUB": self._binary,
            "MAX_POOL_2D": self._max_pool,
            "PAD": self._pad,
            "RESHAPE": self._reshape,
            "CONCATENATION": self._concat,
            "RESIZE_BILINEAR": self._resize,
            "DEPTH_TO_SPACE": self._depth_to_space,
            "LOGISTIC": self._unary,
            "RELU": self._unary,
            "TANH": self._unary,
            "DEQUANTIZE": self._dequantize,
            "DENSIFY": self._densify,
        }

    # --- tensors -----------------------------------------------------------------------------------
    def shape(self, index: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.graph.tensors[index].shape)

    def tensor_name(self, index: int) -> str:
        return bytes(self.graph.tensors[index].name).decode("utf-8", "replace")

    def _buffer(self, index: int) -> bytes:
        buffer = self.model.buffers[self.graph.tensors[index].buffer]
        if buffer.data is not None and len(buffer.data) > 0:
            return bytes(np.asarray(buffer.data, np.uint8))
        if getattr(buffer, "offset", 0) > 1:  # large models keep buffers after the flatbuffer
            return self.raw[buffer.offset : buffer.offset + buffer.size]
        return b""

    def const(self, index: int) -> NDArray[Any] | None:
        """The constant value of tensor ``index`` (dense, in tflite layout), or None for activations."""
        if index in self.consts:
            return self.consts[index]
        tensor = self.graph.tensors[index]
        data = self._buffer(index)
        if not data or tensor.sparsity is not None:
            return None
        type_name = self.type_names.get(int(tensor.type), str(tensor.type))
        if type_name not in _DTYPES:
            raise ModelLoadError(f"constant {self.tensor_name(index)!r} has unsupported type {type_name}")
        value = np.frombuffer(data, _DTYPES[type_name]).reshape(self.shape(index))
        self.consts[index] = value
        return value

    def name(self, index: int) -> str:
        """ONNX name of tensor ``index``; non-4-D graph inputs and outputs keep their tflite name."""
        if len(self.shape(index)) != 4 and (index in self.outputs or index in self.inputs):
            return self.tensor_name(index)
        return f"t{index}"

    def initializer(self, name: str, value: NDArray[Any]) -> str:
        if name not in self.initializers:
            if value.dtype.kind == "f":
                value = value.astype(np.float32)
            self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(value), name)
        return name

    def operand(self, index: int, rank: int) -> str:
        """ONNX name of an input: an activation, or a constant broadcast to ``rank`` in ONNX layout."""
        value = self.const(index)
        if value is None:
            return self.name(index)
        if rank != 4:
            return self.initializer(f"c{index}", value)
        value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(_TO_NCHW)
        return self.initializer(f"c{index}_nchw", value)

    def node(self, op_type: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [output], name=f"n{len(self.nodes)}_{op_type}", **attrs)
        )
        return output

    def activated(
        self, op_type: str, inputs: Sequence[str], out_index: int, fused: int, **attrs: Any
    ) -> None:
        """Emit ``op_type`` followed by its fused activation (NONE, RELU, RELU_N1_TO_1, RELU6, TANH)."""
        kind = self.s.ActivationFunctionType
        out = self.name(out_index)
        if fused == kind.NONE:
            self.node(op_type, inputs, out, **attrs)
            return
        pre = self.node(op_type, inputs, f"{out}_pre", **attrs)
        if fused == kind.RELU:
            self.node("Relu", [pre], out)
        elif fused == kind.TANH:
            self.node("Tanh", [pre], out)
        elif fused in (kind.RELU6, kind.RELU_N1_TO_1):
            low, high = (0.0, 6.0) if fused == kind.RELU6 else (-1.0, 1.0)
            bounds = [self.initializer(f"clip_{v:g}", np.array(v, np.float32)) for v in (low, high)]
            self.node("Clip", [pre, *bounds], out)
        else:
            raise ModelLoadError(f"unsupported fused activation {fused} on {self.tensor_name(out_index)!r}")

    # --- ops ----------------------------------------------------------------------------------------
    def _conv(self, op: Any) -> None:
        x, w_index, b_index = (int(i) for i in op.inputs)
        o = op.builtinOptions
        weights = self.const(w_index)
        if weights is None:
            raise ModelLoadError("convolution weights computed at run time are not supported")
        in_channels = self.shape(x)[3]
        if self.op_names[self.opcode(op)] == "DEPTHWISE_CONV_2D":
            kernel, group = weights.transpose(3, 0, 1, 2), in_channels  # [1,KH,KW,C*M] -> [C*M,1,KH,KW]
        else:
            kernel, group = weights.transpose(_TO_NCHW), in_channels // weights.shape[3]
        hw = list(kernel.shape[2:])
        strides, dilations = [o.strideH, o.strideW], [o.dilationHFactor, o.dilationWFactor]
        pads = [0, 0, 0, 0]
        if o.padding == self.s.Padding.SAME:
            pads = _same_pads(self.shape(x)[1:3], hw, strides, dilations)
        if x in self.folded_pads:  # a zero PAD feeding only convolutions becomes their own padding
            x, extra = self.folded_pads[x]
            pads = [a + b for a, b in zip(pads, extra, strict=True)]
        inputs = [self.name(x), self.initializer(f"w{w_index}", kernel)]
        if b_index >= 0:
            bias = self.const(b_index)
            if bias is None:
                raise ModelLoadError("convolution biases computed at run time are not supported")
            inputs.append(self.initializer(f"c{b_index}", bias))
        attrs = {"kernel_shape": hw, "strides": strides, "dilations": dilations, "pads": pads, "group": group}
        self.activated("Conv", inputs, int(op.outputs[0]), o.fusedActivationFunction, **attrs)

    def _binary(self, op: Any) -> None:
        op_type = {"ADD": "Add", "MUL": "Mul", "SUB": "Sub"}[self.op_names[self.opcode(op)]]
        out = int(op.outputs[0])
        rank = len(self.shape(out))
        if any(self.const(int(i)) is None and len(self.shape(int(i))) != rank for i in op.inputs):
            raise ModelLoadError(f"{op_type} broadcasting activations of different ranks is not supported")
        inputs = [self.operand(int(i), rank) for i in op.inputs]
        self.activated(op_type, inputs, out, op.builtinOptions.fusedActivationFunction)

    def _max_pool(self, op: Any) -> None:
        o, x = op.builtinOptions, int(op.inputs[0])
        kernel, strides = [o.filterHeight, o.filterWidth], [o.strideH, o.strideW]
        pads = [0, 0, 0, 0]
        if o.padding == self.s.Padding.SAME:  # ONNX MaxPool ignores padded cells, as TFLite does
            pads = _same_pads(self.shape(x)[1:3], kernel, strides, [1, 1])
        attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads}
        self.activated("MaxPool", [self.name(x)], int(op.outputs[0]), o.fusedActivationFunction, **attrs)

    def _pad(self, op: Any) -> None:
        x, p = int(op.inputs[0]), int(op.inputs[1])
        paddings = self.const(p)
        if paddings is None or len(op.inputs) > 2:
            raise ModelLoadError("PAD with run-time paddings or a fill value is not supported")
        pairs = [[int(a), int(b)] for a, b in paddings]
        if pairs[0] != [0, 0]:
            raise ModelLoadError("PAD along the batch dimension is not supported")
        if len(pairs) == 4:
            pairs = [pairs[i] for i in _TO_NCHW]
        pads = np.array([a for a, _ in pairs] + [b for _, b in pairs], np.int64)
        out = int(op.outputs[0])
        if len(pairs) == 4 and pairs[1] == [0, 0] and self._only_valid_convs_read(out):
            self.folded_pads[out] = (x, [int(v) for v in pads[[2, 3, 6, 7]]])
            return
        key = "_".join(str(v) for v in pads)
        self.node("Pad", [self.name(x), self.initializer(f"pads_{key}", pads)], self.name(int(op.outputs[0])))

    def _reshape(self, op: Any) -> None:
        x, out = int(op.inputs[0]), int(op.outputs[0])
        in_shape, out_shape = self.shape(x), self.shape(out)
        if in_shape[0] != 1 or out_shape[0] != 1 or min(out_shape) < 0:
            raise ModelLoadError(f"RESHAPE {in_shape} -> {out_shape} does not keep the batch dimension")
        source = self.name(x)
        if len(in_shape) == 4 and not _layout_free(in_shape):
            source = self.node("Transpose", [source], f"t{x}_nhwc", perm=list(_TO_NHWC))
        target = [0, *out_shape[1:]]  # 0 copies the (dynamic) batch dimension
        if len(out_shape) == 4:
            if _layout_free(out_shape):
                target = [target[i] for i in _TO_NCHW]
            else:
                shape_name = self.initializer(f"shape{out}", np.array(target, np.int64))
                nhwc = self.node("Reshape", [source, shape_name], f"t{out}_nhwc")
                self.node("Transpose", [nhwc], self.name(out), perm=list(_TO_NCHW))
                return
        shape_name = self.initializer(f"shape{out}", np.array(target, np.int64))
        self.node("Reshape", [source, shape_name], self.name(out))

    def _concat(self, op: Any) -> None:
        out = int(op.outputs[0])
        rank = len(self.shape(out))
        axis = op.builtinOptions.axis % rank
        if axis == 0:
            raise ModelLoadError("CONCATENATION along the batch dimension is not supported")
        if rank == 4:
            axis = _NCHW_AXIS[axis]
        inputs = [self.operand(int(i), rank) for i in op.inputs]
        self.activated("Concat", inputs, out, op.builtinOptions.fusedActivationFunction, axis=axis)

    def _resize(self, op: Any) -> None:
        x, out = int(op.inputs[0]), int(op.outputs[0])
        (_, in_h, in_w, _), (_, out_h, out_w, _) = self.shape(x), self.shape(out)
        if out_h % in_h or out_w % in_w:
            raise ModelLoadError(
                f"RESIZE_BILINEAR by a non-integer factor ({in_h}x{in_w} -> {out_h}x{out_w})"
            )
        o = op.builtinOptions
        mode = "align_corners" if o.alignCorners else "half_pixel" if o.halfPixelCenters else "asymmetric"
        scales = np.array([1, 1, out_h // in_h, out_w // in_w], np.float32)
        key = f"scales_{out_h // in_h}_{out_w // in_w}"
        inputs = [self.name(x), "", self.initializer(key, scales)]
        self.node("Resize", inputs, self.name(out), mode="linear", coordinate_transformation_mode=mode)

    def _depth_to_space(self, op: Any) -> None:
        x, out = self.name(int(op.inputs[0])), self.name(int(op.outputs[0]))
        block = op.builtinOptions.blockSize  # TFLite's channel order is ONNX's DCR mode
        self.node("DepthToSpace", [x], out, blocksize=block, mode="DCR")

    def _unary(self, op: Any) -> None:
        op_type = {"LOGISTIC": "Sigmoid", "RELU": "Relu", "TANH": "Tanh"}[self.op_names[self.opcode(op)]]
        self.node(op_type, [self.name(int(op.inputs[0]))], self.name(int(op.outputs[0])))

    def _dequantize(self, op: Any) -> None:
        value = self.const(int(op.inputs[0]))
        if value is None or value.dtype != np.float16:
            raise ModelLoadError("only fp16 constant DEQUANTIZE is supported (quantized models are not)")
        self.consts[int(op.outputs[0])] = value.astype(np.float32)

    def _densify(self, op: Any) -> None:
        source, out = int(op.inputs[0]), int(op.outputs[0])
        tensor = self.graph.tensors[source]
        dtype = _DTYPES[self.type_names[int(tensor.type)]]
        values = np.frombuffer(self._buffer(source), dtype)
        dense_format = self.s.DimensionType.DENSE
        self.consts[out] = _densify(values, self.shape(out), tensor.sparsity, dense_format)

    def _only_valid_convs_read(self, index: int) -> bool:
        if index in self.outputs:
            return False
        readers = [op for op in self.graph.operators if index in [int(i) for i in op.inputs]]
        convs = ("CONV_2D", "DEPTHWISE_CONV_2D")
        return all(
            self.op_names[self.opcode(op)] in convs
            and op.builtinOptions.padding == self.s.Padding.VALID
            and int(op.inputs[0]) == index
            for op in readers
        )

    # --- graph --------------------------------------------------------------------------------------
    def opcode(self, op: Any) -> int:
        code = self.model.operatorCodes[op.opcodeIndex]
        return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))

    def _value_info(self, index: int) -> onnx.ValueInfoProto:
        dims: list[int | str] = [BATCH_DIM, *self.shape(index)[1:]]
        return helper.make_tensor_value_info(self.tensor_name(index), TensorProto.FLOAT, dims)

    def convert(self) -> onnx.GraphProto:
        for index in self.inputs:
            if len(self.shape(index)) == 4:
                self.node("Transpose", [self.tensor_name(index)], self.name(index), perm=list(_TO_NCHW))
        for op in self.graph.operators:
            kind = self.op_names.get(self.opcode(op), "CUSTOM")
            if kind not in self.handlers:
                raise ModelLoadError(
                    f"it uses the TFLite op {kind}, which Spotter's ONNX converter does not support"
                )
            self.handlers[kind](op)
        for index in self.outputs:
            if len(self.shape(index)) == 4:
                self.node("Transpose", [self.name(index)], self.tensor_name(index), perm=list(_TO_NHWC))
        name = bytes(self.graph.name or b"main").decode("utf-8", "replace")
        return helper.make_graph(
            self.nodes,
            name,
            [self._value_info(i) for i in self.inputs],
            [self._value_info(i) for i in self.outputs],
            initializer=list(self.initializers.values()),
        )


def _parse(schema: ModuleType, raw: bytes, source: Path) -> Any:
    if len(raw) < 8 or not schema.Model.ModelBufferHasIdentifier(raw, 0):
        raise ModelLoadError(f"{source} is not a TFLite model (no 'TFL3' identifier). {FIX_HINT}")
    try:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    except _PARSE_ERRORS as exc:
        raise ModelLoadError(f"{source} is truncated or corrupt ({exc!r}). {FIX_HINT}") from exc
    if not model.subgraphs:
        raise ModelLoadError(f"{source} has no subgraph. {FIX_HINT}")
    return model


def tflite_to_onnx_model(tflite_path: Path) -> onnx.ModelProto:
    """Translate ``tflite_path`` into an in-memory ONNX model; raises ``ModelLoadError``."""
    schema = _schema()
    try:
        raw = tflite_path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"Cannot read {tflite_path}: {exc}. {FIX_HINT}") from exc
    model = _parse(schema, raw, tflite_path)
    try:
        graph = _Converter(schema, model, raw).convert()
    except ModelLoadError as exc:
        raise ModelLoadError(f"Cannot convert {tflite_path.name} to ONNX: {exc}") from exc
    except _PARSE_ERRORS as exc:
        raise ModelLoadError(f"{tflite_path} is truncated or corrupt ({exc!r}). {FIX_HINT}") from exc
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="spotter-tflite2onnx",
        producer_version=str(CONVERTER_VERSION),
        ir_version=IR_VERSION,
    )
    helper.set_model_props(onnx_model, {"source_sha256": hashlib.sha256(raw).hexdigest()})
    try:
        onnx.checker.check_model(onnx_model)
    except onnx.checker.ValidationError as exc:
        raise ModelLoadError(f"Converting {tflite_path.name} produced an invalid ONNX graph: {exc}") from exc
    return onnx_model


def convert_tflite_to_onnx(tflite_path: Path, onnx_path: Path) -> None:
    """Convert one BlazePose tflite into a deterministic ONNX file (written atomically)."""
    model = tflite_to_onnx_model(tflite_path)
    write_atomic(onnx_path, model.SerializeToString(deterministic=True))


def _stamp(tflite_path: Path) -> str:
    return f"{sha256_of(tflite_path)}  {tflite_path.name}  spotter-tflite2onnx/{CONVERTER_VERSION}\n"


def ensure_onnx_models(directory: Path | None = None) -> dict[str, str]:
    """Convert every ``pose_*.tflite`` in the model cache to ``pose_*.onnx`` when missing or stale.

    A sidecar ``pose_*.onnx.sha256`` records the source's sha256 and the converter version. Returns,
    per ONNX file name, 'converted', 'up-to-date' or 'failed' (the reason is logged; a failed file's
    stale ONNX and sidecar are removed so nothing mismatched is loaded).
    """
    base = directory or model_dir()
    status: dict[str, str] = {}
    for tflite_path in sorted(base.glob("pose_*.tflite")):
        onnx_path = tflite_path.with_suffix(".onnx")
        sidecar = onnx_path.with_name(onnx_path.name + ".sha256")
        stamp = _stamp(tflite_path)
        if onnx_path.is_file() and sidecar.is_file() and sidecar.read_text(encoding="utf-8") == stamp:
            status[onnx_path.name] = "up-to-date"
            continue
        sidecar.unlink(missing_ok=True)  # a crash mid-conversion must not leave a matching stamp
        try:
            convert_tflite_to_onnx(tflite_path, onnx_path)
        except ModelLoadError as exc:
            log.error("ONNX conversion of %s failed: %s", tflite_path.name, exc)
            onnx_path.unlink(missing_ok=True)
            status[onnx_path.name] = "failed"
            continue
        write_atomic(sidecar, stamp.encode("utf-8"))
        log.info("converted %s to %s", tflite_path.name, onnx_path.name)
        status[onnx_path.name] = "converted"
    return status
