"""The utterance segmenter (pure): hangover, the shorter hangover for a complete command, and the end of
an utterance that background talkers hold open; and the VAD's input gain."""

from __future__ import annotations

import numpy as np
import pytest

from app.voice.gain import GainConfig, InputGain
from app.voice.vad import Boundary, SegmenterConfig, UtteranceSegmenter, foreground_span

LOUD, BABBLE, NOISE = -25.0, -45.0, -50.0  # chunk levels, dB


def _run(
    seg: UtteranceSegmenter, chunks: list[tuple[float, float]], *, complete: bool = False
) -> list[Boundary]:
    """``chunks``: (level dB, speech probability) pairs."""
    return [seg.step(level, p, complete=complete) for level, p in chunks]


def test_ends_after_the_hangover() -> None:
    out = _run(UtteranceSegmenter(), [(LOUD, 0.9)] * 6 + [(-90.0, 0.0)] * 5)
    assert out[1] is Boundary.STARTED
    assert out.index(Boundary.ENDED) == 6 + 4  # the fifth silent chunk


def test_a_complete_command_ends_sooner() -> None:
    config = SegmenterConfig(hangover_chunks=5, complete_hangover_chunks=3)
    out = _run(UtteranceSegmenter(config), [(LOUD, 0.9)] * 6 + [(-90.0, 0.0)] * 5, complete=True)
    assert out.index(Boundary.ENDED) == 6 + 2


def test_background_talkers_do_not_hold_an_utterance_open() -> None:
    """Babble the VAD calls speech: a command over it ends once the background alone has gone on for
    ``background_hold_chunks``, not when the talkers stop."""
    seg = UtteranceSegmenter()
    hold = seg.config.background_hold_chunks
    alone = _run(seg, [(BABBLE, 0.8)] * 30)  # a second of speech-like background, no foreground
    assert Boundary.ENDED in alone  # the VAD opened on it; the background rule closed it
    chunks = [(LOUD, 0.95)] * 15 + [(BABBLE, 0.8)] * 40
    for i, (level, p) in enumerate(chunks):
        if seg.step(level, p) is Boundary.ENDED and i >= 15:
            break
    assert i == 15 + hold - 1
    assert seg.held_by_background
    span = seg.foreground()
    assert span is not None
    first, last = span
    assert last - first + 1 == 15 and seg.levels[first] == LOUD


def test_a_talker_who_starts_at_once_is_not_taken_for_background_talk() -> None:
    """A recording that starts with the command: its quietest chunks are the talker's own pauses, which
    the VAD calls speech. They stand far above the silence before the talker began, so the utterance ends
    on the VAD's silence, not as held by background speech; babble that was there before it is background,
    and a command over it ends by the background rule."""
    seg = UtteranceSegmenter()
    pauses = [(LOUD, 0.95)] * 8 + [(LOUD - 20, 0.9)] * 4  # words and the pauses between them
    talk = pauses * 5 + [(-90.0, 0.0)] * 6
    out = _run(seg, [(-90.0, 0.0)] * 3 + talk)
    assert out.count(Boundary.ENDED) == 1 and out.index(Boundary.ENDED) == 3 + len(talk) - 2
    assert not seg.held_by_background

    seg = UtteranceSegmenter()
    hold = seg.config.background_hold_chunks
    out = _run(seg, [(BABBLE, 0.8)] * 40 + [(LOUD, 0.95)] * 15 + [(BABBLE, 0.8)] * hold)
    assert out[-1] is Boundary.ENDED and seg.held_by_background


def test_babble_alone_has_no_foreground() -> None:
    """Runs of babble a little above its usual level are not a voice in front of it."""
    seg = UtteranceSegmenter()
    chunks = [(BABBLE, 0.8)] * 30 + [(BABBLE + 10, 0.9)] * 3 + [(BABBLE, 0.8)] * 30
    ends = []
    for level, p in chunks:
        if seg.step(level, p) is Boundary.ENDED:
            ends.append(seg.foreground())
    assert ends and all(span is None for span in ends)


def test_steady_noise_leaves_the_ending_to_the_vad() -> None:
    """White noise the VAD calls non-speech: a long weak stretch inside speech does not end it early."""
    seg = UtteranceSegmenter()
    _run(seg, [(NOISE, 0.05)] * 30)
    out = _run(seg, [(LOUD, 0.95)] * 5 + [(NOISE + 3, 0.9)] * 30 + [(NOISE, 0.05)] * 5)
    assert out.index(Boundary.ENDED) == 5 + 30 + 4
    assert not seg.held_by_background


def test_foreground_span_takes_the_runs_around_the_loudest() -> None:
    levels = [-40.0] * 30
    for i in (2, 3, 12, 13, 14, 18, 19):  # a run far off, then two runs 3 chunks apart
        levels[i] = -20.0
    levels[13] = -15.0
    assert foreground_span(levels, -30.0, max_gap=4) == (12, 19)
    assert foreground_span(levels, -30.0, max_gap=10) == (2, 19)
    levels[25] = -10.0  # a single loud chunk is a click, not a voice
    assert foreground_span(levels, -30.0, max_gap=4) == (12, 19)
    assert foreground_span([-40.0] * 5, -30.0, max_gap=4) is None


def test_the_vad_gain_brings_a_quiet_talker_up_and_leaves_a_loud_one() -> None:
    c = GainConfig(target_db=-26.0, max_gain_db=24.0, release_db_per_chunk=0.1)
    quiet = InputGain(c)
    assert [quiet.gain_db(level) for level in (-90.0, -60.0, -45.0)] == [24.0, 24.0, 19.0]
    loud = InputGain(c)
    assert loud.gain_db(-90.0) == 24.0 and loud.gain_db(-15.0) == 0.0  # instant attack: no clipping
    # slow release: steady across a pause between words, back up after a long silence
    after = [loud.gain_db(-90.0) for _ in range(200)]
    assert after[30] == 0.0 and after[-1] == pytest.approx(9.0)  # 1 s on: 0 dB; 6.4 s on: -15 - 20 -> +9
    chunk = np.array([1000, -1000, 32000], np.int16)
    assert InputGain(c).apply(chunk, -15.0) is chunk  # 0 dB: untouched
    assert InputGain(c).apply(chunk, -40.0).tolist() == [5011, -5011, 32767]  # +14 dB, clipped at full scale
