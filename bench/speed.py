"""Speed on this machine: offline analysis, the live pipeline, memory, and the MediaPipe baseline.

usage: .venv/bin/python bench/speed.py [--clips jumpingjack_01.mp4 pushup_03.mp4] [--seconds 20]

Each scenario runs in its own process so peak memory (max RSS) is its own. Offline analysis is
timed on 720p 30 fps clips; the live pipeline plays a 720p clip as a camera (real-time pacing,
latest-wins) and reports processed fps, drops, frame-to-event latency and per-stage times, for
Spotter's LiteRT path and for MediaPipe Tasks on the same clip.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VIDEOS = ROOT.parent / "shared" / "data" / "videos"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_offline(clip: str, backend: str, model: str) -> dict[str, Any]:
    from app.engine.offline import analyze_video
    from app.engine.pose.estimators import create_estimator

    estimator = create_estimator(backend, model, threads=2)
    t0 = time.perf_counter()
    result = analyze_video(VIDEOS / clip, estimator, exercise=None)
    wall = time.perf_counter() - t0
    estimator.close()
    return {
        "scenario": "offline",
        "clip": clip,
        "backend": f"{backend}/{model}",
        "video_s": round(result.info.duration_s, 2),
        "wall_s": round(wall, 2),
        "realtime_x": round(result.info.duration_s / wall, 2),
        "reps": len(result.analyzer.reps),
        "stage_ms": {k: round(v, 2) for k, v in result.stage_ms.items()},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def run_live(clip: str, backend: str, model: str, seconds: float) -> dict[str, Any]:
    from app.engine.capture import OpenCvFrameSource
    from app.engine.events import Event, PipelineStats, RepCounted, StreamEnded
    from app.engine.exercises.analyzer import ExerciseAnalyzer
    from app.engine.exercises.spec import get_spec
    from app.engine.pipeline import LivePipeline, PoseFrameProcessor
    from app.engine.pose.estimators import create_estimator
    from app.engine.sinks import ListSink

    estimator = create_estimator(backend, model, threads=2)
    source = OpenCvFrameSource(VIDEOS / clip, realtime=True)
    processor = PoseFrameProcessor(estimator, ExerciseAnalyzer(get_spec("jumping_jack")))
    sink = ListSink()
    pipeline = LivePipeline(source, processor, sink)
    t0 = time.perf_counter()
    pipeline.start()
    pipeline.join(timeout=seconds)
    pipeline.stop()
    pipeline.join(timeout=5)
    wall = time.perf_counter() - t0
    estimator.close()
    stats = [e for e in sink.events if isinstance(e, PipelineStats)]
    events: list[Event] = list(sink.events)
    steady = stats[1:] or stats  # the first interval includes model warm-up
    frames = stats[-1].frames if stats else 0
    return {
        "scenario": "live",
        "clip": clip,
        "backend": f"{backend}/{model}",
        "wall_s": round(wall, 2),
        "frames": frames,
        "dropped": stats[-1].dropped if stats else 0,
        "fps": round(sum(s.fps for s in steady) / max(len(steady), 1), 1),
        "latency_p50_ms": round(max((s.latency_p50_ms for s in steady), default=0.0), 1),
        "latency_p95_ms": round(max((s.latency_p95_ms for s in steady), default=0.0), 1),
        "stage_ms": {
            k: round(sum(s.stage_ms.get(k, 0.0) for s in steady) / max(len(steady), 1), 2)
            for k in (steady[-1].stage_ms if steady else {})
        },
        "reps": sum(isinstance(e, RepCounted) for e in events),
        "ended": next((e.reason for e in events if isinstance(e, StreamEnded)), None),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def child(args: argparse.Namespace) -> int:
    if args.scenario == "offline":
        out = run_offline(args.clip, args.backend, args.model)
    else:
        out = run_live(args.clip, args.backend, args.model, args.seconds)
    print(json.dumps(out))
    return 0


def spawn(*argv: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"], "argv": argv}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=("offline", "live"))
    parser.add_argument("--clip")
    parser.add_argument("--backend", default="litert")
    parser.add_argument("--model", default="full")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--clips", nargs="*", default=["jumpingjack_01.mp4", "pushup_03.mp4", "sidelunge_01.mp4"]
    )
    parser.add_argument("--live-clip", default="jumpingjack_01.mp4")
    args = parser.parse_args()
    if args.scenario:
        return child(args)

    print("offline analysis (exercise recognised, 15 poses/s), 720p clips:")
    for clip in args.clips:
        r = spawn("--scenario", "offline", "--clip", clip)
        print("  " + json.dumps(r))
    print(f"live pipeline, {args.live_clip} played as a 720p camera, {args.seconds:g} s:")
    results = {}
    for backend in ("litert", "mediapipe"):
        r = spawn("--scenario", "live", "--clip", args.live_clip, "--backend", backend,
                  "--seconds", str(args.seconds))  # fmt: skip
        results[backend] = r
        print("  " + json.dumps(r))
    lite, mp = results["litert"], results["mediapipe"]
    if "fps" in lite and "fps" in mp and mp["fps"]:
        print(
            f"ratio Spotter/MediaPipe: fps x{lite['fps'] / mp['fps']:.2f}, "
            f"pose ms x{mp['stage_ms'].get('pose', 0) / max(lite['stage_ms'].get('pose', 1e-9), 1e-9):.2f} faster, "
            f"p95 latency {lite['latency_p95_ms']} vs {mp['latency_p95_ms']} ms, "
            f"memory {lite['peak_rss_mb']} vs {mp['peak_rss_mb']} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
