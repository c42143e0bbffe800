"""Recognition by nearest neighbours: which exercise a movement is, by the signed reps it is most like.

A second opinion beside ``recognize.py`` (which scores every spec's posture, motion and counting).
The bank is labelled rep signatures (``signature.movement_signature``): a device's own history, or a
gym's through the sync server (``POST /v1/recognise`` runs the vote on pgvector). Two uses:
``recognise`` lets reps vote for the exercises of their ``k`` nearest signatures, weighted by
nearness; ``distance`` says how near reps counted as one exercise lie to the bank's reps of it,
which ``offline.analyze_video`` uses to choose among the recogniser's best candidates (each
counted with its own spec, so the reps are cut as the bank's were). Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .signature import SIZE

#: Neighbours that vote for each rep.
K = 15
#: Added to a distance before it becomes a weight (a zero distance must not outvote everything).
SOFTEN = 0.05


@dataclass(frozen=True)
class NeighbourBank:
    """Labelled signatures: ``vectors`` (n, SIZE) and the exercise of each row."""

    vectors: np.ndarray
    labels: tuple[str, ...]

    @classmethod
    def of(cls, signed: Iterable[tuple[Sequence[float], str]]) -> NeighbourBank:
        """A bank from (signature, exercise) pairs; signatures of another length are left out."""
        rows = [(np.asarray(sig, np.float32), ex) for sig, ex in signed if len(sig) == SIZE]
        vectors = np.stack([v for v, _ in rows]) if rows else np.zeros((0, SIZE), np.float32)
        return cls(vectors, tuple(ex for _, ex in rows))

    def __len__(self) -> int:
        return len(self.labels)

    def votes(self, signature: Sequence[float], *, k: int = K) -> dict[str, float]:
        """One rep's weighted votes, by exercise."""
        if not len(self) or len(signature) != SIZE:
            return {}
        d = np.linalg.norm(self.vectors - np.asarray(signature, np.float32), axis=1)
        nearest = np.argsort(d)[:k]
        out: dict[str, float] = {}
        for i in nearest:
            out[self.labels[i]] = out.get(self.labels[i], 0.0) + 1.0 / (float(d[i]) + SOFTEN)
        return out

    def recognise(self, signatures: Iterable[Sequence[float]], *, k: int = K) -> tuple[str | None, float]:
        """The exercise that a movement's reps vote for, and the winner's share of all weight."""
        total: dict[str, float] = {}
        for sig in signatures:
            for exercise, w in self.votes(sig, k=k).items():
                total[exercise] = total.get(exercise, 0.0) + w
        weight = sum(total.values())
        if not weight:
            return None, 0.0
        best = max(total, key=lambda e: total[e])
        return best, total[best] / weight

    def distance(self, signatures: Iterable[Sequence[float]], exercise: str, *, k: int = 5) -> float:
        """How far reps lie from the bank's reps of ``exercise``: the mean, over the reps, of the
        mean distance to their ``k`` nearest of them (inf when the bank has none, or no rep)."""
        mine = self.vectors[np.asarray([label == exercise for label in self.labels], bool)]
        per_rep = [
            float(np.sort(np.linalg.norm(mine - np.asarray(sig, np.float32), axis=1))[:k].mean())
            for sig in signatures
            if len(sig) == SIZE and len(mine)
        ]
        return float(np.mean(per_rep)) if per_rep else float("inf")
