"""Counting accuracy on the shared real clips, with the exercise given and without.

usage: .venv/bin/python bench/accuracy.py [--backend litert] [--model full] [--fps 15] [--only NAME ...]

Poses are estimated once per clip and cached in bench/out/ (keyed by the video's size and mtime,
backend, model and rate), so re-running after a counting change takes seconds. Scores cover the
clips counted by hand with high or medium-high confidence; the others are listed for reference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine.events import RepDetail  # noqa: E402
from app.engine.exercises import features as feat  # noqa: E402
from app.engine.exercises.recognize import recognize_exercise  # noqa: E402
from app.engine.exercises.spec import catalogue  # noqa: E402
from app.engine.offline import PoseTrack, count_track, estimate_track  # noqa: E402
from app.engine.pose.estimators import create_estimator  # noqa: E402
from app.engine.pose.types import Pose  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
SCORED = ("high", "medium-high")


@dataclass
class Row:
    name: str
    exercise: str
    confidence: str
    truth: int | None
    given: int
    recognised: str
    recognised_conf: float
    auto: int
    partial: int
    holds: list[tuple[float, float]]
    baseline: int = 0


def cache_path(video: Path, args: argparse.Namespace) -> Path:
    st = video.stat()
    return OUT / f"{video.stem}.{args.backend}-{args.model}-{args.fps:g}.{st.st_size}-{int(st.st_mtime)}.npz"


def load_track(video: Path, args: argparse.Namespace) -> PoseTrack:
    path = cache_path(video, args)
    if path.exists():
        d = np.load(path)
        size = (int(d["size"][0]), int(d["size"][1]))
        poses: list[Pose | None] = []
        for i in range(len(d["t"])):
            if np.isnan(d["image"][i, 0, 0]):
                poses.append(None)
            else:
                poses.append(
                    Pose(d["image"][i], d["world"][i], d["vis"][i], d["pres"][i], float(d["score"][i]), size)
                )
        return PoseTrack([float(t) for t in d["t"]], poses, size)
    estimator = create_estimator(args.backend, args.model, threads=2)
    try:
        _, track, _ = estimate_track(video, estimator, target_fps=args.fps)
    finally:
        estimator.close()
    n = len(track.poses)
    image = np.full((n, 33, 3), np.nan, np.float32)
    world = np.full((n, 33, 3), np.nan, np.float32)
    vis = np.zeros((n, 33), np.float32)
    pres = np.zeros((n, 33), np.float32)
    score = np.zeros(n, np.float32)
    for i, p in enumerate(track.poses):
        if p is not None:
            image[i], world[i], vis[i], pres[i], score[i] = (
                p.image,
                p.world,
                p.visibility,
                p.presence,
                p.score,
            )
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        t=np.array(track.times),
        image=image,
        world=world,
        vis=vis,
        pres=pres,
        score=score,
        size=np.array(track.image_size),
    )
    return track


def baseline_count(track: PoseTrack, exercise: str) -> int:
    """The common open-source recipe, for comparison: the primary joint angle in the image plane on
    the more visible side, lightly smoothed, and two fixed textbook thresholds."""
    spec = catalogue()[exercise]
    if spec.movement is None or spec.movement.primary.kind != "angle":
        return 0
    signal = spec.movement.primary
    a, b, c = signal.joints
    t = track.to_track()
    sides = [feat.side_angle(t, (a, b, c), s, world=False) for s in feat.SIDES]
    vis = [np.nan_to_num(feat.side_visibility(t, (a, b, c), s)) for s in feat.SIDES]
    angle = np.where(vis[0] >= vis[1], sides[0], sides[1])
    if signal.rest == "high":
        rest_thr, turn_thr, sign = 160.0, 160.0 - 0.75 * signal.typical_rom, 1.0
    else:
        rest_thr, turn_thr, sign = -30.0, -(30.0 + 0.75 * signal.typical_rom), -1.0
    count, down, ema = 0, False, None
    for value in sign * angle:
        if not np.isfinite(value):
            continue
        ema = value if ema is None else 0.5 * value + 0.5 * ema
        if not down and ema < turn_thr:
            down = True
        elif down and ema > rest_thr:
            down, count = False, count + 1
    return count


def hold_iou(found: list[tuple[float, float]], truth: object, step: float = 0.1) -> float:
    """Intersection over union of the time covered by holds (nan without a hand-marked truth)."""
    if not isinstance(truth, list) or not truth:
        return float("nan")
    end = max([e for _, e in found] + [float(e) for _, e in truth]) + step
    grid = np.arange(0.0, end, step)
    a = np.zeros(grid.shape, bool)
    b = np.zeros(grid.shape, bool)
    for s, e in found:
        a |= (grid >= s) & (grid < e)
    for s, e in truth:
        b |= (grid >= float(s)) & (grid < float(e))
    return float((a & b).sum() / max((a | b).sum(), 1))


def rates(rows: list[Row], count: str) -> tuple[float, float, float, int]:
    scored = [r for r in rows if r.confidence in SCORED and r.truth]
    if not scored:
        return float("nan"), float("nan"), float("nan"), 0
    got = [getattr(r, count) for r in scored]
    exact = float(np.mean([g == r.truth for g, r in zip(got, scored, strict=True)]))
    off1 = float(np.mean([abs(g - r.truth) <= 1 for g, r in zip(got, scored, strict=True)]))
    err = float(np.mean([abs(g - r.truth) / r.truth for g, r in zip(got, scored, strict=True)]))
    return exact, off1, err, len(scored)


def print_table(rows: list[Row]) -> None:
    print(
        f"\n{'exercise':18s} {'clips':>5s}  {'given: exact':>12s} {'off-by-1':>8s} {'error':>6s}   "
        f"{'auto: exact':>11s} {'off-by-1':>8s} {'error':>6s}   {'recipe: exact':>13s} {'off-by-1':>8s} {'error':>6s}"
    )
    groups = sorted({r.exercise for r in rows})
    for ex in [*groups, "ALL"]:
        sel = rows if ex == "ALL" else [r for r in rows if r.exercise == ex]
        g = rates(sel, "given")
        a = rates(sel, "auto")
        b = rates(sel, "baseline")
        if g[3] == 0:
            continue
        print(
            f"{ex:18s} {g[3]:5d}  {g[0]:12.2f} {g[1]:8.2f} {g[2]:6.3f}   {a[0]:11.2f} {a[1]:8.2f} {a[2]:6.3f}"
            f"   {b[0]:13.2f} {b[1]:8.2f} {b[2]:6.3f}"
        )


def form_report(name: str, clip: dict[str, object], analyzer_reps: list[RepDetail]) -> None:
    form = clip.get("form")
    if not isinstance(form, dict):
        return
    good = [float(x) for x in form.get("good", [])]
    bad = [float(x) for x in form.get("bad", [])]
    print(f"\n{name}: manifest fault '{form.get('fault')}', bad reps at {bad}")
    hits = tp = fp = 0
    for rep in analyzer_reps:
        turn = rep.turn_s
        faults = list(rep.faults)
        truth = min(((abs(turn - b), "bad") for b in bad), default=(1e9, "bad"))
        near_good = min(((abs(turn - g), "good") for g in good), default=(1e9, "good"))
        label = truth[1] if truth[0] < near_good[0] else near_good[1]
        flagged = bool(faults)
        hits += flagged == (label == "bad")
        tp += flagged and label == "bad"
        fp += flagged and label == "good"
        print(f"  rep {rep.index:2d} turn {turn:5.1f} s  manifest {label:4s}  flagged {faults or '-'}")
    print(
        f"  agreement {hits}/{len(analyzer_reps)}, bad reps flagged {tp}/{len(bad)}, good reps flagged {fp}/{len(good)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="litert")
    parser.add_argument("--model", default="full")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    clips = json.loads((DATA / "clips.json").read_text())
    known = catalogue()
    rows: list[Row] = []
    t0 = time.perf_counter()
    form_clips: dict[str, tuple[dict[str, object], list[RepDetail]]] = {}
    for clip in clips:
        name = clip["file"].rsplit(".", 1)[0]
        if args.only and not any(o in name for o in args.only):
            continue
        if clip["exercise"] not in known:
            print(f"{name}: exercise {clip['exercise']!r} not in the catalogue, skipped")
            continue
        track = load_track(DATA / "videos" / clip["file"], args)
        given, _ = count_track(track, clip["exercise"])
        recognised, conf = recognize_exercise(track.to_track())
        auto, _ = count_track(track, recognised)
        row = Row(
            name,
            clip["exercise"],
            clip["confidence"],
            clip["reps"],
            len(given.reps),
            recognised,
            conf,
            len(auto.reps),
            len(given.partial_reps),
            given.holds,
            baseline_count(track, clip["exercise"]),
        )
        rows.append(row)
        if clip.get("form"):
            form_clips[name] = (clip, list(given.reps))
        mark = (
            ""
            if row.truth is None
            else ("ok " if row.given == row.truth else ("~1 " if abs(row.given - row.truth) == 1 else "XX "))
        )
        hold = (
            f" holds {[(round(a, 1), round(b, 1)) for a, b in row.holds]} vs {clip.get('hold_s')}"
            f" (time IoU {hold_iou(row.holds, clip.get('hold_s')):.2f})"
            if clip["exercise"] == "plank"
            else ""
        )
        print(
            f"{mark:3s}{name:20s} {row.exercise:16s} true {row.truth!s:>4s} given {row.given:3d} partial {row.partial:2d} | "
            f"recognised {recognised:16s} ({conf:.2f}) -> {row.auto:3d}  [{row.confidence}]{hold}",
            flush=True,
        )
    print_table(rows)
    rec = [r for r in rows if r.confidence in SCORED]
    rec_all = float(np.mean([r.recognised == r.exercise for r in rows])) if rows else float("nan")
    rec_scored = float(np.mean([r.recognised == r.exercise for r in rec])) if rec else float("nan")
    print(
        f"\nrecognition accuracy: {rec_scored:.2f} on scored clips ({len(rec)}), {rec_all:.2f} on all ({len(rows)})"
    )
    for name, (clip, reps) in form_clips.items():
        form_report(name, clip, reps)
    print(
        f"\n{len(rows)} clips in {time.perf_counter() - t0:.0f} s ({args.backend}/{args.model}, {args.fps:g} poses/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
