"""Velocity loss within a set: the concentric speed of the last rep against the fastest one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

WARN_LOSS = 0.20
STOP_LOSS = 0.30


class Advice(StrEnum):
    CONTINUE = "continue"
    NEAR_LIMIT = "near_limit"  # about two reps in reserve: finish the rep in hand
    END_SET = "end_set"  # stop the set; if it came before the target reps, reduce the load


@dataclass(frozen=True, slots=True)
class FatigueSignal:
    loss: float  # 0.25 = 25 % slower than the fastest rep so far
    advice: Advice
    reduce_load: bool  # the set ended (or should end) short of the target


def velocity_loss(speeds: list[float]) -> float:
    """``1 - last / fastest`` over the reps so far (0 for fewer than two reps)."""
    if len(speeds) < 2:
        return 0.0
    fastest = max(speeds)
    if fastest <= 0:
        return 0.0
    return max(0.0, 1.0 - speeds[-1] / fastest)


def fatigue_signal(
    speeds: list[float], *, target_reps: int | None = None, warn: float = WARN_LOSS, stop: float = STOP_LOSS
) -> FatigueSignal:
    loss = velocity_loss(speeds)
    advice = Advice.END_SET if loss >= stop else Advice.NEAR_LIMIT if loss >= warn else Advice.CONTINUE
    short = target_reps is not None and len(speeds) < target_reps
    return FatigueSignal(round(loss, 4), advice, advice is Advice.END_SET and short)
