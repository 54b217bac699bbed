"""Cut scenes vectorised as their mosaic give the whole tile's network (a real 1500² tile).

The probabilities are the real Massachusetts label mask of tile 22679080_15
(roads as OSM has them), blurred, on a 1 m grid in EPSG:26986. Each cut scene
gets its own copy, weakened and noisy near its own edges as a model's
predictions are where they saw the least context, so overlapping scenes do not
hold the same values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin
from scipy import ndimage

from roadseg.raster.mosaic import plan_mosaic, write_mosaic
from roadseg.vector import VectorizeConfig, vectorize_raster

MASK = Path(__file__).resolve().parents[1] / "data" / "massachusetts_eval" / "22679080_15_mask.png"
X0, Y0 = 230000.0, 900000.0
N = 1500
CFG = VectorizeConfig()


@pytest.fixture(scope="module")
def prob() -> np.ndarray:
    mask = (np.asarray(Image.open(MASK)) > 0).astype(np.float32)
    return ndimage.gaussian_filter(mask, 1.5).clip(0, 1)


def _scene(path: Path, p: np.ndarray, r0: int, r1: int, c0: int, c1: int, edge: float) -> Path:
    """Rows r0:r1, cols c0:c1 of ``p`` as a scene's probability raster, scaled down to
    ``edge`` at the scene's own edges (linearly over 60 px) and with its own noise."""
    part = p[r0:r1, c0:c1]
    h, w = part.shape
    rr = np.minimum(np.arange(h) + 0.5, h - np.arange(h) - 0.5)[:, None]
    cc = np.minimum(np.arange(w) + 0.5, w - np.arange(w) - 0.5)[None, :]
    fade = edge + (1 - edge) * np.clip(np.minimum(rr, cc) / 60.0, 0, 1)
    noise = np.random.default_rng(r0 * 7 + c0).normal(0, 0.03, part.shape)
    codes = np.rint((part * fade + noise).clip(0, 1) * 255).astype(np.uint8)
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=1, dtype="uint8", crs="EPSG:26986",
        transform=from_origin(X0 + c0, Y0 - r0, 1, 1), tiled=True, blockxsize=256, blockysize=256,
    ) as ds:  # fmt: skip
        ds.write(codes[None])
    return path


def _network_of(tmp: Path, name: str, scenes: list[Path]):
    out = write_mosaic(plan_mosaic(scenes), tmp / f"{name}.mosaic.tif")
    return vectorize_raster(out, CFG)


def _ends_near(net, cols=(), rows=(), d=25.0) -> int:
    ends = [p for p, deg in zip(net.nodes.geometry, net.nodes["degree"]) if deg == 1]
    return sum(
        any(abs(p.x - (X0 + c)) < d for c in cols) or any(abs(p.y - (Y0 - r)) < d for r in rows)
        for p in ends
    )


@pytest.fixture(scope="module")
def whole(prob, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("whole")
    return vectorize_raster(_scene(tmp / "whole.tif", prob, 0, N, 0, N, edge=0.7), CFG)


def test_halves_overlapping_by_300_m_give_the_whole_tile(prob, whole, tmp_path):
    """Each road once: the overlap's roads are not doubled, and the seam adds no ends."""
    halves = [
        _scene(tmp_path / "left.tif", prob, 0, N, 0, 900, edge=0.7),
        _scene(tmp_path / "right.tif", prob, 0, N, 600, N, edge=0.7),
    ]
    net = _network_of(tmp_path, "halves", halves)
    assert whole.total_length_m > 20_000  # a real tile full of roads
    assert net.total_length_m == pytest.approx(whole.total_length_m, rel=0.02)
    assert len(net.edges) == pytest.approx(len(whole.edges), rel=0.05)
    assert _ends_near(net, cols=(600, 900)) <= _ends_near(whole, cols=(600, 900))


def test_quadrants_leave_no_more_road_ends_at_the_cuts_than_the_whole(prob, whole, tmp_path):
    """Plain cuts (no overlap), roads running along and across them: nothing lost there."""
    quads = [
        _scene(tmp_path / f"q{r}{c}.tif", prob, r, r + 750, c, c + 750, edge=0.85)
        for r in (0, 750)
        for c in (0, 750)
    ]
    net = _network_of(tmp_path, "quads", quads)
    assert _ends_near(net, cols=(750,), rows=(750,)) <= _ends_near(whole, cols=(750,), rows=(750,))
    assert net.total_length_m == pytest.approx(whole.total_length_m, rel=0.02)
