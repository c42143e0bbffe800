"""Real clips retimed, with every rep kept: the kinds of pace issue 18 found failing on unseen video (a
cadence that doubles within a set, slow controlled reps, a long hold), made from the shared clips' own
poses so that the hand counts still hold. Used by the counting tests and ``bench/conditions.py``."""

from __future__ import annotations

import numpy as np

from app.engine.offline import PoseTrack
from app.engine.pose.types import Pose


def _blend(a: Pose | None, b: Pose | None, w: float) -> Pose | None:
    if a is None or b is None:
        return a if w < 0.5 else b
    return Pose(
        (1 - w) * a.image + w * b.image,
        (1 - w) * a.world + w * b.world,
        (1 - w) * a.visibility + w * b.visibility,
        (1 - w) * a.presence + w * b.presence,
        (1 - w) * a.score + w * b.score,
        a.image_size,
    )


#: The quickest pace "faster" makes a rep: issue 18's cadence that doubled went from 1.7 s to 0.9 s a rep.
FASTEST_REP_S = 0.9


def faster(track: PoseTrack, reps: int) -> PoseTrack:
    """The second half played faster: twice the speed, or as fast as brings the clip's reps (``reps``
    over its length) to ``FASTEST_REP_S`` a rep, whichever is slower. Poses interpolated at the new
    times."""
    mid = len(track.times) // 2
    if mid < 2 or reps < 1:
        return track
    period = (track.times[-1] - track.times[0]) / reps
    speed = min(2.0, period / FASTEST_REP_S)
    if speed <= 1.0:
        return track
    dt = track.times[1] - track.times[0]
    times = list(track.times[:mid])
    poses = list(track.poses[:mid])
    source = track.times[mid]
    while source <= track.times[-1]:
        j = min(int(np.searchsorted(track.times, source, side="right")) - 1, len(track.times) - 2)
        w = (source - track.times[j]) / max(track.times[j + 1] - track.times[j], 1e-9)
        times.append(times[-1] + dt)
        poses.append(_blend(track.poses[j], track.poses[j + 1], float(np.clip(w, 0.0, 1.0))))
        source += speed * dt
    return PoseTrack(times, poses, track.image_size)


def slower(track: PoseTrack) -> PoseTrack:
    """Half speed: twice the time, a pose interpolated between each two."""
    times: list[float] = []
    poses: list[Pose | None] = []
    t0 = track.times[0] if track.times else 0.0
    for i, (t, p) in enumerate(zip(track.times, track.poses, strict=True)):
        times.append(t0 + 2 * (t - t0))
        poses.append(p)
        if i + 1 < len(track.times):
            times.append(t0 + (t - t0) + (track.times[i + 1] - t0))
            poses.append(_blend(p, track.poses[i + 1], 0.5))
    return PoseTrack(times, poses, track.image_size)


def paused(track: PoseTrack, hold_s: float = 6.0) -> PoseTrack:
    """The pose nearest the middle where the body is seen, held for ``hold_s`` with a millimetre's tremor,
    then the rest of the clip."""
    seen = [
        i
        for i, p in enumerate(track.poses)
        if p is not None and p.score >= 0.5 and float(np.median(p.visibility)) >= 0.5
    ]
    if not seen or len(track.times) < 2:
        return track
    mid = min(seen, key=lambda i: abs(i - len(track.times) // 2))  # the body seen, nearest the middle
    dt = track.times[1] - track.times[0]
    held = track.poses[mid]
    assert held is not None
    rng = np.random.default_rng(0)
    extra = round(hold_s / dt)
    hold: list[Pose | None] = []
    for _ in range(extra):
        jitter = rng.normal(0.0, 0.001, held.image.shape).astype(np.float32)
        image, world = held.image + jitter, held.world + jitter
        hold.append(Pose(image, world, held.visibility, held.presence, held.score, held.image_size))
    times = list(track.times[: mid + 1])
    times += [times[-1] + dt * (k + 1) for k in range(extra)]
    times += [t + extra * dt for t in track.times[mid + 1 :]]
    return PoseTrack(times, [*track.poses[: mid + 1], *hold, *track.poses[mid + 1 :]], track.image_size)
