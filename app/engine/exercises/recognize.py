"""Recognise the exercise in a pose track, with a confidence.

Each exercise is scored by three kinds of evidence from the whole window:
- posture: the spec's ``[recognition]`` ranges on body descriptors (torso inclination, where the
  wrists are, stance width, left/right asymmetry), each a soft constraint;
- motion: how much of the body's angular movement happens at the exercise's primary joint;
- repetition: whether the exercise's own counter finds regular, full reps in the window.
The confidence is the winner's share of the total score. A variant (a sumo deadlift, a goblet
squat) competes with its parent exercise for the family's place: only the family's best member
keeps its score, so two near-identical specs never split the evidence for one movement, and a tie
goes to the parent (a hammer curl looks like a biceps curl to the camera).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import features as feat
from .analyzer import ExerciseAnalyzer
from .spec import ExerciseSpec, catalogue, family

#: An exercise whose posture and motion score below this share of the best one's is not replayed.
HOPELESS = 0.04
#: The main joint angles whose ranges describe where a movement happens.
MOTION_ANGLES: dict[str, tuple[str, str, str]] = {
    "knee": ("hip", "knee", "ankle"),
    "hip": ("shoulder", "hip", "knee"),
    "elbow": ("shoulder", "elbow", "wrist"),
    "shoulder": ("hip", "shoulder", "elbow"),
}


def _range(x: feat.FloatArray) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, 95) - np.percentile(x, 5)) if x.size >= 5 else 0.0


def _pct(x: feat.FloatArray, q: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else float("nan")


def _corr(a: feat.FloatArray, b: feat.FloatArray) -> float:
    """Correlation of two series over the frames where both are measured (nan when flat)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10 or np.std(a[ok]) < 1e-6 or np.std(b[ok]) < 1e-6:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _arm_plane(track: feat.Track) -> float:
    """Where a raised upper arm points: 1 straight out to the side, 0 straight ahead.

    The horizontal part of the shoulder-to-elbow vector split along the shoulder line (out) and
    across it (ahead), over the frames where that arm is raised at least 45 degrees from the torso.
    """
    w = track.world
    idx = feat.landmark_index
    across = w[:, idx("shoulder", "left")] - w[:, idx("shoulder", "right")]
    across[:, 1] = 0.0
    across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-9)
    shares = []
    for side in feat.SIDES:
        arm = w[:, idx("elbow", side)] - w[:, idx("shoulder", side)]
        arm[:, 1] = 0.0
        flat = np.linalg.norm(arm, axis=1)
        out = np.abs(np.sum(arm * across, axis=1)) / np.maximum(flat, 1e-9)
        raised = feat.side_angle(track, ("hip", "shoulder", "elbow"), side, world=True) > 45.0
        shares.append(out[raised & np.isfinite(out)])
    both = np.concatenate(shares)
    return float(np.median(both)) if both.size >= 5 else float("nan")


def _rise_range(track: feat.Track, joint: str, scale: float) -> float:
    """How far a joint rises and falls in the image over the window, in torso lengths."""
    y = (
        track.pixels[:, feat.landmark_index(joint, "left"), 1]
        + track.pixels[:, feat.landmark_index(joint, "right"), 1]
    ) / 2
    return _range(y) / max(scale, 1e-6)


def describe(track: feat.Track) -> dict[str, float]:
    """Body descriptors of a window of poses (the names used by specs' ``[recognition]``)."""
    d: dict[str, float] = {}
    for name, joints in MOTION_ANGLES.items():
        sides = [feat.side_angle(track, joints, s, world=True) for s in feat.SIDES]
        d[f"{name}_range"] = max(_range(a) for a in sides)
        d[f"{name}_asymmetry"] = _pct(np.abs(sides[0] - sides[1]), 75)
    w = track.world
    idx = feat.landmark_index
    wrist_up = np.concatenate(
        [w[:, idx("shoulder", s), 1] - w[:, idx("wrist", s), 1] for s in feat.SIDES]
    )  # metres the wrist is above the shoulder
    d["wrist_over_shoulder_high"] = _pct(wrist_up, 90)
    d["wrist_over_shoulder_low"] = _pct(wrist_up, 10)
    elbow_up = np.concatenate([w[:, idx("elbow", s), 1] - w[:, idx("wrist", s), 1] for s in feat.SIDES])
    d["wrist_over_elbow"] = _pct(elbow_up, 50)
    ankles = np.linalg.norm(w[:, idx("ankle", "left")] - w[:, idx("ankle", "right")], axis=1)
    d["ankle_distance"] = _pct(ankles, 50)
    d["ankle_distance_range"] = _range(ankles)
    d["torso_inclination"] = _pct(feat.torso_inclination(track), 50)
    d["torso_inclination_high"] = _pct(feat.torso_inclination(track), 90)
    # a squat bends the knees about as much as the hips; a deadlift hinges at the hips
    d["knee_hip_ratio"] = d["knee_range"] / max(d["hip_range"], 1.0)
    # in the image, a pull-up moves the hips while the hands hold the bar; a press the reverse
    px = track.pixels
    scale = float(np.nanmedian(feat.torso_length(track))) if np.isfinite(px).any() else 1.0
    hip_y = (px[:, idx("hip", "left"), 1] + px[:, idx("hip", "right"), 1]) / 2 / max(scale, 1e-6)
    wrist_y = (px[:, idx("wrist", "left"), 1] + px[:, idx("wrist", "right"), 1]) / 2 / max(scale, 1e-6)
    d["hip_vs_wrist_motion"] = float(np.log(max(_range(hip_y), 1e-3) / max(_range(wrist_y), 1e-3)))
    d["torso_inclination_range"] = _range(feat.torso_inclination(track))
    ear_shoulder = np.concatenate(
        [np.linalg.norm(w[:, idx("ear", s)] - w[:, idx("shoulder", s)], axis=1) for s in feat.SIDES]
    )
    d["ear_shoulder_range"] = _range(ear_shoulder)
    _describe_more(track, d, scale)
    return d


