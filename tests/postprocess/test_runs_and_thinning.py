"""The run-based cleanup, the per-component thinning and the cleaners' fast paths give
exactly what the pixel-wise / networkx ways give (issue 17: faster, same network)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from roadseg.postprocess import clean
from roadseg.postprocess.graph import skeleton_to_graph
from roadseg.postprocess.runs import gap_runs, mask_runs, paint, run_components
from roadseg.postprocess.thinning import thin
from roadseg.postprocess.threshold import cleanup_mask

EIGHT = np.ones((3, 3), bool)
FOUR = ndi.generate_binary_structure(2, 1)


def _by_labels(mask: np.ndarray, min_object_px: int, max_hole_px: int) -> np.ndarray:
    """The cleanup by whole-array labelling (what the runs replace)."""
    if min_object_px > 1 and mask.any():
        lab, _ = ndi.label(mask, structure=EIGHT)
        small = np.bincount(lab.ravel()) < min_object_px
        small[0] = False
        mask = mask & ~small[lab]
    if max_hole_px > 0 and not mask.all():
        lab, _ = ndi.label(~mask, structure=FOUR)
        fill = np.bincount(lab.ravel()) <= max_hole_px
        fill[0] = False
        mask = mask | fill[lab]
    return mask


def _random_masks(seed: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h, w = (int(x) for x in rng.integers(1, 40, 2))
        m = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        if rng.random() < 0.5:  # blobs and roads of some width, not only salt and pepper
            m = ndi.binary_dilation(m, iterations=int(rng.integers(1, 3)))
        out.append(m)
    return out


def test_runs_round_trip_and_components_match_scipy_labels():
    for m in _random_masks(0, 150):
        runs = mask_runs(m)
        back = np.zeros_like(m)
        paint(back, runs, True)
        assert (back == m).all()
        gaps = gap_runs(runs, *m.shape)
        filled = m.copy()
        paint(filled, gaps, True)
        assert filled.all() and not (m & ~(back)).any()
        for diagonal, structure, runs_of, mask_of in (
            (True, EIGHT, runs, m),
            (False, FOUR, gaps, ~m),
        ):
            n, comp = run_components(*runs_of, diagonal=diagonal)
            _, n_ref = ndi.label(mask_of, structure=structure)
            assert n == n_ref


@pytest.mark.parametrize("min_object_px,max_hole_px", [(0, 0), (1, 5), (6, 0), (10, 10), (50, 30)])
def test_cleanup_on_runs_is_the_labelled_cleanup(min_object_px, max_hole_px):
    for m in _random_masks(min_object_px * 100 + max_hole_px, 80):
        assert (
            cleanup_mask(m, min_object_px, max_hole_px) == _by_labels(m, min_object_px, max_hole_px)
        ).all()


def test_thinning_by_component_is_skimage_skeletonize():
    for m in _random_masks(7, 200):
        assert (thin(m) == skeletonize(m)).all()
    m = np.zeros((60, 80), bool)
    m[5:25, 5:45] = True  # a wide blob needs many passes ...
    m[40:43, 2:78] = True  # ... a thin road next to it few
    m[30, 30] = True  # an isolated pixel
    assert (thin(m) == skeletonize(m)).all()


def test_degree_and_cached_lengths_equal_networkx_and_edge_length_m():
    m = np.zeros((80, 80), bool)
    m[10, 5:75] = m[5:75, 40] = m[60, 10:70] = True
    m[20:30, 60] = True
    ring = np.zeros((80, 80), bool)
    ring[65:75, 65:75] = True
    ring[67:73, 67:73] = False
    g = skeleton_to_graph(skeletonize(m | ring))
    g.add_edge(0, 0, coords=np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 1.0]]))  # a self-loop
    assert all(clean.degree(g, n) == d for n, d in g.degree())
    gsd = (0.3, 0.31)
    clean.cache_lengths(g, gsd)
    for _, _, d in g.edges(data=True):
        assert d["_len"][2] == clean.edge_length_m(d["coords"], gsd)  # the same float
    assert isinstance(g, nx.MultiGraph)
