"""The pipeline's building blocks without a pipeline: LatestSlot, the sinks, stats and restart budget."""

from __future__ import annotations

import threading
import time

import pytest

from app.engine.events import Event, PersonFound, PersonLost
from app.engine.monitoring import RestartBudget, StatsWindow, describe
from app.engine.sinks import CallbackSink, ListSink, QueueSink
from app.engine.slot import LatestSlot


def later(delay_s: float, action: object) -> threading.Thread:
    def run() -> None:
        time.sleep(delay_s)
        action()  # type: ignore[operator]

    thread = threading.Thread(target=run, name="test-helper", daemon=True)
    thread.start()
    return thread


def test_latest_wins_replaces_and_counts_drops() -> None:
    slot: LatestSlot[int] = LatestSlot()
    assert all(slot.put(i) for i in range(5))
    assert slot.peek() == 4
    assert slot.get(timeout=0) == 4
    assert slot.get(timeout=0.01) is None
    assert (slot.accepted, slot.dropped, slot.delivered) == (5, 4, 1)


def test_get_waits_for_an_item_and_close_wakes_it() -> None:
    slot: LatestSlot[str] = LatestSlot()
    later(0.05, lambda: slot.put("frame"))
    assert slot.get(timeout=2.0) == "frame"
    later(0.05, slot.close)
    t0 = time.monotonic()
    assert slot.get(timeout=5.0) is None
    assert time.monotonic() - t0 < 1.0


def test_close_keeps_the_last_item_and_refuses_new_ones() -> None:
    slot: LatestSlot[int] = LatestSlot()
    slot.put(1)
    slot.close()
    assert not slot.put(2)
    assert slot.get(timeout=0) == 1  # the last frame of a file is not lost
    assert slot.get(timeout=0) is None and slot.closed


def test_blocking_put_waits_until_the_item_is_taken() -> None:
    slot: LatestSlot[int] = LatestSlot(blocking=True)
    assert slot.put(1, timeout=0)
    t0 = time.monotonic()
    assert not slot.put(2, timeout=0.05)  # still full: refused after the timeout, nothing dropped
    assert time.monotonic() - t0 >= 0.04
    later(0.05, lambda: slot.get(timeout=1.0))
    assert slot.put(2, timeout=2.0)
    assert slot.get(timeout=0) == 2
    assert (slot.dropped, slot.delivered) == (0, 2)


def test_blocking_producer_and_consumer_lose_nothing() -> None:
    slot: LatestSlot[int] = LatestSlot(blocking=True)
    received: list[int] = []

    def consume() -> None:
        while (item := slot.get(timeout=1.0)) is not None:
            received.append(item)

    consumer = threading.Thread(target=consume, name="test-consumer")
    consumer.start()
    for i in range(2000):
        assert slot.put(i, timeout=1.0)
    slot.close()
    consumer.join(2.0)
    assert received == list(range(2000)) and slot.dropped == 0


def test_close_wakes_a_blocked_put() -> None:
    slot: LatestSlot[int] = LatestSlot(blocking=True)
    slot.put(1)
    later(0.05, slot.close)
    assert not slot.put(2, timeout=5.0)


def test_queue_sink_drops_the_oldest_when_full() -> None:
    sink = QueueSink(maxlen=3)
    for i in range(5):
        sink.emit(PersonFound(t=float(i)))
    assert sink.dropped == 2 and len(sink) == 3
    assert sink.get(timeout=0) == PersonFound(t=2.0)
    assert sink.drain() == [PersonFound(t=3.0), PersonFound(t=4.0)]
    assert sink.get(timeout=0.01) is None
    later(0.05, lambda: sink.emit(PersonLost(t=9.0)))
    assert sink.get(timeout=2.0) == PersonLost(t=9.0)
    with pytest.raises(ValueError, match="maxlen"):
        QueueSink(maxlen=0)


def test_callback_and_list_sinks() -> None:
    got: list[Event] = []
    CallbackSink(got.append).emit(PersonFound(t=1.0))
    assert got == [PersonFound(t=1.0)]
    sink = ListSink()

    def emit_two() -> None:
        sink.emit(PersonFound(t=1.0))
        sink.emit(PersonLost(t=2.0))

    later(0.05, emit_two)
    assert sink.wait_for(PersonLost, 2.0) == [PersonLost(t=2.0)]
    assert sink.of_type(PersonFound) == [PersonFound(t=1.0)] and len(sink) == 2
    assert sink.wait_for(PersonLost, 0.01, count=2) == [PersonLost(t=2.0)]  # timed out: what is there
    sink.clear()
    assert sink.events == []


def test_stats_window() -> None:
    stats = StatsWindow(now=100.0)
    assert not stats.due(101.0, 2.0)
    for i in range(20):
        stats.add(0.010 + i * 0.001, {"decode": 2.0, "pose": 10.0 + i})
    event = stats.take(102.0, t=5.0, dropped=3)
    assert (event.t, event.frames, event.dropped, event.fps) == (5.0, 20, 3, 10.0)
    assert event.latency_p50_ms == pytest.approx(19.5)
    assert event.latency_p95_ms == pytest.approx(28.05)
    assert event.stage_ms == {"decode": 2.0, "pose": pytest.approx(19.5)}
    assert "10.0 fps" in describe(event)
    stats.add(0.02, {})
    empty = StatsWindow(now=0.0).take(1.0, t=0.0, dropped=0)
    assert (empty.frames, empty.latency_p50_ms, empty.stage_ms) == (0, 0.0, {})
    assert stats.take(103.0, t=6.0, dropped=3).frames == 21  # frames is a running total


def test_restart_budget_window_and_backoff() -> None:
    budget = RestartBudget(3, 60.0, backoff_s=0.5, backoff_max_s=1.5)
    assert [budget.try_restart(t) for t in (0.0, 1.0, 2.0)] == [1, 2, 3]
    assert budget.backoff_s() == 1.5  # 0.5, 1.0, 2.0 capped
    assert budget.try_restart(3.0) is None  # spent
    assert budget.try_restart(60.5) == 3  # the first restart left the window
    budget.succeeded()
    budget.try_restart(61.5)
    assert budget.backoff_s() == 0.5
