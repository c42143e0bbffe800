"""Bookkeeping for the live pipeline: per-interval metrics and the camera restart budget.

Both are plain, single-threaded objects (each is owned by one pipeline thread), so they are tested
without threads or clocks of their own: every method takes ``now`` from the caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np

from app.engine.events import PipelineStats


class StatsWindow:
    """Frame latencies and stage times since the last ``take``; ``frames`` counts all of them."""

    def __init__(self, now: float) -> None:
        self.frames = 0
        self._start = now
        self._latency_ms: list[float] = []
        self._stage_sum: dict[str, float] = {}

    @property
    def pending(self) -> int:
        """Frames added since the last ``take``."""
        return len(self._latency_ms)

    def add(self, latency_s: float, stages_ms: Mapping[str, float]) -> None:
        self.frames += 1
        self._latency_ms.append(latency_s * 1000.0)
        for name, ms in stages_ms.items():
            self._stage_sum[name] = self._stage_sum.get(name, 0.0) + ms

    def due(self, now: float, interval_s: float) -> bool:
        return now - self._start >= interval_s

    def take(self, now: float, *, t: float, dropped: int) -> PipelineStats:
        """The interval's ``PipelineStats`` (fps, latency percentiles, stage means); starts a new one."""
        count = len(self._latency_ms)
        p50 = p95 = 0.0
        if count:
            p50, p95 = (float(v) for v in np.percentile(np.asarray(self._latency_ms), [50.0, 95.0]))
        stats = PipelineStats(
            t=t,
            frames=self.frames,
            dropped=dropped,
            fps=count / max(now - self._start, 1e-9),
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            stage_ms={name: total / max(count, 1) for name, total in self._stage_sum.items()},
        )
        self._start, self._latency_ms, self._stage_sum = now, [], {}
        return stats


def describe(stats: PipelineStats) -> str:
    """One log line for a ``PipelineStats``."""
    stages = ", ".join(f"{name} {ms:.1f}" for name, ms in stats.stage_ms.items())
    return (
        f"{stats.fps:.1f} fps, {stats.frames} frames, {stats.dropped} dropped, latency p50 "
        f"{stats.latency_p50_ms:.0f} ms p95 {stats.latency_p95_ms:.0f} ms; stage ms: {stages}"
    )


class RestartBudget:
    """At most ``max_restarts`` restarts in any ``window_s`` seconds, with exponential backoff.

    ``try_restart(now)`` returns the attempt number (1-based, within the window), or None when the
    budget is spent; ``backoff_s()`` is the delay before that attempt, doubling with every restart
    since the last ``succeeded()`` (a frame arrived again).
    """

    def __init__(
        self, max_restarts: int, window_s: float, *, backoff_s: float = 0.5, backoff_max_s: float = 8.0
    ) -> None:
        self.max_restarts = max_restarts
        self.window_s = window_s
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._times: deque[float] = deque()
        self._streak = 0

    @property
    def used(self) -> int:
        return len(self._times)

    def try_restart(self, now: float) -> int | None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) >= self.max_restarts:
            return None
        self._times.append(now)
        self._streak += 1
        return len(self._times)

    def backoff_s(self) -> float:
        return min(self._backoff_s * 2.0 ** max(self._streak - 1, 0), self._backoff_max_s)

    def succeeded(self) -> None:
        self._streak = 0
