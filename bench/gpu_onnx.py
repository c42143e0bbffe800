"""Throughput of the converted BlazePose landmark model on a GPU, batched (offline analysis).

ONNX Runtime on the lent GPU machine has no CUDA provider, so the same ONNX graph (produced by
app/engine/pose/onnx_export.py, dynamic batch) runs through PyTorch via the small onnx2torch wheel.
Needs: torch, onnx2torch, onnx, numpy. Runs on CPU too (for checking the script), but the figure
to report is the CUDA one, with the card's name.

usage: python bench/gpu_onnx.py MODEL_DIR [--batches 1 16 64 256 1024] [--seconds 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def _torchvision_or_stub() -> None:
    """onnx2torch imports torchvision for its NMS and RoIAlign converters only, which BlazePose does
    not use; where torchvision is missing or broken (PyPI's beside a local torch build), stand in."""
    import sys
    import types

    try:
        import torchvision  # noqa: F401
    except (ImportError, RuntimeError):
        for name in ("torchvision", "torchvision.ops"):
            sys.modules.pop(name, None)

        def unavailable(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("torchvision is not available")

        ops = types.ModuleType("torchvision.ops")
        for op in ("nms", "batched_nms", "roi_align"):
            setattr(ops, op, unavailable)
        stub = types.ModuleType("torchvision")
        stub.__dict__["ops"] = ops
        sys.modules["torchvision"] = stub
        sys.modules["torchvision.ops"] = ops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--model", default="full")
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 16, 64, 256, 1024])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--fp16", action="store_true")
    args = parser.parse_args()

    import onnx
    import torch

    _torchvision_or_stub()
    from onnx2torch import convert

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    card = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU"
    graph = onnx.load(str(args.model_dir / f"pose_landmark_{args.model}.onnx"))
    net = convert(graph).eval().to(device)
    dtype = torch.float16 if args.fp16 and device.type == "cuda" else torch.float32
    net = net.to(dtype)
    rng = np.random.default_rng(0)
    print(f"device: {card}; model pose_landmark_{args.model}.onnx; dtype {dtype}; torch {torch.__version__}")
    # correctness: batch of 4 equals 4 single runs
    x = torch.from_numpy(rng.random((4, 256, 256, 3), dtype=np.float32)).to(device, dtype)
    with torch.inference_mode():
        batched = net(x)[0].float()
        single = torch.cat([net(x[i : i + 1])[0].float() for i in range(4)])
    err = float((batched - single).abs().max() / single.abs().max().clamp(min=1e-6))
    print(f"batch-of-4 vs single runs: max relative difference {err:.2e}")
    for batch in args.batches:
        x = torch.from_numpy(rng.random((batch, 256, 256, 3), dtype=np.float32)).to(device, dtype)
        with torch.inference_mode():
            net(x)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds:
                net(x)
                n += 1
            if device.type == "cuda":
                torch.cuda.synchronize()
            wall = time.perf_counter() - t0
        print(f"batch {batch:5d}: {1000 * wall / n:8.2f} ms/batch, {batch * n / wall:9.0f} crops/s  ({card})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
