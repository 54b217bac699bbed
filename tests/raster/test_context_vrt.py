"""A scene's context window: the VRT over its neighbours and the crop back (round trip)."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from roadseg.raster.context import (
    Neighbour,
    Rect,
    SceneContext,
    crop_to_scene,
    write_context_vrt,
)

CRS = "EPSG:32631"


def _write(path, a, x0, y0, **extra):
    prof = dict(
        driver="GTiff", height=a.shape[1], width=a.shape[2], count=a.shape[0],
        dtype=a.dtype.name, crs=CRS, transform=from_origin(x0, y0, 1, 1), **extra,
    )  # fmt: skip
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(a)
        ds.descriptions = tuple(f"band {k}" for k in range(1, a.shape[0] + 1))
    return path


def _quadrants(tmp_path, image):
    h, w = image.shape[1:]
    out = {}
    for r in (0, h // 2):
        for c in (0, w // 2):
            part = image[:, r : r + h // 2, c : c + w // 2]
            out[(r, c)] = _write(tmp_path / f"q{r}_{c}.tif", part, c, h - r)
    return out


def test_context_window_of_a_quadrant_is_the_window_of_the_whole(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (3, 40, 60), dtype=np.uint16)
    whole = _write(tmp_path / "whole.tif", image, 0, 40)
    parts = _quadrants(tmp_path, image)
    scene = parts[(20, 30)]  # bottom right; the window reaches 7 rows up, 9 columns left
    neighbours = tuple(
        Neighbour(str(p), Rect(r - 20, c - 30, 20, 30)) for (r, c), p in parts.items() if p != scene
    )
    ctx = SceneContext(Rect(-7, -9, 27, 39), neighbours, (20, 30))
    vrt = write_context_vrt(scene, ctx, tmp_path / "ctx.vrt")
    with rasterio.open(vrt) as v, rasterio.open(whole) as w:
        assert v.read().tolist() == w.read(window=Window(21, 13, 39, 27)).tolist()
        assert v.read_masks(1).all()  # every pixel is some scene's
        assert v.transform == w.window_transform(Window(21, 13, 39, 27))
        assert v.crs == w.crs and v.dtypes == w.dtypes
        assert v.descriptions == ("band 1", "band 2", "band 3")  # band choice reads them


def test_uncovered_and_nodata_pixels_are_masked_and_the_scene_paints_last(tmp_path):
    a = np.full((1, 4, 4), 50, np.uint8)
    a[0, 0, 0] = 0  # the scene's own no-data pixel
    scene = _write(tmp_path / "a.tif", a, 0, 4, nodata=0)
    b = _write(tmp_path / "b.tif", np.full((1, 4, 4), 90, np.uint8), 2, 4)  # overlaps 2 cols
    ctx = SceneContext(Rect(-1, 0, 5, 6), (Neighbour(str(b), Rect(0, 2, 4, 4)),), (4, 4))
    with rasterio.open(write_context_vrt(scene, ctx, tmp_path / "c.vrt")) as v:
        values, valid = v.read(1), v.read_masks(1) > 0
    assert not valid[0].any()  # the row above: no scene there
    assert not valid[1, 0]  # the scene's no-data stays no-data
    assert values[1:, 2:4].tolist() == [[50, 50]] * 4  # the scene's own pixels on top
    assert values[1:, 4:].tolist() == [[90, 90]] * 4 and valid[1:, 4:].all()


def test_crop_back_returns_the_scene_grid_values_tags_and_mask(tmp_path):
    rng = np.random.default_rng(2)
    prob = rng.integers(0, 255, (1, 30, 50), dtype=np.uint8)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        wide = _write(tmp_path / "wide.tif", prob, -10, 25)
        with rasterio.open(wide, "r+") as ds:
            mask = np.full((30, 50), 255, np.uint8)
            mask[7, 12] = 0
            ds.write_mask(mask)
            ds.update_tags(ROADSEG_THRESHOLD="0.25")
    ctx = SceneContext(Rect(-5, -10, 30, 50), (), (20, 35))
    out = crop_to_scene(wide, ctx, tmp_path / "prob.tif")
    with rasterio.open(out) as ds:
        assert ds.read(1).tolist() == prob[0, 5:25, 10:45].tolist()
        assert ds.transform == from_origin(0, 20, 1, 1)
        assert ds.tags()["ROADSEG_THRESHOLD"] == "0.25"
        assert (ds.read_masks(1) == 0).sum() == 1 and ds.read_masks(1)[2, 2] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prob.tif", "wide.tif"]


def test_relative_scene_paths_are_kept_absolute_in_the_vrt(tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    _write(tmp_path / "in" / "a.tif", np.full((1, 2, 2), 10, np.uint8), 0, 2)
    _write(tmp_path / "in" / "b.tif", np.full((1, 2, 2), 20, np.uint8), 2, 2)
    monkeypatch.chdir(tmp_path / "in")
    ctx = SceneContext(Rect(0, 0, 2, 4), (Neighbour("b.tif", Rect(0, 2, 2, 2)),), (2, 2))
    vrt = write_context_vrt("a.tif", ctx, tmp_path / "c.vrt")
    monkeypatch.chdir(tmp_path)  # a worker elsewhere reads the same VRT
    with rasterio.open(vrt) as v:
        assert v.read(1).tolist() == [[10, 10, 20, 20]] * 2
