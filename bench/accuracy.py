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
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine.events import RepDetail  # noqa: E402
from app.engine.exercises import features as feat  # noqa: E402
from app.engine.exercises.anymove import ANY, RECOGNITION_MIN_CONFIDENCE, UNKNOWN  # noqa: E402
from app.engine.exercises.recognize import recognize_exercise  # noqa: E402
from app.engine.exercises.spec import catalogue  # noqa: E402
from app.engine.offline import PoseTrack, count_track, estimate_track  # noqa: E402
from app.engine.pose.blazepose import BlazePoseConfig  # noqa: E402
from app.engine.pose.estimators import create_estimator  # noqa: E402
from app.engine.pose.exposure import VERSION as EXPOSURE_VERSION  # noqa: E402
from app.engine.pose.types import Pose  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
REVIEW = ROOT / "bench" / "label_review.toml"
SCORED = ("high", "medium-high")


@dataclass
class Row:
    name: str
    exercise: str
    view: str
    confidence: str
    truth: int | None
    given: int | None  # None: the exercise is not in the catalogue
    recognised: str
    recognised_conf: float
    auto: int
    any: int
    partial: int
    holds: list[tuple[float, float]]
    baseline: int | None = None


def view_of(text: str) -> str:
    """A clip's view, in four kinds: oblique, front, side, mixed (changes during the clip)."""
    t = text.lower()
    named = [
        part
        for part in t.split(",")
        if any(w in part for w in ("front", "side", "oblique", "3/4", "back", "deg"))
    ]
    if "then" in t or "/" in t.replace("3/4", "") or "+" in t or len(named) > 1:
        return "mixed"
    if "oblique" in t or "3/4" in t:
        return "oblique"
    if "side" in t:
        return "side"
    return "front"


def pose_key(video: Path, args: argparse.Namespace) -> str:
    """What the cached poses of a clip depend on: the pose runtime, its front end and the video file."""
    st = video.stat()
    front = f"-exposure{EXPOSURE_VERSION}" if BlazePoseConfig().auto_exposure else ""
    return f"{args.backend}-{args.model}-{args.fps:g}{front}.{st.st_size}-{int(st.st_mtime)}"


def cache_path(video: Path, args: argparse.Namespace) -> Path:
    return OUT / f"{video.stem}.{pose_key(video, args)}.npz"


def read_poses(path: Path) -> PoseTrack:
    """A pose track saved by ``save_poses``."""
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


def save_poses(path: Path, track: PoseTrack) -> None:
    """A pose track as arrays (a missing pose: NaN landmarks), for ``read_poses``."""
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
    path.parent.mkdir(parents=True, exist_ok=True)
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


def load_track(video: Path, args: argparse.Namespace) -> PoseTrack:
    path = cache_path(video, args)
    if path.exists():
        return read_poses(path)
    estimator = create_estimator(args.backend, args.model, threads=2)
    try:
        _, track, _ = estimate_track(video, estimator, target_fps=args.fps)
    finally:
        estimator.close()
    save_poses(path, track)
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
    scored = [r for r in rows if r.confidence in SCORED and r.truth and getattr(r, count) is not None]
    if not scored:
        return float("nan"), float("nan"), float("nan"), 0
    got = [getattr(r, count) for r in scored]
    exact = float(np.mean([g == r.truth for g, r in zip(got, scored, strict=True)]))
    off1 = float(np.mean([abs(g - r.truth) <= 1 for g, r in zip(got, scored, strict=True)]))
    err = float(np.mean([abs(g - r.truth) / r.truth for g, r in zip(got, scored, strict=True)]))
    return exact, off1, err, len(scored)


COUNTS = (("given", "given"), ("auto", "recognised"), ("any", "any movement"), ("baseline", "recipe"))


def print_table(rows: list[Row], key: str, groups: list[str]) -> None:
    """Exact / within one / relative error per group, for each way of counting (n = scored clips)."""
    head = "".join(f" | {label + ': n exact ±1 error':>30s}" for _, label in COUNTS)
    print(f"\n{key:26s}{head}")
    for group in [*groups, "ALL"]:
        sel = rows if group == "ALL" else [r for r in rows if getattr(r, key) == group]
        cells = []
        for count, _ in COUNTS:
            e, o, err, n = rates(sel, count)
            cells.append(f" | {n:12d} {e:5.2f} {o:5.2f} {err:5.3f}" if n else f" | {'-':>30s}")
        if any(c.strip(" |-") for c in cells):
            print(f"{group:26s}{''.join(cells)}")


