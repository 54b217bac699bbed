"""Seams that hold: a real 1500² tile cut into 2 and into 4 merges into the whole tile's network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from roadseg.vector import VectorizeConfig, merge_networks, vectorize_raster
from roadseg.vector.network import RoadNetwork

MASK = Path(__file__).resolve().parents[1] / "data" / "massachusetts_eval" / "22679080_15_mask.png"
X0, Y0 = 230000.0, 900000.0  # EPSG:26986, 1 m pixels (the tiles' CRS; the PNG has none)
CUT = 750
# as the many-scene runner does: stubs cut short by a scene border are kept until the merge
CFG = VectorizeConfig(keep_border_components=True)


def _tile(tmp: Path, mask: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> RoadNetwork:
    path = tmp / f"part_{r0}_{c0}.tif"
    part = mask[r0:r1, c0:c1]
    with rasterio.open(
        path, "w", driver="GTiff", width=part.shape[1], height=part.shape[0], count=1,
        dtype="uint8", transform=from_origin(X0 + c0, Y0 - r0, 1, 1), crs="EPSG:26986",
    ) as ds:  # fmt: skip
        ds.write(part[None])
    return vectorize_raster(path, CFG)


@pytest.fixture(scope="module")
def tile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seams")
    mask = (np.asarray(Image.open(MASK)) > 0).astype(np.uint8) * 255
    n = mask.shape[0]
    whole = _tile(tmp, mask, 0, n, 0, n)
    halves = [_tile(tmp, mask, 0, n, c0, c1) for c0, c1 in ((0, CUT), (CUT, n))]
    quarters = [
        _tile(tmp, mask, r0, r1, c0, c1)
        for r0, r1 in ((0, CUT), (CUT, n))
        for c0, c1 in ((0, CUT), (CUT, n))
    ]
    return whole, {"halves": (halves, True), "quarters": (quarters, False)}


def _near_cut(xy: np.ndarray, rows_cut: bool, d: float = 25.0) -> np.ndarray:
    near = np.abs(xy[:, 0] - (X0 + CUT)) < d
    return near | (np.abs(xy[:, 1] - (Y0 - CUT)) < d) if rows_cut else near


def _nodes(net: RoadNetwork, keep) -> np.ndarray:
    xy = np.array([(p.x, p.y) for p in net.nodes.geometry]).reshape(-1, 2)
    return xy[keep(net.nodes.degree.to_numpy())]


def _dangling_at_cuts(merged: RoadNetwork, whole: RoadNetwork, rows_cut: bool) -> list:
    """End points near a cut where the whole tile has no end point (within 15 m)."""
    ends = _nodes(merged, lambda d: d == 1)
    whole_ends = _nodes(whole, lambda d: d == 1)
    out = []
    for p in ends[_near_cut(ends, rows_cut)]:
        if np.hypot(*(whole_ends - p).T).min() > 15.0:
            out.append((round(p[0] - X0), round(Y0 - p[1])))
    return out


@pytest.mark.parametrize("cut", ["halves", "quarters"])
@pytest.mark.parametrize("seam_m", [3.0, 10.0])  # merge_networks' default; the runner's
def test_cut_tile_merges_to_the_whole(tile, cut, seam_m):
    whole, parts = tile
    nets, halves_only = parts[cut]
    rows_cut = not halves_only
    merged = merge_networks(nets, seam_m=seam_m)
    # no road end left dangling at a cut where the whole tile's road goes on
    assert _dangling_at_cuts(merged, whole, rows_cut) == []
    # the junctions of the whole near the cuts are there (T-junctions included)
    merged_j = _nodes(merged, lambda d: d >= 3)
    for p in (j := _nodes(whole, lambda d: d >= 3))[_near_cut(j, rows_cut)]:
        assert np.hypot(*(merged_j - p).T).min() < 6.0, (p[0] - X0, Y0 - p[1])
    assert merged.total_length_m == pytest.approx(whole.total_length_m, rel=0.03)
    assert abs(merged.total_length_m / whole.total_length_m - 1) < 0.005  # measured: ≤ 0.06 %
    ends = (merged.nodes.degree == 1).sum()
    assert abs(ends - (whole.nodes.degree == 1).sum()) <= 1


def test_end_to_end_snapping_alone_leaves_ends_dangling(tile):
    """Without the end-to-edge rule (join_m = 0) the same cut leaves roads dangling: a cross
    street from one half stops short of the main road of the other (the whole's T-junction at
    about (754, 526))."""
    whole, parts = tile
    halves, _ = parts["halves"]
    old = merge_networks(halves, seam_m=10.0, join_m=0.0)
    assert (750, 508) in _dangling_at_cuts(old, whole, False)
    new = merge_networks(halves, seam_m=10.0)
    t = _nodes(new, lambda d: d == 3)
    assert np.hypot(t[:, 0] - (X0 + 754), t[:, 1] - (Y0 - 526)).min() < 5.0
    joins = new.edges[new.edges.bridged]
    assert len(joins) > (whole.edges.bridged).sum()  # the seam joins are marked as bridged
    assert new.metadata["join_m"] == 25.0
