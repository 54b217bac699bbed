"""The mosaic of probability rasters: grid rule, overlap rule, no-data, warping, islands."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from roadseg.errors import InputError
from roadseg.raster.mosaic import islands, plan_mosaic, write_mosaic

CRS = "EPSG:26986"


def _write(path, values, x0=1000.0, y0=5000.0, size=1.0, crs=CRS, mask=None):
    values = np.asarray(values, np.uint8)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(
            path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
            dtype="uint8", crs=crs, transform=from_origin(x0, y0, size, size),
        ) as ds:  # fmt: skip
            ds.write(values[None])
            if mask is not None:
                ds.write_mask(np.where(mask, 255, 0).astype(np.uint8))
    return path


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.read_masks(1), ds.transform, ds.crs


def test_one_raster_is_its_own_mosaic(tmp_path):
    rng = np.random.default_rng(0)
    v = rng.integers(0, 256, (300, 700))
    a = _write(tmp_path / "a.tif", v)
    plan = plan_mosaic([a])
    assert plan.grid.shape == (300, 700) and plan.sources[0].offset == (0, 0)
    got, mask, transform, crs = _read(write_mosaic(plan, tmp_path / "m.tif", block=256))
    assert np.array_equal(got, v) and (mask == 255).all()
    assert transform == from_origin(1000.0, 5000.0, 1, 1) and crs.to_epsg() == 26986


def test_identical_copies_give_the_raster_itself(tmp_path):
    v = np.random.default_rng(1).integers(0, 256, (200, 260))
    paths = [_write(tmp_path / f"{k}.tif", v) for k in "abc"]
    got, *_ = _read(write_mosaic(plan_mosaic(paths), tmp_path / "m.tif", block=128))
    assert np.array_equal(got, v)


def test_overlap_fades_from_one_scene_to_the_other_without_a_step(tmp_path):
    """Side by side with 40 px of overlap: outside it each scene's own values; across it
    a monotone fade (the weight of a scene falls to 0 at its edge); the shared top and
    bottom edges leave the fade as it is."""
    a = _write(tmp_path / "a.tif", np.full((50, 100), 60))
    b = _write(tmp_path / "b.tif", np.full((50, 100), 200), x0=1060.0)
    plan = plan_mosaic([a, b])
    assert plan.grid.shape == (50, 160) and plan.sources[1].offset == (0, 60)
    got, mask, *_ = _read(write_mosaic(plan, tmp_path / "m.tif", block=64))
    assert (got[:, :60] == 60).all() and (got[:, 100:] == 200).all() and (mask == 255).all()
    fade = got[:, 60:100].astype(int)
    assert (np.diff(fade, axis=1) >= 0).all()
    assert (fade == fade[25]).all()  # the same fade on every row, the edge rows included
    assert abs(int(fade[0, 19]) + int(fade[0, 20]) - 260) <= 2  # the middle: the plain mean
    assert np.abs(np.diff(got.astype(int), axis=1)).max() <= 5  # no step anywhere


def test_no_data_weighs_nothing_and_uncovered_pixels_are_no_data(tmp_path):
    m = np.ones((40, 40), bool)
    m[10:20, 10:20] = False  # a no-imagery patch in a
    a = _write(tmp_path / "a.tif", np.full((40, 40), 30), mask=m)
    b = _write(tmp_path / "b.tif", np.full((40, 40), 220), x0=1000.0 + 20, y0=5000.0 - 20)
    got, mask, *_ = _read(write_mosaic(plan_mosaic([a, b]), tmp_path / "m.tif"))
    assert got.shape == (60, 60)
    assert (got[10:20, 10:20][m[10:20, 10:20] == 0] == 0).all()  # a's hole, no b there
    assert (mask[10:20, 10:20] == 0).all()
    assert (mask[40:, :20] == 0).all() and (got[40:, :20] == 0).all()  # covered by neither
    assert (mask[:20, 40:] == 0).all()
    assert got[30, 30] not in (30, 220)  # overlap: a blend


def test_a_scene_on_another_grid_is_warped_onto_the_first(tmp_path):
    """A scene at 2 m (and a half-pixel shift) is resampled onto the first scene's 1 m grid."""
    yy, xx = np.mgrid[0:100, 0:100]
    a = _write(tmp_path / "a.tif", (xx * 2).clip(0, 255))
    yy2, xx2 = np.mgrid[0:50, 0:60]
    b = _write(tmp_path / "b.tif", (xx2 * 4 + 1).clip(0, 255), x0=1000.5, size=2.0)
    plan = plan_mosaic([a, b])
    assert plan.sources[1].offset is None and plan.warped == [b]
    assert plan.grid.transform.a == 1.0 and plan.grid.shape == (100, 121)
    got, mask, *_ = _read(write_mosaic(plan, tmp_path / "m.tif"))
    # both describe the same ramp (2 per metre east of x = 1000): the mosaic keeps it
    ramp = np.arange(121) * 2.0
    inside = slice(2, 98)
    assert np.abs(got[inside, 2:118].astype(float) - ramp[2:118].clip(0, 255)).max() <= 2


