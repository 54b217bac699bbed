"""Threshold rules (fixed, Otsu, hysteresis), input kinds and cleanup sizes in m²."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.transform import from_origin

from roadseg.errors import InputError
from roadseg.postprocess import ThresholdSpec, resolve_threshold, threshold_mask
from roadseg.raster.source import open_source
from roadseg.vector import VectorizeConfig, vectorize_raster
from roadseg.vector.vectorize import skeleton_of_raster
from tests.postprocess.rasters import write_tif


def test_parse_threshold_specs():
    assert ThresholdSpec.parse("0.5") == ThresholdSpec("fixed", 0.5)
    assert ThresholdSpec.parse("otsu").kind == "otsu"
    h = ThresholdSpec.parse("hysteresis:0.3,0.6")
    assert (h.kind, h.low, h.high) == ("hysteresis", 0.3, 0.6)
    for bad in ("1.5", "abc", "hysteresis:0.7,0.2", "hysteresis:x"):
        with pytest.raises(InputError):
            ThresholdSpec.parse(bad)


def test_fixed_half_means_code_128_and_above():
    rt = resolve_threshold(ThresholdSpec("fixed", 0.5), np.zeros(256), on_codes=True)
    v = np.arange(256, dtype=np.uint8)[None, :]
    m = threshold_mask(v, rt)
    assert not m[0, 127] and m[0, 128]
    # v/255 >= t exactly, for every code and a few awkward t
    for t in (0.0, 0.1, 1 / 3, 128 / 255, 0.999, 1.0):
        rt = resolve_threshold(ThresholdSpec("fixed", t), np.zeros(256), on_codes=True)
        np.testing.assert_array_equal(threshold_mask(v, rt)[0], np.arange(256) / 255 >= t)


def test_otsu_splits_a_bimodal_histogram():
    rng = np.random.default_rng(0)
    v = (
        np.concatenate([rng.normal(40, 10, 5000), rng.normal(200, 10, 1000)])
        .clip(0, 255)
        .astype(np.uint8)
    )
    from skimage.filters import threshold_otsu

    rt = resolve_threshold(ThresholdSpec("otsu"), np.bincount(v, minlength=256), on_codes=True)
    m = threshold_mask(v, rt)
    # same cut as scikit-image on the pixels themselves, and it separates the two modes
    np.testing.assert_array_equal(m, v > threshold_otsu(v))
    assert m.sum() == pytest.approx(1000, abs=5)


def test_hysteresis_keeps_only_components_reaching_high():
    a = np.zeros((20, 40), np.uint8)
    a[5, 2:18] = 100  # low only
    a[12, 2:30] = 100
    a[12, 29] = 200  # one high pixel connects the whole second line
    rt = resolve_threshold(
        ThresholdSpec("hysteresis", low=0.3, high=0.6), np.zeros(256), on_codes=True
    )
    m = threshold_mask(a, rt)
    assert not m[5].any()
    assert m[12, 2:30].all()


def test_binary01_mask_is_detected(tmp_path):
    m = np.zeros((40, 120), np.uint8)
    m[18:23, :] = 1
    info = open_source(write_tif(tmp_path / "m01.tif", m))
    assert info.kind == "binary01"
    net = vectorize_raster(tmp_path / "m01.tif")
    assert len(net.edges) == 1 and net.edges.length_m.iloc[0] == pytest.approx(119, abs=1)


def test_float_probabilities_and_nodata(tmp_path):
    p = np.zeros((40, 120), np.float32)
    p[18:23, :] = 0.8
    p[18:23, 50:60] = np.nan  # nodata gap of 10 px, bridged (collinear)
    net = vectorize_raster(write_tif(tmp_path / "p.tif", p))
    assert len(net.edges) == 1 and bool(net.edges.bridged.iloc[0])
    assert net.edges.mean_prob.iloc[0] == pytest.approx(0.8, abs=1e-6)
    u = np.zeros((40, 120), np.uint8)
    u[18:23, :] = 200
    u[18:23, 50:60] = 7
    net = vectorize_raster(write_tif(tmp_path / "u.tif", u, nodata=7))
    assert len(net.edges) == 1 and net.edges.mean_prob.iloc[0] == pytest.approx(200 / 255, abs=1e-6)


def test_float_values_outside_unit_interval_are_refused(tmp_path):
    p = np.full((10, 10), 3.0, np.float32)
    with pytest.raises(InputError, match="p.tif"):
        vectorize_raster(write_tif(tmp_path / "p.tif", p))


def test_cleanup_areas_scale_with_gsd(tmp_path):
    # a 6x6 px blob: 36 m² at 1 m (kept with min_object 30 m²), 9 m² at 0.5 m (removed)
    m = np.zeros((40, 40), bool)
    m[10:16, 10:16] = True
    m[25:28, 25:28] = True  # 9 px
    cfg = VectorizeConfig(min_object_m2=30.0, max_hole_m2=0.0)
    at1 = write_tif(tmp_path / "a.tif", m, transform=from_origin(0, 0, 1.0, 1.0))
    at05 = write_tif(tmp_path / "b.tif", m, transform=from_origin(0, 0, 0.5, 0.5))
    for path, expect in ((at1, 36), (at05, 0)):
        out = tmp_path / f"mask_{path.stem}.tif"
        skeleton_of_raster(path, cfg, mask_out=out)
        import rasterio

        with rasterio.open(out) as ds:
            assert (ds.read(1) > 0).sum() == expect


def test_small_holes_are_filled(tmp_path):
    m = np.zeros((40, 40), bool)
    m[5:35, 5:35] = True
    m[10:12, 10:12] = False  # 4 m² hole
    m[20:27, 20:27] = False  # 49 m² hole
    out = tmp_path / "mask.tif"
    skeleton_of_raster(
        write_tif(tmp_path / "m.tif", m), VectorizeConfig(max_hole_m2=10.0), mask_out=out
    )
    import rasterio

    with rasterio.open(out) as ds:
        got = ds.read(1) > 0
    assert got[10:12, 10:12].all() and not got[20:27, 20:27].any()
