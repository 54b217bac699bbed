"""Resampling to the model GSD and back: tolerance rule, exact extent, output on the input grid."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from roadseg.raster.resample import model_grid, needs_resampling, warp_back, warped_view
from roadseg.raster.scene import open_scene
from roadseg.raster.write import StripWriter
from tests.raster.rasters import utm_transform, write_raster


@pytest.mark.parametrize(
    "scene,model,tol,expected",
    [
        (0.3, 1.0, 0.05, True),
        (1.04, 1.0, 0.05, False),
        (1.06, 1.0, 0.05, True),
        (None, 1.0, 0.05, False),
    ],
)
def test_tolerance_rule(scene, model, tol, expected):
    assert needs_resampling(scene, model, tol) is expected


def test_model_grid_covers_the_same_extent(tmp_path):
    p = write_raster(
        tmp_path / "s.tif", np.zeros((3, 301, 457), np.uint8), transform=utm_transform(0.3)
    )
    with open_scene(p) as s:
        g = model_grid(s, 1.0)
        assert (g.height, g.width) == (90, 137)
        assert g.transform @ (g.width, g.height) == pytest.approx(s.transform @ (s.width, s.height))
        assert g.transform.a == pytest.approx(0.3 * 457 / 137)


def test_warp_there_and_back_keeps_the_grid_edges_and_nodata(tmp_path):
    h, w = 150, 170
    data = np.full((3, h, w), 80, np.uint8)
    data[:, :, :20] = 0  # nodata strip on the left
    p = write_raster(tmp_path / "s.tif", data, transform=utm_transform(0.5), nodata=0)
    model_raster = tmp_path / "m.tif"
    out = tmp_path / "out.tif"
    with open_scene(p) as s:
        with warped_view(s, 1.0) as (view, g):
            img, valid = view.read_rows(0, view.height)
            assert img.shape == (3, 75, 85) and valid is not None and not valid[:, :8].any()
            with StripWriter(
                model_raster, g.height, g.width, s.crs, g.transform, dtype="float32"
            ) as tw:
                tw.write_rows(0, np.full((g.height, g.width), 0.25, np.float32), valid)
        with StripWriter(out, h, w, s.crs, s.transform, masked=True) as wr:
            warp_back(model_raster, s, wr)
    with rasterio.open(out) as d:
        assert d.transform == utm_transform(0.5) and d.shape == (h, w)
        prob, mask = d.read(1), d.dataset_mask() > 0
    expected_valid = np.ones((h, w), bool)
    expected_valid[:, :20] = False
    np.testing.assert_array_equal(mask, expected_valid)
    assert (prob[mask] == 64).all()  # round(0.25 * 255), edges included
