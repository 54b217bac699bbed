"""The probability raster and the kept intermediates are cloud-optimised GeoTIFFs."""

from __future__ import annotations

import numpy as np
import rasterio

from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.extract import extract_scene
from roadseg.raster.cog import cog_problems
from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene
from tests.pipeline.conftest import FAST, ROADS


def test_a_plain_tiled_geotiff_is_not_taken_for_a_cog(tmp_path):
    with rasterio.open(
        tmp_path / "plain.tif", "w", driver="GTiff", width=1024, height=1024, count=1,
        dtype="uint8", tiled=True, crs="EPSG:32619",
        transform=rasterio.Affine(1, 0, 3e5, 0, -1, 4.6e6),
    ) as ds:  # fmt: skip
        ds.write(np.zeros((1, 1024, 1024), np.uint8))
    problems = cog_problems(tmp_path / "plain.tif")
    assert "no overviews" in problems and any("COG layout" in p for p in problems)


def test_probability_mask_and_skeleton_are_cogs_with_the_same_values(tmp_path):
    model = brightness_checkpoint(tmp_path / "bright.safetensors")
    nodata = np.zeros((600, 700), bool)
    nodata[:40, :] = True  # a nodata band along the top: the mask must survive the copy
    scene = write_road_scene(
        tmp_path / "scene.tif", ROADS, height=600, width=700, nodata=0, nodata_mask=nodata
    )
    config = load_extract_config(
        None,
        {"predict.weights": str(model), **FAST, "output.keep_intermediates": str(tmp_path / "w")},
    )
    extract_scene(scene, tmp_path / "roads.geojson", config)
    for kind in ("probability", "mask", "skeleton"):
        path = tmp_path / "w" / f"scene.{kind}.tif"
        assert cog_problems(path) == [], kind
        with rasterio.open(path) as ds:
            assert ds.overviews(1) == [2, 4] and ds.block_shapes[0] == (256, 256)
    with rasterio.open(tmp_path / "w" / "scene.probability.tif") as ds:
        prob, valid = ds.read(1), ds.read_masks(1) > 0
        assert ds.tags()["ROADSEG_THRESHOLD"] == "0.5"  # metadata tags kept
    assert not valid[:40].any() and valid[40:].all()
    assert prob[40:].max() > 200 and prob[40:].min() < 50  # roads and ground, not blanked
    with rasterio.open(tmp_path / "w" / "scene.mask.tif") as m:
        road = m.read(1) > 0
    # the kept mask is the probability cut at the stored level (0.5 for this model)
    agree = (road == (prob >= 128))[40:]
    assert agree.mean() > 0.99
