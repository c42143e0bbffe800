"""What movement signatures give, on the shared real clips (poses from bench/out, as accuracy.py).

    .venv/bin/python bench/signatures.py

- Likeness: for each rep of a scored clip, its 5 nearest signatures among the other clips' reps:
  the share that are the same exercise (precision at 5).
- Recognition by nearest neighbours (``app.engine.exercises.neighbours``), leaving each clip out
  of the bank (the other clips' reps, counted with their exercise given): the engine's option
  (``analyze --recognise-by neighbours``: the recogniser's best three, each counted with its spec,
  the one moving most like the bank's reps of it), a plain vote by the clip's any-movement reps,
  and, as a ceiling, a vote by its reps counted with the exercise given; against the recogniser
  alone. Scored on the clips whose exercise has at least one other clip (a bank cannot know the
  rest).
- Anomaly: on the clips with hand-marked good and bad reps, each rep's mean distance to its 3
  nearest reps of the same clip, over the clip's median: how well that ranks bad reps above good
  ones (AUC; 0.5 is chance).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from accuracy import DATA, SCORED, load_track

from app.engine.exercises.anymove import ANY
from app.engine.exercises.neighbours import NeighbourBank
from app.engine.exercises.recognize import recognize_exercise
from app.engine.exercises.signature import SIZE
from app.engine.exercises.spec import catalogue, family, get_spec
from app.engine.offline import count_track, recognise_by_neighbours


def auc(bad: list[float], good: list[float]) -> float:
    pairs = [(b > g) + 0.5 * (b == g) for b in bad for g in good]
    return float(np.mean(pairs)) if pairs else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="litert")
    parser.add_argument("--model", default="full")
    parser.add_argument("--fps", type=float, default=15.0)
    args = parser.parse_args()
    known = catalogue()
    clips = [
        c
        for c in json.loads((DATA / "clips.json").read_text())
        if c["exercise"] in known and c["confidence"] in SCORED and c["reps"]
    ]
    given: dict[str, list[tuple[float, ...]]] = {}
    anything: dict[str, list[tuple[float, ...]]] = {}
    engine: dict[str, tuple[str, float]] = {}
    tracks = {}
    turns: dict[str, list[float]] = {}
    for c in clips:
        name = c["file"]
        track = load_track(DATA / "videos" / name, args)
        reps = count_track(track, c["exercise"])[0].reps
        given[name] = [r.signature for r in reps if len(r.signature) == SIZE]
        turns[name] = [r.turn_s for r in reps if len(r.signature) == SIZE]
        anything[name] = [r.signature for r in count_track(track, ANY)[0].reps if len(r.signature) == SIZE]
        engine[name] = recognize_exercise(track.to_track())
        tracks[name] = track
    home = {c["file"]: family(get_spec(c["exercise"])) for c in clips}

    def bank_without(name: str) -> NeighbourBank:
        return NeighbourBank.of(
            (sig, home[other]) for other in given if other != name for sig in given[other]
        )

    same = [n for n in given if sum(home[o] == home[n] for o in given) > 1]
    hits = []
    for name in same:
        bank = bank_without(name)
        for sig in given[name]:
            d = np.linalg.norm(bank.vectors - np.asarray(sig, np.float32), axis=1)
            hits += [bank.labels[i] == home[name] for i in np.argsort(d)[:5]]
    print(f"likeness: of each rep's 5 nearest reps in other clips, {np.mean(hits):.2f} are the same exercise "
          f"({len(hits) // 5} reps of {len(same)} clips)")  # fmt: skip

    rows = []
    for name in same:
        bank = bank_without(name)
        by_any, conf_any = bank.recognise(anything[name])
        by_given, _ = bank.recognise(given[name])
        ex, conf = engine[name]
        engine_family = family(get_spec(ex))
        option, _ = recognise_by_neighbours(tracks[name], bank)
        chosen = engine_family if option is None else family(get_spec(option))
        rows.append((name, home[name], engine_family, conf, by_any, conf_any, by_given, chosen))
    print(
        f"\nrecognition on the {len(rows)} scored clips whose exercise has another clip (exercise families):"
    )
    for label, col in (("engine's recogniser", 2), ("recogniser's best three, chosen by neighbours", 7),
                       ("neighbours' vote, any-movement reps", 4),
                       ("neighbours' vote, reps of the given exercise (ceiling)", 6)):  # fmt: skip
        print(f"  {label:52s} {np.mean([r[col] == r[1] for r in rows]):.2f}")
    missed = Counter((r[1], r[4]) for r in rows if r[4] != r[1])
    print(
        "  neighbours' misses (truth -> said):", ", ".join(f"{a}->{b} x{n}" for (a, b), n in missed.items())
    )

    print("\nanomaly (distance to the 3 nearest reps of the same clip, over the clip's median):")
    for c in clips:
        form = c.get("form")
        if not form or c["file"] not in given:
            continue
        sigs = np.asarray(given[c["file"]], np.float32)
        d = np.linalg.norm(sigs[:, None, :] - sigs[None, :, :], axis=2)
        np.fill_diagonal(d, np.inf)
        knn = np.sort(d, axis=1)[:, :3].mean(axis=1)
        score = knn / np.median(knn)
        marked = np.asarray(form["good"] + form["bad"], np.float64)
        near = [float(marked[np.argmin(np.abs(marked - turn))]) for turn in turns[c["file"]]]
        bad = [float(s) for s, t in zip(score, near, strict=True) if t in form["bad"]]
        good = [float(s) for s, t in zip(score, near, strict=True) if t in form["good"]]
        print(
            f"  {c['file']}: {form['fault']}, {len(bad)} bad / {len(good)} good reps, AUC {auc(bad, good):.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
