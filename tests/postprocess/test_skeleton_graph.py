"""skeleton_to_graph on hand-drawn skeletons: topology rules, int64 coordinates, full pixel paths."""

from __future__ import annotations

import numpy as np
from skimage.draw import circle_perimeter, line
from skimage.morphology import skeletonize

from roadseg.postprocess import SkeletonPixels, skeleton_to_graph
from tests.postprocess.rasters import massachusetts_crop


def _draw(shape, *segments):
    a = np.zeros(shape, bool)
    for r0, c0, r1, c1 in segments:
        rr, cc = line(r0, c0, r1, c1)
        a[rr, cc] = True
    return a


def _check_paths(g, skel: np.ndarray) -> None:
    """Every edge path is an 8-connected pixel chain whose ends are node pixels; edge paths and
    node pixels together cover the skeleton."""
    covered = np.zeros_like(skel)
    for _, _, d in g.edges(data=True):
        p = d["path"]
        assert p.dtype == np.int64
        steps = np.abs(np.diff(p, axis=0))
        assert (steps.max(axis=1) == 1).all()
        assert skel[p[:, 0], p[:, 1]].all()
        covered[p[:, 0], p[:, 1]] = True
        np.testing.assert_allclose(d["coords"][0], g.nodes[d["start"]]["pos"])
        np.testing.assert_allclose(d["coords"][-1], g.nodes[d["end"]]["pos"])
    for n in g.nodes:
        r, c = np.rint(g.nodes[n]["pos"]).astype(int)
        covered[r, c] |= skel[r, c]
    # pixels not on any path can only be inner pixels of junction clusters
    assert (covered | ~skel).sum() >= skel.size - 4 * g.number_of_nodes()


def test_staircase_corners_are_not_junctions():
    a = _draw((40, 40), (5, 5, 30, 30), (30, 30, 30, 38))
    g = skeleton_to_graph(a)
    assert g.number_of_edges() == 1 and sorted(d for _, d in g.degree()) == [1, 1]


def test_junction_cluster_is_one_node():
    # a plus drawn 2 px thick at the centre gives several adjacent junction pixels
    a = _draw((41, 41), (20, 2, 20, 38), (2, 20, 38, 20))
    a[19:22, 19:22] = True
    g = skeleton_to_graph(a)
    degs = sorted(d for _, d in g.degree())
    assert degs == [1, 1, 1, 1, 4]


def test_pure_ring_is_one_closed_edge():
    a = np.zeros((50, 50), bool)
    a[circle_perimeter(25, 25, 18)] = True
    a = skeletonize(a)
    g = skeleton_to_graph(a)
    assert g.number_of_nodes() == 1 and g.number_of_edges() == 1
    ((u, v, d),) = g.edges(data=True)
    assert u == v and np.array_equal(d["path"][0], d["path"][-1])
    _check_paths(g, a)


def test_self_loop_on_a_road_is_kept():
    # a "lollipop": a loop attached to a road at one junction
    a = np.zeros((60, 80), bool)
    a[circle_perimeter(30, 50, 12)] = True
    a = skeletonize(a)
    a |= _draw(a.shape, (30, 5, 30, 38))
    g = skeleton_to_graph(a)
    loops = [(u, v) for u, v in g.edges() if u == v]
    assert len(loops) == 1
    assert sorted(d for _, d in g.degree()) == [1, 3]


def test_parallel_edges_are_kept():
    # two different roads between the same two junctions (an "eye"), plus two tails
    a = _draw(
        (60, 100),
        (30, 5, 30, 20),
        (30, 80, 30, 95),
        (30, 20, 15, 50),
        (15, 50, 30, 80),
        (30, 20, 45, 50),
        (45, 50, 30, 80),
    )
    g = skeleton_to_graph(skeletonize(a))
    degs = sorted(d for _, d in g.degree())
    assert degs == [1, 1, 3, 3]
    j = [n for n, d in g.degree() if d == 3]
    assert g.number_of_edges(j[0], j[1]) == 2


def test_coordinates_beyond_int16_are_exact():
    w = 70_000
    cols = np.arange(40_000, 40_101, dtype=np.int64)
    flat = 5 * w + cols
    sk = SkeletonPixels(
        (10, w), flat, np.ones(flat.size, np.float32), np.ones(flat.size, np.float32)
    )
    g = skeleton_to_graph(sk)
    assert g.number_of_edges() == 1
    ((_, _, d),) = g.edges(data=True)
    assert {d["path"][0, 1], d["path"][-1, 1]} == {40_000, 40_100}
    assert sorted(g.nodes[n]["pos"][1] for n in g.nodes) == [40_000.0, 40_100.0]


def test_real_skeleton_is_fully_covered():
    a = skeletonize(massachusetts_crop() > 0)
    g = skeleton_to_graph(a)
    assert g.number_of_edges() > 10
    _check_paths(g, a)
    on_paths = np.zeros_like(a)
    for _, _, d in g.edges(data=True):
        on_paths[d["path"][:, 0], d["path"][:, 1]] = True
    node_px = sum(1 for n in g.nodes if g.degree(n) == 0)
    # only isolated pixels and inner junction-cluster pixels lie off every path
    assert (a & ~on_paths).sum() <= node_px + 4 * sum(1 for _, d in g.degree() if d >= 3)
