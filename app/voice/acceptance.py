"""When a heard command is acted on: the two recognisers' agreement, the utterance's noise and the command's
risk, weighed in one place.

- ``confidence`` is what the recognisers' combination gives a result (``app.voice.check``): 1.0 when
  Moonshine's free transcript is the command word for word (two recognisers agree), the grammar
  recogniser's own confidence when the check let its hypothesis stand (raised to ``agreed`` when
  Moonshine's transcript also holds most of its words), a margin-derived 0.5-1.0 for a candidate
  Moonshine preferred.
- ``snr_db`` is the utterance's loudest stretch over the background heard before it
  (``utterance_snr_db``).
- ``risk`` is the command set's (``app.voice.command_set.Risk``): "louder" done by mistake is undone
  by "quieter"; "end workout" ends the workout.

A command is acted on when its confidence reaches its risk's threshold, raised in noise for the risky
ones; and the grammar recogniser alone (no second opinion) decides only commands of low enough risk,
said clearly enough, without a number in them (PocketSphinx hears "ninety" as "eighty" with confidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.voice.command_set import COMMAND_SET, Risk

_NUMERIC_TYPES = frozenset({"number", "duration"})


def _numeric_intents() -> frozenset[str]:
    return frozenset(
        c.intent for c in COMMAND_SET for p in c.all_phrases if any(k in _NUMERIC_TYPES for _, k in p.fields)
    )


def utterance_snr_db(levels: Sequence[float], background_db: float, *, ceiling: float = 60.0) -> float:
    """The utterance's loudest stretch (90th percentile of its chunk levels, dB) over the background's level
    before it, capped at ``ceiling`` (digital silence before a recording's first word is no measure)."""
    if not levels:
        return 0.0
    loud = float(np.percentile(np.asarray(levels, dtype=np.float64), 90))
    return float(min(max(loud - background_db, 0.0), ceiling))


@dataclass(frozen=True, slots=True)
class Acceptance:
    # the confidence a command of each risk needs
    thresholds: dict[Risk, float] = field(
        default_factory=lambda: {Risk.LOW: 0.5, Risk.MEDIUM: 0.5, Risk.HIGH: 0.6}
    )
    noisy_snr_db: float = 12.0  # under this SNR, the risky commands need more...
    noisy_extra: dict[Risk, float] = field(
        default_factory=lambda: {Risk.LOW: 0.0, Risk.MEDIUM: 0.05, Risk.HIGH: 0.1}
    )
    # ...and the grammar recogniser decides alone at this confidence, only for these risks, and only
    # above ``noisy_snr_db``
    sure: float = 0.9
    sure_risks: frozenset[Risk] = frozenset({Risk.LOW, Risk.MEDIUM})
    agreed: float = 0.75  # a hypothesis whose words Moonshine's transcript holds
    numeric: frozenset[str] = field(default_factory=_numeric_intents)

    def threshold(self, risk: Risk, snr_db: float) -> float:
        extra = self.noisy_extra[risk] if snr_db < self.noisy_snr_db else 0.0
        return self.thresholds[risk] + extra

    def accepts(self, intent: str, risk: Risk, confidence: float, snr_db: float) -> bool:
        return intent != "none" and confidence >= self.threshold(risk, snr_db)

    def needs_no_check(self, intent: str, risk: Risk, confidence: float, snr_db: float) -> bool:
        """Whether the grammar recogniser's hypothesis stands without Moonshine's check."""
        return (
            confidence >= self.sure
            and risk in self.sure_risks
            and intent not in self.numeric
            and snr_db >= self.noisy_snr_db
        )
