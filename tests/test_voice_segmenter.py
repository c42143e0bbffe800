"""The utterance segmenter (pure): hangover, the shorter hangover for a complete command, the level gate."""

from __future__ import annotations

import numpy as np

from app.voice.vad import CHUNK, Boundary, SegmenterConfig, UtteranceSegmenter


def _chunk(amplitude: float, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(rng.standard_normal(CHUNK) * amplitude * 32767, dtype=np.int16)


def _run(
    seg: UtteranceSegmenter, probs: list[float], *, complete: bool = False, amplitude: float = 0.1
) -> list[Boundary]:
    rng = np.random.default_rng(0)
    return [seg.step(_chunk(amplitude, rng), p, complete=complete) for p in probs]


def test_ends_after_the_hangover() -> None:
    out = _run(UtteranceSegmenter(), [0.9] * 6 + [0.0] * 5)
    assert out[1] is Boundary.STARTED
    assert out.index(Boundary.ENDED) == 6 + 4  # the fifth silent chunk


def test_a_complete_command_ends_sooner() -> None:
    config = SegmenterConfig(hangover_chunks=5, complete_hangover_chunks=3)
    out = _run(UtteranceSegmenter(config), [0.9] * 6 + [0.0] * 5, complete=True)
    assert out.index(Boundary.ENDED) == 6 + 2


def test_level_gate_ignores_speech_at_the_noise_floor() -> None:
    """Background talkers the VAD calls speech, at the level of the background, open nothing."""
    seg = UtteranceSegmenter(SegmenterConfig(level_gate=True))
    assert Boundary.STARTED not in _run(seg, [0.9] * 40, amplitude=0.01)
    rng = np.random.default_rng(1)
    loud = [seg.step(_chunk(0.2, rng), 0.9) for _ in range(3)]
    assert Boundary.STARTED in loud
