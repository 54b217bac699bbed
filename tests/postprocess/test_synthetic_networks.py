"""Synthetic masks with known answers, through the whole vectorize_raster stage."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import disk

from roadseg.vector import VectorizeConfig, vectorize_raster
from tests.postprocess.rasters import write_tif


def _net(tmp_path, mask, **cfg):
    return vectorize_raster(write_tif(tmp_path / "m.tif", mask), VectorizeConfig(**cfg))


def test_straight_road_crossing_the_raster_is_one_edge_of_full_length(tmp_path):
    m = np.zeros((60, 200), bool)
    m[27:34, :] = True  # 7 m wide, crosses the whole raster at 1 m/px
    net = _net(tmp_path, m)
    assert len(net.edges) == 1 and len(net.nodes) == 2
    # the skeleton reaches both borders: pixel centres of col 0 and col 199
    assert net.edges.length_m.iloc[0] == pytest.approx(199.0, abs=1.0)
    assert net.nodes.border.all()
    assert net.edges.width_m.iloc[0] == pytest.approx(7.0, abs=1.01)
    assert net.edges.mean_prob.iloc[0] == pytest.approx(1.0)


def test_straight_road_inside_the_raster(tmp_path):
    m = np.zeros((60, 200), bool)
    m[27:34, 30:170] = True
    net = _net(tmp_path, m)
    assert len(net.edges) == 1
    # Zhang-Suen pulls each end in by about half the width
    assert 140 - 7 <= net.edges.length_m.iloc[0] <= 140
    assert not net.nodes.border.any()


def test_border_none_pulls_skeleton_away_from_the_border(tmp_path):
    m = np.zeros((60, 200), bool)
    m[27:34, :] = True
    net = _net(tmp_path, m, border="none")
    assert net.edges.length_m.iloc[0] < 199.0 - 3


def test_cross_gives_one_junction_with_four_edges(tmp_path):
    m = np.zeros((141, 141), bool)
    m[67:74, 10:131] = True
    m[10:131, 67:74] = True
    net = _net(tmp_path, m)
    assert len(net.edges) == 4
    assert sorted(net.nodes.degree.tolist()) == [1, 1, 1, 1, 4]
    centre = net.nodes[net.nodes.degree == 4].geometry.iloc[0]
    # node at the crossing's centre pixel (row 70, col 70) -> x0 + 70.5, y0 - 70.5
    assert centre.x == pytest.approx(448_000 + 70.5, abs=1.0)
    assert centre.y == pytest.approx(5_411_000 - 70.5, abs=1.0)


def test_t_junction_defaults_give_three_edges(tmp_path):
    m = np.zeros((120, 160), bool)
    m[30:37, 10:150] = True
    m[30:110, 77:84] = True
    net = _net(tmp_path, m)
    assert sorted(net.nodes.degree.tolist()) == [1, 1, 1, 3]
    assert len(net.edges) == 3


def test_ring_is_one_closed_edge(tmp_path):
    m = np.zeros((100, 100), bool)
    m[disk((50, 50), 35)] = True
    m[disk((50, 50), 29)] = False
    net = _net(tmp_path, m)
    assert len(net.edges) == 1 and len(net.nodes) == 1
    e = net.edges.iloc[0]
    assert e.u == e.v and e.geometry.is_ring
    assert net.nodes.degree.iloc[0] == 2
    assert e.length_m == pytest.approx(2 * np.pi * 32, rel=0.08)


def test_three_pixel_spur_on_a_t_is_pruned(tmp_path):
    m = np.zeros((60, 200), bool)
    m[27:34, 10:190] = True
    m[24:27, 99:102] = True  # a 3 px stub on the road's edge
    kept = _net(tmp_path, m, min_spur_m=0.0, junction_merge_m=0.0)
    assert len(kept.edges) == 3  # the spur is there without pruning ...
    net = _net(tmp_path, m)
    assert len(net.edges) == 1  # ... and pruned (then the road re-joined) with the defaults
    assert sorted(net.nodes.degree.tolist()) == [1, 1]


def _gap_mask(offset: int) -> np.ndarray:
    m = np.zeros((80, 200), bool)
    m[37:42, 20:90] = True
    m[37 + offset : 42 + offset, 100:180] = True  # 10 px gap
    return m


def test_collinear_gap_is_bridged(tmp_path):
    net = _net(tmp_path, _gap_mask(0), bridge_m=5.0, bridge_collinear_m=25.0, bridge_angle_deg=25.0)
    assert len(net.edges) == 1
    assert bool(net.edges.bridged.iloc[0])
    assert sorted(net.nodes.degree.tolist()) == [1, 1]


def test_offset_gap_is_not_bridged(tmp_path):
    net = _net(
        tmp_path, _gap_mask(12), bridge_m=5.0, bridge_collinear_m=25.0, bridge_angle_deg=25.0
    )
    assert len(net.edges) == 2
    assert not net.edges.bridged.any()


def test_short_gap_is_bridged_with_defaults_even_when_offset(tmp_path):
    # defaults: anything under 15 m is bridged
    m = np.zeros((80, 200), bool)
    m[37:42, 20:90] = True
    m[40:45, 98:180] = True  # 8 px gap, 3 px offset
    net = _net(tmp_path, m)
    assert len(net.edges) == 1 and bool(net.edges.bridged.iloc[0])


def test_short_components_are_dropped_and_spurs_at_the_border_kept(tmp_path):
    m = np.zeros((100, 200), bool)
    m[47:54, 20:180] = True
    m[10:15, 150:170] = True  # 20 m dash: below min_component_m = 30
    m[0:47, 100:105] = True  # a 47 m branch reaching the top border
    m[54:60, 60:65] = True  # a 6 m stub: a spur
    net = _net(tmp_path, m, min_spur_m=50.0)
    # the dash is gone, the border branch kept although shorter than min_spur_m, the stub pruned
    assert len(net.edges) == 3
    assert sorted(net.nodes.degree.tolist()) == [1, 1, 1, 3]
    assert net.nodes.border.sum() == 1


def test_simplify_keeps_node_positions(tmp_path):
    m = np.zeros((200, 200), bool)
    rr = np.arange(20, 180)
    for r in rr:  # a diagonal staircase road
        m[r, max(r - 3, 0) : r + 4] = True
    raw = _net(tmp_path, m, simplify_m=0.0)
    simp = _net(tmp_path, m, simplify_m=1.0)
    assert len(raw.edges) == len(simp.edges) == 1
    g0, g1 = raw.edges.geometry.iloc[0], simp.edges.geometry.iloc[0]
    assert len(g1.coords) < len(g0.coords) / 5
    assert g0.coords[0] == g1.coords[0] and g0.coords[-1] == g1.coords[-1]
    assert g1.hausdorff_distance(g0) <= 1.0 + 1e-9
