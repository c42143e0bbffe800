"""The pose layer's exposure front end: a dim, flat picture stretched, a well-exposed one left alone."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.pose.exposure import MAX_GAIN, Exposure, exposed, exposure_table

skdata = pytest.importorskip("skimage.data")


def _luma_span(rgb: np.ndarray) -> float:
    luma = rgb.reshape(-1, 3).astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    lo, hi = np.percentile(luma, [1, 99])
    return float(hi - lo)


def _dim(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A gym at night: a third of the range, the blacks lifted, sensor noise."""
    x = 0.35 * np.power(rgb / 255.0, 1.4) + 0.04 + rng.normal(0.0, 0.02, rgb.shape)
    return np.asarray(np.clip(x * 255.0, 0, 255), np.uint8)


def test_a_well_exposed_picture_is_left_exactly_as_it_is() -> None:
    picture = np.asarray(skdata.astronaut(), np.uint8)
    table = exposure_table(picture)
    assert table is None
    assert exposed(picture, table) is picture


def test_a_dim_picture_is_stretched_to_the_range_and_keeps_its_order() -> None:
    picture = np.asarray(skdata.astronaut(), np.uint8)
    dim = _dim(picture, np.random.default_rng(0))
    assert _luma_span(dim) < 0.4 * 255
    table = exposure_table(dim)
    assert table is not None
    assert np.all(np.diff(table.astype(np.int16)) >= 0)  # brighter stays brighter
    out = exposed(dim, table)
    assert out.shape == dim.shape and out.dtype == np.uint8
    assert _luma_span(out) > 0.7 * 255


def test_the_gain_is_bounded_so_a_nearly_black_picture_is_not_made_noise() -> None:
    rng = np.random.default_rng(1)
    black = np.asarray(np.clip(rng.normal(8.0, 2.0, (120, 160, 3)), 0, 255), np.uint8)
    table = exposure_table(black)
    assert table is not None
    out = exposed(black, table)
    assert _luma_span(out) <= MAX_GAIN * _luma_span(black) + 2.0


def test_a_stream_follows_its_levels_so_the_picture_does_not_flicker() -> None:
    picture = np.asarray(skdata.astronaut(), np.uint8)
    dim = _dim(picture, np.random.default_rng(2))
    stream = Exposure()
    assert stream.table(picture) is None  # well exposed: nothing to do
    gains = []
    for _ in range(30):  # the light goes down: the stretch follows over frames, not at once
        table = stream.table(dim)
        gains.append(1.0 if table is None else (float(table[90]) - float(table[30])) / 60.0)
    assert np.all(np.diff(gains) >= 0.0) and gains[0] < gains[-1]
    assert _luma_span(exposed(dim, table)) > 0.7 * 255
    stream.reset()
    table = stream.table(dim)  # a new stream meters afresh
    assert table is not None and _luma_span(exposed(dim, table)) > 0.7 * 255


def test_a_black_first_frame_does_not_blow_out_the_frames_after_it() -> None:
    picture = np.asarray(skdata.astronaut(), np.uint8)
    stream = Exposure()
    stream.table(np.zeros_like(picture))  # a fade-in's first frame
    assert stream.table(picture) is None  # the next, well-exposed frame is left as it is
