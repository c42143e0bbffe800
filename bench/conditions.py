"""Counting under conditions the shared clips do not show: the same real clips, made into the kinds of
video issue 18 found failing on unseen clips, with the hand counts unchanged.

usage: .venv/bin/python bench/conditions.py [--only NAME ...] [--conditions a,b,...] [--fps 15]

Each condition keeps every rep of the clip, so the hand count still holds:

- picture (poses estimated afresh from the changed frames, cached in bench/out/):
  ``lowres`` the frame shrunk to 240 pixels on its short side (a 240x424 portrait phone video);
  ``dark`` a dim, noisy, low-contrast picture (a gym at night, a cheap webcam's gain);
  ``tilted`` the camera rolled 12 degrees (a phone leant against a bottle);
  ``mirrored`` left and right swapped (a selfie camera).
- time (the clip's own poses, retimed):
  ``faster`` the second half played at twice the speed, no quicker than 0.9 s a rep (a cadence that
  doubles within the set);
  ``slower`` the whole clip at half speed, poses interpolated (slow, controlled reps);
  ``paused`` the pose at the clip's middle held still for 6 s (a long hold at whatever point of a rep
  the middle falls: the bottom, the top, on the way).

Exercise given and recognised, per condition: exact, within one, relative error, and the clips whose count
changed from the unchanged clip's. Nothing is tuned on these: they are a check of what the counters do
on video they were not built on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from accuracy import DATA, OUT, SCORED, load_track, pose_key, read_poses, save_poses  # noqa: E402
from retime import faster, paused, slower  # noqa: E402

from app.engine.exercises.anymove import RECOGNITION_MIN_CONFIDENCE, UNKNOWN  # noqa: E402
from app.engine.exercises.recognize import recognize_exercise  # noqa: E402
from app.engine.exercises.spec import catalogue  # noqa: E402
from app.engine.offline import PoseTrack, count_track, iter_frames, probe  # noqa: E402
from app.engine.pose.estimators import create_estimator  # noqa: E402

Frame = np.ndarray


def lowres(rgb: Frame) -> Frame:
    h, w = rgb.shape[:2]
    scale = 240.0 / min(h, w)
    if scale >= 1.0:
        return rgb
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def dark(rgb: Frame, rng: np.random.Generator) -> Frame:
    x = rgb.astype(np.float32) / 255.0
    x = 0.35 * np.power(x, 1.4) + 0.04  # dim, flat, the blacks lifted
    x = x + rng.normal(0.0, 0.025, x.shape).astype(np.float32)  # sensor noise at high gain
    return np.asarray(np.clip(x * 255.0, 0, 255), np.uint8)


def tilted(rgb: Frame) -> Frame:
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 12.0, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def mirrored(rgb: Frame) -> Frame:
    return np.ascontiguousarray(rgb[:, ::-1])


def picture_condition(name: str) -> Callable[[Frame, np.random.Generator], Frame]:
    plain: dict[str, Callable[[Frame], Frame]] = {"lowres": lowres, "tilted": tilted, "mirrored": mirrored}
    if name == "dark":
        return dark
    return lambda rgb, _rng: plain[name](rgb)


def estimate_changed(video: Path, condition: str, args: argparse.Namespace) -> PoseTrack:
    """Poses of the clip's frames changed by a picture condition, cached beside accuracy.py's."""
    path = OUT / f"{video.stem}.{condition}.{pose_key(video, args)}.npz"
    if path.exists():
        return read_poses(path)
    change = picture_condition(condition)
    rng = np.random.default_rng(0)
    info = probe(video)
    stride = max(1, round(info.fps / args.fps))
    estimator = create_estimator(args.backend, args.model, threads=2)
    track = PoseTrack()
    try:
        for index, rgb in iter_frames(video, stride):
            frame = change(rgb, rng)
            track.image_size = (frame.shape[1], frame.shape[0])
            track.times.append(index / info.fps)
            track.poses.append(estimator.estimate(frame, index / info.fps))
    finally:
        estimator.close()
    save_poses(path, track)
    return track


TIME = {"faster": lambda track: track, "slower": slower, "paused": paused}  # faster: by the clip's reps
PICTURE = ("lowres", "dark", "tilted", "mirrored")
ALL = ("unchanged", *PICTURE, *TIME)


@dataclass
class Result:
    clip: str
    condition: str
    truth: int
    given: int
    recognised: int


def clips(only: list[str]) -> Iterator[dict[str, object]]:
    known = catalogue()
    for clip in json.loads((DATA / "clips.json").read_text()):
        name = str(clip["file"]).rsplit(".", 1)[0]
        if clip["confidence"] not in SCORED or not clip["reps"] or clip["exercise"] not in known:
            continue
        if only and not any(o in name for o in only):
            continue
        yield clip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="litert")
    parser.add_argument("--model", default="full")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--conditions", default=",".join(ALL))
    parser.add_argument("--given-only", action="store_true", help="skip recognition (quicker)")
    args = parser.parse_args()
    wanted = [c for c in args.conditions.split(",") if c]
    unknown = set(wanted) - set(ALL)
    if unknown:
        parser.error(f"unknown conditions {sorted(unknown)}; known: {', '.join(ALL)}")
    if "unchanged" not in wanted:
        wanted.insert(0, "unchanged")
    results: list[Result] = []
    t0 = time.perf_counter()
    for clip in clips(args.only):
        video = DATA / "videos" / str(clip["file"])
        name = video.stem
        base = load_track(video, args)
        line = [f"{name:22s} true {clip['reps']!s:>3s}"]
        for condition in wanted:
            if condition == "unchanged":
                track = base
            elif condition == "faster":
                track = faster(base, int(str(clip["reps"])))
            elif condition in TIME:
                track = TIME[condition](base)
            else:
                track = estimate_changed(video, condition, args)
            given = len(count_track(track, str(clip["exercise"]))[0].reps)
            recognised = -1
            if not args.given_only:
                ranked, conf = recognize_exercise(track.to_track())
                exercise = ranked if conf >= RECOGNITION_MIN_CONFIDENCE else UNKNOWN
                recognised = len(count_track(track, exercise)[0].reps)
            results.append(Result(name, condition, int(str(clip["reps"])), given, recognised))
            line.append(f"{condition} {given:>3d}/{recognised:<3d}")
        print("  ".join(line), flush=True)
    print(
        f"\n{'condition':12s} | {'given: n exact ±1 error':>26s} | {'recognised: exact ±1 error':>26s} | changed from unchanged (given)"
    )
    base_counts = {r.clip: r.given for r in results if r.condition == "unchanged"}
    for condition in wanted:
        rows = [r for r in results if r.condition == condition]
        if not rows:
            continue

        def rate(attr: str, rows: list[Result] = rows) -> tuple[float, float, float]:
            got = np.array([getattr(r, attr) for r in rows], float)
            truth = np.array([r.truth for r in rows], float)
            return (
                float(np.mean(got == truth)),
                float(np.mean(np.abs(got - truth) <= 1)),
                float(np.mean(np.abs(got - truth) / truth)),
            )

        g, a = rate("given"), rate("recognised") if not args.given_only else (float("nan"),) * 3
        changed = [
            f"{r.clip} {base_counts[r.clip]}->{r.given}" for r in rows if r.given != base_counts[r.clip]
        ]
        print(
            f"{condition:12s} | {len(rows):6d} {g[0]:5.2f} {g[1]:5.2f} {g[2]:5.3f} | {a[0]:8.2f} {a[1]:5.2f} {a[2]:5.3f}"
            f" | {len(changed)}: {', '.join(changed) if condition != 'unchanged' else '-'}"
        )
    print(
        f"\n{len(base_counts)} scored clips, {len(wanted)} conditions, {time.perf_counter() - t0:.0f} s ({args.backend}/{args.model})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
