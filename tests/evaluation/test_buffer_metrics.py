"""Completeness, correctness and quality (Wiedemann et al. 1998) on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import LineString

from roadseg.evaluation.buffer import buffer_lengths, buffer_metrics, buffer_ratios

REF = [LineString([(0, 0), (100, 0)])]


def test_identical_networks():
    assert buffer_metrics(REF, REF) == {"completeness": 1.0, "correctness": 1.0, "quality": 1.0}


def test_offset_within_and_beyond_buffer():
    assert buffer_metrics(REF, [LineString([(0, 2), (100, 2)])], 3.0)["quality"] == 1.0
    far = buffer_metrics(REF, [LineString([(0, 5), (100, 5)])], 3.0)
    assert far == {"completeness": 0.0, "correctness": 0.0, "quality": 0.0}


def test_half_length_extraction():
    # the round end cap of the 3 m buffer reaches 3 m past the extraction's end
    m = buffer_metrics(REF, [LineString([(0, 0), (50, 0)])], 3.0)
    assert m["correctness"] == 1.0
    assert m["completeness"] == pytest.approx(53 / 100)
    assert m["quality"] == pytest.approx(50 / (50 + 47))


def test_spurious_road_lowers_correctness_only():
    ext = REF + [LineString([(0, 50), (100, 50)])]
    m = buffer_metrics(REF, ext, 3.0)
    assert m["completeness"] == 1.0 and m["correctness"] == pytest.approx(0.5)
    assert m["quality"] == pytest.approx(0.5)


def test_duplicates_are_not_counted_twice_and_empty_inputs():
    assert buffer_metrics(REF, REF + REF)["correctness"] == 1.0
    m = buffer_metrics(REF, [])
    assert m["completeness"] == 0.0 and m["quality"] == 0.0 and math.isnan(m["correctness"])


def test_pooled_lengths():
    a = buffer_lengths(REF, REF)
    b = buffer_lengths(REF, [], 3.0)
    np.testing.assert_allclose(a + b, [100, 200, 100, 100])
    assert buffer_ratios(a + b)["completeness"] == pytest.approx(0.5)
