"""Block-wise skeleton/network with a halo == whole-image result, on a real Massachusetts crop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from roadseg.postprocess import (
    ArrayReader,
    BlockParams,
    ThresholdSpec,
    resolve_threshold,
    skeletonize_blocks,
)
from roadseg.vector import VectorizeConfig, vectorize_raster
from roadseg.vector.vectorize import skeleton_of_raster
from tests.postprocess.rasters import massachusetts_crop, write_tif


def _prob_like(mask: np.ndarray) -> np.ndarray:
    """A noisy probability map from a label mask (blurred roads, speckle, one big blob)."""
    rng = np.random.default_rng(1)
    p = ndi.gaussian_filter(mask.astype(float), 2.5) + rng.normal(0, 35, mask.shape)
    p = ndi.gaussian_filter(p, 1.2)
    p[40:120, 250:330] = 230  # a parking-lot blob deeper than the halo
    return np.clip(p, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    m = massachusetts_crop()
    assert m.shape == (384, 384) and (m > 0).mean() > 0.02
    return m


@pytest.mark.parametrize(
    "spec,min_obj,max_hole,pad",
    [
        (ThresholdSpec(), 0, 0, 0),
        (ThresholdSpec(), 50, 30, 12),
        (ThresholdSpec("hysteresis", low=0.25, high=0.7), 20, 10, 12),
    ],
)
def test_skeleton_blocks_equal_whole_image(crop, spec, min_obj, max_hole, pad):
    for values in (crop, _prob_like(crop)):
        rt = resolve_threshold(spec, np.bincount(values.ravel(), minlength=256), on_codes=True)
        params = BlockParams(rt, min_obj, max_hole, pad)
        whole = skeletonize_blocks(ArrayReader(values, pad), params, block_size=4096, halo=2)
        assert len(whole) > 500
        for block, halo in ((64, 2), (100, 12), (128, 40)):
            blocks = skeletonize_blocks(
                ArrayReader(values, pad), params, block_size=block, halo=halo
            )
            np.testing.assert_array_equal(blocks.flat, whole.flat)
            np.testing.assert_array_equal(blocks.prob, whole.prob)
            np.testing.assert_array_equal(blocks.dist, whole.dist)


def test_network_blocks_equal_whole_image(tmp_path, crop):
    for name, values in (("mask", crop), ("prob", _prob_like(crop))):
        path = write_tif(tmp_path / f"{name}.tif", values)
        whole = vectorize_raster(path, VectorizeConfig(block_size=4096))
        blocks = vectorize_raster(path, VectorizeConfig(block_size=96, halo=8))
        assert len(whole.edges) > 5
        assert sorted(whole.edges.geometry.to_wkt()) == sorted(blocks.edges.geometry.to_wkt())
        assert sorted(whole.nodes.geometry.to_wkt()) == sorted(blocks.nodes.geometry.to_wkt())
        np.testing.assert_allclose(np.sort(whole.edges.length_m), np.sort(blocks.edges.length_m))


def test_written_skeleton_equals_sparse_skeleton(tmp_path, crop):
    import rasterio

    path = write_tif(tmp_path / "m.tif", crop)
    sk, _, _ = skeleton_of_raster(
        path,
        VectorizeConfig(block_size=100),
        skeleton_out=tmp_path / "sk.tif",
        mask_out=tmp_path / "mask.tif",
    )
    with rasterio.open(tmp_path / "sk.tif") as ds:
        dense = ds.read(1) > 0
        assert ds.crs.to_epsg() == 32631
    np.testing.assert_array_equal(dense, sk.to_array())
    with rasterio.open(tmp_path / "mask.tif") as ds:
        assert ((ds.read(1) > 0) >= dense).all()  # skeleton inside the mask


def test_all_ones_mask_by_blocks_is_the_whole(tmp_path):
    path = write_tif(tmp_path / "ones.tif", np.full((300, 300), 255, np.uint8))
    net = vectorize_raster(path, VectorizeConfig(block_size=64, halo=4))
    whole = vectorize_raster(path, VectorizeConfig(block_size=4096))
    assert sorted(net.edges.geometry.to_wkt()) == sorted(whole.edges.geometry.to_wkt())
    assert np.isfinite(net.edges.length_m).all()