def _describe_more(track: feat.Track, d: dict[str, float], scale: float) -> None:
    """Descriptors that tell the larger catalogue apart (rows from curls, a bridge from a crunch)."""
    w = track.world
    idx = feat.landmark_index
    d["wrist_distance_high"] = _pct(feat.world_distance(track, "wrist", "left", "wrist", "right"), 90)
    elbow_up = np.concatenate([w[:, idx("elbow", s), 1] - w[:, idx("shoulder", s), 1] for s in feat.SIDES])
    d["elbow_over_shoulder_low"] = _pct(-elbow_up, 10)  # metres the elbow is above the shoulder
    elbows = [feat.side_angle(track, ("shoulder", "elbow", "wrist"), s, world=True) for s in feat.SIDES]
    d["elbow_angle_low"] = _pct(np.concatenate(elbows), 10)
    knees = [feat.side_angle(track, ("hip", "knee", "ankle"), s, world=True) for s in feat.SIDES]
    d["knee_angle"] = _pct((knees[0] + knees[1]) / 2, 50)
    hip_angles = [feat.side_angle(track, ("shoulder", "hip", "knee"), s, world=True) for s in feat.SIDES]
    d["hip_angle"] = _pct((hip_angles[0] + hip_angles[1]) / 2, 50)
    d["shoulder_height"] = _pct(feat.world_height(track, "shoulder", "ankle"), 50)
    d["shoulder_height_low"] = _pct(feat.world_height(track, "shoulder", "ankle"), 10)
    d["chest_up"] = _pct(feat.chest_up(track), 50)
    d["hip_height_high"] = _pct(feat.world_height(track, "hip", "ankle"), 90)
    d["hip_over_shoulder_high"] = _pct(feat.world_height(track, "hip", "shoulder"), 90)
    d["wrist_shoulder_distance"] = _pct(
        np.concatenate([feat.world_distance(track, "wrist", s, "shoulder", s) for s in feat.SIDES]), 50
    )
    d["shoulder_tilt"] = _pct(feat.shoulder_tilt(track), 50)
    d["arm_plane"] = _arm_plane(track)
    # a swing raises the arms as the torso comes up; a deadlift's arms hang as the torso tips
    shoulder = [feat.side_angle(track, ("hip", "shoulder", "elbow"), s, world=True) for s in feat.SIDES]
    d["arm_torso_coupling"] = _corr((shoulder[0] + shoulder[1]) / 2, feat.torso_inclination(track))
    # a row brings the hand to the hip as the elbow bends; a curl takes it away
    couplings = [
        _corr(elbows[i], feat.world_distance(track, "wrist", s, "hip", s)) for i, s in enumerate(feat.SIDES)
    ]
    d["wrist_hip_coupling"] = float(np.nanmax(couplings)) if np.isfinite(couplings).any() else float("nan")
    d["hip_rise_range"] = _rise_range(track, "hip", scale)
    d["ankle_rise_range"] = _rise_range(track, "ankle", scale)
    hips = (w[:, idx("hip", "left")] + w[:, idx("hip", "right")]) / 2
    across = w[:, idx("hip", "left")] - w[:, idx("hip", "right")]
    across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-9)
    wrists = (w[:, idx("wrist", "left")] + w[:, idx("wrist", "right")]) / 2
    d["wrist_lateral_range"] = _range(np.sum((wrists - hips) * across, axis=1))
    d["ankle_angle_range"] = max(
        _range(feat.side_angle(track, ("knee", "ankle", "foot_index"), s, world=True)) for s in feat.SIDES
    )


def _soft(value: float, lo: float, hi: float, margin: float) -> float:
    if not np.isfinite(value):
        return 0.5
    if value < lo:
        return float(np.exp(-(((lo - value) / margin) ** 2)))
    if value > hi:
        return float(np.exp(-(((value - hi) / margin) ** 2)))
    return 1.0


@dataclass(frozen=True, slots=True)
class Candidate:
    exercise: str
    score: float
    reps: int


