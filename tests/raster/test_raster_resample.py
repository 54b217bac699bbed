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


def _gdal_resample(src_path, dst_shape, transform, resampling, tmp_path):
    from rasterio.vrt import WarpedVRT

    with rasterio.open(src_path) as src, WarpedVRT(
        src, crs=src.crs, transform=transform, width=dst_shape[1], height=dst_shape[0],
        resampling=resampling,
    ) as vrt:  # fmt: skip
        return vrt.read()


def test_area_pool_equals_gdal_average_for_integer_factors(tmp_path):
    import torch
    from rasterio.enums import Resampling

    from roadseg.raster.resample import area_pool

    for f in (2, 3):
        data = np.random.default_rng(f).integers(0, 256, (3, 24 * f, 30 * f), dtype=np.uint8)
        p = write_raster(tmp_path / f"s{f}.tif", data, transform=utm_transform(0.5))
        t = utm_transform(0.5) @ rasterio.Affine.scale(f)
        gdal = _gdal_resample(p, (24, 30), t, Resampling.average, tmp_path)
        ours = np.moveaxis(
            area_pool(torch.from_numpy(np.moveaxis(data, 0, -1).copy()), f).numpy(), -1, 0
        )
        exact = data.reshape(3, 24, f, 30, f).astype(np.float64).mean(axis=(2, 4))
        tie = exact % 1 == 0.5  # GDAL rounds these up but for a few float-rounding cases (~1 %)
        np.testing.assert_array_equal(ours[~tie], gdal[~tie])
        assert np.abs(ours[tie] - gdal[tie]).max(initial=0) <= 1
        assert (ours[tie] == gdal[tie]).mean() > 0.95 if tie.any() else True


def test_upsampler_equals_gdal_bilinear_and_streams_by_rows(tmp_path):
    import torch
    from rasterio.enums import Resampling

    from roadseg.raster.resample import Upsampler

    hm, wm, f = 37, 41, 2
    values = np.random.default_rng(0).random((hm, wm), dtype=np.float32)
    p = write_raster(tmp_path / "m.tif", values[None], transform=utm_transform(1.0))
    gdal = _gdal_resample(p, (hm * f, wm * f), utm_transform(0.5), Resampling.bilinear, tmp_path)[0]
    out = np.full((hm * f, wm * f), np.nan, np.float32)
    spans = []

    def sink(row_off, v, valid):
        assert bool(valid.all())
        spans.append((row_off, v.shape[0]))
        out[row_off : row_off + v.shape[0]] = v.numpy()

    up = Upsampler((hm, wm), (hm * f, wm * f), sink, torch.device("cpu"), masked=False)
    t = torch.from_numpy(values)
    for r in range(0, hm, 5):  # model rows arrive in strips of 5
        up.push(r, t[r : r + 5], torch.ones((min(5, hm - r), wm), dtype=torch.bool))
    up.finish()
    assert spans[0][0] == 0 and all(a + n == b for (a, n), (b, _) in zip(spans, spans[1:]))
    np.testing.assert_allclose(out, gdal, atol=2e-6)
    # masked: invalid model pixels do not contribute; a scene pixel is invalid only when
    # every model pixel it interpolates from is (as in GDAL's warper)
    got = {}
    valid = torch.ones((hm, wm), dtype=torch.bool)
    valid[9:12, 9:12] = False
    up = Upsampler((hm, wm), (hm * f, wm * f), lambda r, v, m: got.update(v=v, m=m),
                   torch.device("cpu"), masked=True)  # fmt: skip
    up.push(0, t * valid, valid)
    m = got["m"].numpy()
    assert not m[19:23, 19:23].any() and m[18, 18:24].all() and m[18:24, 23].all()
    assert np.isfinite(got["v"].numpy()).all() and (got["v"].numpy()[~m] == 0).all()
    up.finish()
