"""The live pipeline with the real pose model: a real clip played as the camera."""

from __future__ import annotations

import itertools
from typing import Any

from shared_data import clip, manifest

from app.engine.capture import OpenCvFrameSource
from app.engine.events import PipelineStats, RepCounted, RepHeld, SetFinished, SetStarted, StreamEnded
from app.engine.exercises.analyzer import ExerciseAnalyzer
from app.engine.exercises.spec import get_spec
from app.engine.pipeline import LivePipeline, PoseFrameProcessor
from app.engine.sinks import ListSink


def test_every_frame_counts_the_same_reps_as_the_hand_count(litert_full: Any) -> None:
    truth = manifest()["jumpingjack_03.mp4"]
    litert_full.reset()
    sink = ListSink()
    processor = PoseFrameProcessor(litert_full, ExerciseAnalyzer(get_spec("jumping_jack")))
    pipeline = LivePipeline(OpenCvFrameSource(clip("jumpingjack_03.mp4")), processor, sink)
    with pipeline:
        assert pipeline.join(timeout=120), "the pipeline did not finish the clip"
    reps = sink.of_type(RepCounted)
    assert len(reps) == truth["reps"]
    assert [r.rep.index for r in reps] == list(range(1, truth["reps"] + 1))
    # announced in order; the set's first rep is held (shown as tentative) until the second confirms it
    (held,) = sink.of_type(RepHeld)
    assert held.t < reps[0].t and (held.start_s, held.end_s) == (reps[0].rep.start_s, reps[0].rep.end_s)
    assert all(a.t <= b.t for a, b in itertools.pairwise(reps))
    assert reps[0].t == reps[1].t and all(a.t < b.t for a, b in itertools.pairwise(reps[1:]))
    assert all(a.rep.turn_s < b.rep.turn_s for a, b in itertools.pairwise(reps))
    assert len(sink.of_type(SetStarted)) == 1
    (finished,) = sink.of_type(SetFinished)
    assert finished.reps == truth["reps"]
    stats = sink.of_type(PipelineStats)
    assert stats and stats[-1].dropped == 0  # a file in blocking mode loses no frame
    assert {"pose", "analysis"} <= set(stats[-1].stage_ms)
    last = sink.events[-1]
    assert isinstance(last, StreamEnded) and last.reason == "eof"