def _posture_score(spec: ExerciseSpec, desc: dict[str, float]) -> float:
    score = 1.0
    for rule in spec.recognition:
        score *= _soft(desc.get(rule.descriptor, float("nan")), rule.low, rule.high, rule.margin)
    return score


def _stillness(track: feat.Track, holds: list[tuple[float, float]]) -> float:
    """1 when the body line (hips, knees) barely moves during the holds, falling as it moves.

    Arms are left out: a forearm plank filmed from changing views moves the shoulder angle
    estimate more than the person moves."""
    if not holds:
        return 0.0
    inside = np.zeros(len(track), bool)
    for start, end in holds:
        inside |= (track.t >= start) & (track.t <= end)
    part = feat.Track(
        track.t[inside], track.image[inside], track.world[inside], track.visibility[inside], track.image_size
    )
    ranges = [
        _range(feat.side_angle(part, joints, s, world=True))
        for name, joints in MOTION_ANGLES.items()
        if name in ("hip", "knee")
        for s in feat.SIDES
    ]
    return float(np.exp(-((max(ranges) / 40.0) ** 2)))


def _motion_score(spec: ExerciseSpec, desc: dict[str, float]) -> float:
    if spec.movement is None:  # holds: judged by stillness during the holds themselves
        return 1.0
    primary = spec.movement.primary
    total = max(*(desc[f"{n}_range"] for n in MOTION_ANGLES), 1e-6)
    if primary.kind != "angle":
        return 1.0
    for name, joints in MOTION_ANGLES.items():
        if tuple(primary.joints) == joints or tuple(reversed(primary.joints)) == joints:
            return desc[f"{name}_range"] / total
    return 0.5  # a primary angle outside the four main ones: no motion evidence either way


def _repetition_score(spec: ExerciseSpec, track: feat.Track) -> tuple[float, int]:
    analyzer = ExerciseAnalyzer(spec)
    for i in range(len(track)):
        pose = track.pose_at(i)
        analyzer.update(pose, float(track.t[i]))
    analyzer.finish(float(track.t[-1]) if len(track) else 0.0)
    if spec.kind == "hold":
        held = sum(e - s for s, e in analyzer.holds)
        span = float(track.t[-1] - track.t[0]) if len(track) > 1 else 1.0
        return min(1.0, 2.0 * held / max(span, 1e-6)) * _stillness(track, analyzer.holds), 0
    reps = analyzer.reps
    if not reps:
        return 0.05, 0
    durations = np.array([r.end_s - r.start_s for r in reps])
    regular = 1.0 if durations.size < 3 else float(np.exp(-((np.std(durations) / np.mean(durations)) ** 2)))
    evidence = min(1.0, len(reps) / 3.0)
    return 0.2 + 0.8 * evidence * regular, len(reps)


def rank_exercises(track: feat.Track) -> list[Candidate]:
    """Every exercise with its score, best first.

    Replaying an exercise's counter over the window is the costly part, so it is skipped (score 0)
    for an exercise whose posture and motion alone score below ``HOPELESS`` of the best one's:
    its repetition score is at most 1 and the best one's at least 0.05, so it could not win.
    """
    desc = describe(track)
    specs = list(catalogue().values())
    posture = {spec.id: _posture_score(spec, desc) for spec in specs}
    prior = {spec.id: posture[spec.id] * _motion_score(spec, desc) for spec in specs}
    bound = max(prior.values(), default=0.0)
    out = []
    for spec in specs:
        if posture[spec.id] < 1e-3 or prior[spec.id] < HOPELESS * bound:
            out.append(Candidate(spec.id, 0.0, 0))
            continue
        repetition, reps = _repetition_score(spec, track)
        out.append(Candidate(spec.id, prior[spec.id] * repetition, reps))
    return sorted(_family_best(out), key=lambda c: c.score, reverse=True)


def _family_best(candidates: list[Candidate]) -> list[Candidate]:
    """Only the best member of each family keeps its score (the first, the parent, on a tie)."""
    specs = catalogue()
    best: dict[str, Candidate] = {}
    for cand in candidates:
        key = family(specs[cand.exercise])
        if key not in best or cand.score > best[key].score:
            best[key] = cand
    return [
        c if best[family(specs[c.exercise])] is c else Candidate(c.exercise, 0.0, c.reps) for c in candidates
    ]


def confidence_of(ranked: list[Candidate]) -> float:
    """The winner's share of the evidence, in [0, 1]. Variants of one exercise (a goblet squat, a
    squat) are the same movement and split its evidence between them, so the share is the winner's
    family's: which variant it is does not make the exercise less certain."""
    total = sum(c.score for c in ranked)
    if not ranked or total <= 0:
        return 0.0
    specs = catalogue()
    home = family(specs[ranked[0].exercise])
    return sum(c.score for c in ranked if family(specs[c.exercise]) == home) / total


def recognize_exercise(track: feat.Track) -> tuple[str, float]:
    """The most likely exercise and its confidence in [0, 1]."""
    ranked = rank_exercises(track)
    return ranked[0].exercise, confidence_of(ranked)
