"""Blending windows: partition of unity in the overlap, no taper on raster edges."""

from __future__ import annotations

import numpy as np
import pytest

from roadseg.inference.blending import BlendMode, profile, ramp, weight_window


@pytest.mark.parametrize("mode", list(BlendMode))
def test_ramps_sum_to_one_across_an_exact_overlap(mode):
    r = ramp(14, mode)
    assert r.shape == (14,)
    assert (r > 0).all() and (r <= 1).all()
    np.testing.assert_allclose(r + r[::-1], 1.0 if mode is not BlendMode.MEAN else 2.0, atol=1e-6)
    if mode is not BlendMode.MEAN:
        assert (np.diff(r) > 0).all()


@pytest.mark.parametrize("mode", ["linear", "cosine", "spline"])
def test_taper_only_inside_the_overlap_and_not_on_edges(mode):
    p = profile(224, 14, mode, start_edge=False, end_edge=False)
    assert (p[14:-14] == 1).all() and (p[:14] < 1).all() and (p[-14:] < 1).all()
    w = weight_window(224, 14, mode, edges=(True, False, False, True))
    assert (w[0, 14:] == 1).all(), "top side is on the raster edge: no taper"
    assert (w[:-14, -1] == 1).all(), "right side is on the raster edge: no taper"
    assert w[-1, 100] < 0.1 and w[100, 0] < 0.1
    assert not w.flags.writeable


def test_mean_is_flat():
    assert (weight_window(32, 8, "mean") == 1).all()


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(ValueError, match="mean, linear, cosine, spline"):
        BlendMode.parse("gaussian")
    assert BlendMode.parse("COSINE") is BlendMode.COSINE