def test_another_crs_is_warped_and_a_missing_crs_is_refused(tmp_path):
    a = _write(tmp_path / "a.tif", np.full((60, 60), 100))
    # the same place in UTM 19N (Massachusetts), 1 m pixels
    from rasterio.warp import transform as warp_xy

    (x,), (y,) = warp_xy(CRS, "EPSG:32619", [1000.0 + 30], [5000.0 - 30])
    b = _write(tmp_path / "b.tif", np.full((60, 60), 100), x0=x - 30, y0=y + 30, crs="EPSG:32619")
    plan = plan_mosaic([a, b])
    assert plan.warped == [b] and plan.grid.crs.to_epsg() == 26986
    got, mask, *_ = _read(write_mosaic(plan, tmp_path / "m.tif"))
    assert (got[mask > 0] == 100).all()
    c = _write(tmp_path / "c.tif", np.zeros((10, 10)), crs=None)
    with pytest.raises(InputError, match="c.tif: cannot mosaic rasters with and without a CRS"):
        plan_mosaic([a, c])
    with pytest.raises(InputError, match="missing.tif"):
        plan_mosaic([a, tmp_path / "missing.tif"])


def test_islands_group_scenes_that_touch(tmp_path):
    v = np.zeros((100, 100))
    paths = [
        _write(tmp_path / "a.tif", v),
        _write(tmp_path / "b.tif", v, x0=1100.0),  # edge to edge with a
        _write(tmp_path / "c.tif", v, x0=5000.0),  # far away
        _write(tmp_path / "d.tif", v, x0=5105.0),  # 5 m from c
    ]
    plan = plan_mosaic(paths)
    assert islands(plan, 0.0) == [[0, 1], [2], [3]]
    assert islands(plan, 10.0) == [[0, 1], [2, 3]]


def test_readers_open_only_what_a_block_needs(tmp_path):
    """Five scenes in a row, at most two readers kept open: the mosaic is the same."""
    from roadseg.raster import mosaic

    v = np.arange(5 * 64).reshape(1, -1).repeat(32, axis=0) % 251
    paths = [
        _write(tmp_path / f"s{i}.tif", v[:, i * 64 : i * 64 + 64], x0=1000.0 + i * 64)
        for i in range(5)
    ]
    plan = plan_mosaic(paths)
    readers = mosaic._Readers(plan, keep=2)
    assert [r.src.path for r in readers.over(0, 32, 0, 64)] == [paths[0]]
    assert [r.src.path for r in readers.over(0, 32, 100, 200)] == paths[1:4]
    assert len(readers.open) == 3  # all the last block needed, no more
    readers.over(0, 32, 300, 320)
    assert list(readers.open) == [3, 4]  # the least recently used closed
    readers.close()
    got, *_ = _read(write_mosaic(plan, tmp_path / "m.tif", block=32))
    assert np.array_equal(got, v)