def reviewed_line(rows: list[Row]) -> None:
    """The exercise-given figures again, against the counts of bench/label_review.toml."""
    review = {c["file"].rsplit(".", 1)[0]: c for c in tomllib.loads(REVIEW.read_text())["clip"]}
    changed = [r.name for r in rows if r.name in review]
    if not changed:
        return
    fixed = [replace(r, truth=int(review[r.name]["reviewed"])) if r.name in review else r for r in rows]
    e, o, err, n = rates(fixed, "given")
    print(
        f"exercise given, with the reviewed counts of {', '.join(changed)} (bench/label_review.toml): "
        f"n {n} exact {e:.2f} within one {o:.2f} error {err:.3f}"
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
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=RECOGNITION_MIN_CONFIDENCE,
        help="below this recognition confidence the any-movement counter counts",
    )
    args = parser.parse_args()
    clips = json.loads((DATA / "clips.json").read_text())
    known = catalogue()
    rows: list[Row] = []
    t0 = time.perf_counter()
    counting_s = video_s = 0.0
    form_clips: dict[str, tuple[dict[str, object], list[RepDetail]]] = {}
    for clip in clips:
        name = clip["file"].rsplit(".", 1)[0]
        if args.only and not any(o in name for o in args.only):
            continue
        track = load_track(DATA / "videos" / clip["file"], args)
        t1 = time.perf_counter()
        in_catalogue = clip["exercise"] in known
        given = count_track(track, clip["exercise"])[0] if in_catalogue else None
        recognised, conf = recognize_exercise(track.to_track())
        if conf < args.min_confidence:
            recognised = UNKNOWN
        auto, _ = count_track(track, recognised)
        anything, _ = count_track(track, ANY)
        counting_s += time.perf_counter() - t1
        video_s += track.times[-1] - track.times[0] if track.times else 0.0
        row = Row(
            name,
            clip["exercise"],
            view_of(str(clip.get("view", ""))),
            clip["confidence"],
            clip["reps"],
            len(given.reps) if given is not None else None,
            recognised,
            conf,
            len(auto.reps),
            len(anything.reps),
            len(given.partial_reps) if given is not None else 0,
            given.holds if given is not None else [],
            baseline_count(track, clip["exercise"]) if in_catalogue else None,
        )
        rows.append(row)
        if clip.get("form") and given is not None:
            form_clips[name] = (clip, list(given.reps))
        shown = row.given if row.given is not None else row.any
        mark = (
            ""
            if row.truth is None
            else ("ok " if shown == row.truth else ("~1 " if abs(shown - row.truth) == 1 else "XX "))
        )
        hold = (
            f" holds {[(round(a, 1), round(b, 1)) for a, b in row.holds]} vs {clip.get('hold_s')}"
            f" (time IoU {hold_iou(row.holds, clip.get('hold_s')):.2f})"
            if clip["exercise"] == "plank"
            else ""
        )
        print(
            f"{mark:3s}{name:22s} {row.exercise:26s} {row.view:7s} true {row.truth!s:>4s} "
            f"given {row.given!s:>4s} partial {row.partial:2d} any {row.any:3d} | "
            f"recognised {recognised:26s} ({conf:.2f}) -> {row.auto:3d}  [{row.confidence}]{hold}",
            flush=True,
        )
    print_table(rows, "exercise", sorted({r.exercise for r in rows}))
    print_table(rows, "view", ["front", "side", "oblique", "mixed"])
    known_rows = [r for r in rows if r.given is not None]
    rec = [r for r in known_rows if r.confidence in SCORED]
    rec_all = float(np.mean([r.recognised == r.exercise for r in known_rows])) if known_rows else float("nan")
    rec_scored = float(np.mean([r.recognised == r.exercise for r in rec])) if rec else float("nan")
    print(
        f"\nrecognition accuracy (exercises in the catalogue): {rec_scored:.2f} on scored clips ({len(rec)}), "
        f"{rec_all:.2f} on all ({len(known_rows)}); below confidence {args.min_confidence:g} -> any movement"
    )
    print(
        f"counting speed: {video_s:.0f} s of video counted 4 ways in {counting_s:.1f} s "
        f"({video_s / max(counting_s, 1e-9):.0f}x real time, poses from the cache)"
    )
    reviewed_line(rows)
    for name, (clip, reps) in form_clips.items():
        form_report(name, clip, reps)
    print(
        f"\n{len(rows)} clips in {time.perf_counter() - t0:.0f} s ({args.backend}/{args.model}, {args.fps:g} poses/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
