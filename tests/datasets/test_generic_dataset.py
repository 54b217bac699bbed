"""Generic dataset: GeoTIFF scenes + road vectors -> labels with the evaluation rasteriser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from roadseg.cli import main
from roadseg.data import list_pairs
from roadseg.data.checksums import verify_root
from roadseg.data.generic import GenericConfig, prepare_generic
from roadseg.errors import InputError
from roadseg.osm import RoadLoadConfig, SceneGrid, load_roads, rasterize_roads

REPO = Path(__file__).resolve().parents[2]
SPACENET = REPO / "tests" / "data" / "spacenet"
KOUVOLA = REPO / "tests" / "data" / "osm" / "kouvola_test.osm.pbf"
# a 64 x 48 px scene at 2 m in UTM 33N; one road along the centre of row 20
ORIGIN = (500_000.0, 5_000_000.0)
T = Affine(2.0, 0.0, ORIGIN[0], 0.0, -2.0, ORIGIN[1])


def _scene(path: Path, crs: str | None = "EPSG:32633", transform: Affine = T, w=64, h=48) -> Path:
    rng = np.random.default_rng(0)
    kw = {"crs": crs, "transform": transform} if crs else {}
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=3, dtype="uint8", **kw
    ) as ds:
        ds.write(rng.integers(0, 255, (3, h, w), dtype=np.uint8))
    return path


def _road_geojson(path: Path) -> Path:
    """A GeoJSON (EPSG:4326) line through the pixel centres of row 20, cols 5..58."""
    to_ll = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    y = ORIGIN[1] - 2.0 * 20.5
    pts = [to_ll.transform(ORIGIN[0] + 2.0 * c, y) for c in (5.5, 58.5)]
    feat = {
        "type": "Feature",
        "properties": {"name": "test road"},
        "geometry": {"type": "LineString", "coordinates": [list(p) for p in pts]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}))
    return path


def _read(path: Path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.crs, ds.transform, ds.tags()


def test_label_is_the_rasterised_road_on_the_scene_grid(tmp_path):
    scene, roads = _scene(tmp_path / "s.tif"), _road_geojson(tmp_path / "r.geojson")
    report = prepare_generic(
        GenericConfig(
            scenes=[scene], roads=[roads], root=tmp_path / "ds", width_m=6.0, progress=False
        )
    )
    (pair,) = list_pairs(tmp_path / "ds", "train")
    assert pair.image.read_bytes() == scene.read_bytes()
    label, crs, transform, tags = _read(pair.label)
    assert crs.to_epsg() == 32633 and transform == T and label.dtype == np.uint8
    # 6 m wide at 2 m/px: pixel centres within 3 m of the line are road -> rows 19..21
    rows = np.flatnonzero(label[0].any(axis=1))
    assert list(rows) == [19, 20, 21]
    assert set(np.unique(label)) == {0, 255}
    assert tags["rasteriser"] == "roadseg.osm.rasterize_roads" and tags["width_m"] == "6.0"
    # identical to the evaluation stage's rasteriser on the same lines
    grid = SceneGrid.from_raster(scene)
    lines = load_roads(roads, RoadLoadConfig(crs=grid.crs, clip=grid.footprint()))
    np.testing.assert_array_equal(
        label[0] > 0, rasterize_roads(lines, grid, width_px=None, width_m=6.0)
    )
    assert report.road_fraction["s"] == pytest.approx((label > 0).mean())
    assert verify_root(tmp_path / "ds") == []


def test_windows_match_the_whole_label_and_replace_earlier_outputs(tmp_path):
    scene, roads = _scene(tmp_path / "s.tif"), _road_geojson(tmp_path / "r.geojson")
    root = tmp_path / "ds"
    cfg = GenericConfig(scenes=[scene], roads=[roads], root=root, width_m=6.0, progress=False)
    prepare_generic(cfg)
    (whole,) = list_pairs(root, "train")
    full_label, _, _, _ = _read(whole.label)
    full_image, _, _, _ = _read(whole.image)
    cfg.tile_px = 32
    report = prepare_generic(cfg)
    pairs = list_pairs(root, "train")  # the whole-scene pair was removed
    # 48 rows -> windows at 0 and 16 (pulled back inside); 64 cols -> 0 and 32
    assert [p.tile for p in pairs] == ["s_r0_c0", "s_r0_c32", "s_r16_c0", "s_r16_c32"]
    for p in pairs:
        r0, c0 = (int(x[1:]) for x in p.tile.split("_")[1:])
        label, _, transform, _ = _read(p.label)
        image, _, itransform, _ = _read(p.image)
        assert label.shape == (1, 32, 32) and transform == itransform == T @ Affine.translation(
            c0, r0
        )
        np.testing.assert_array_equal(label, full_label[:, r0 : r0 + 32, c0 : c0 + 32])
        np.testing.assert_array_equal(image, full_image[:, r0 : r0 + 32, c0 : c0 + 32])
    assert report.skipped == 0
    # rerun with the same parameters: nothing rewritten
    assert prepare_generic(cfg).skipped == 4
    assert verify_root(root) == []


def test_osm_pbf_roads_with_highway_filter(tmp_path):
    # a 5 m scene over part of the Kouvola extract, in the Finnish national grid
    scene = _scene(
        tmp_path / "kouvola.tif", "EPSG:3067", Affine(5.0, 0, 496_400.0, 0, -5.0, 6_710_900.0)
    )
    root = tmp_path / "ds"
    rep_all = prepare_generic(
        GenericConfig(scenes=[scene], roads=[KOUVOLA], root=root, highways="all", progress=False)
    )
    rep_res = prepare_generic(
        GenericConfig(
            scenes=[scene],
            roads=[KOUVOLA],
            root=root,
            split="valid",
            highways="residential",
            progress=False,
        )
    )
    f_all, f_res = rep_all.road_fraction["kouvola"], rep_res.road_fraction["kouvola"]
    assert 0 < f_res < f_all  # a class filter keeps fewer roads


def test_real_spacenet_chip_through_the_cli(tmp_path):
    root = tmp_path / "ds"
    rc = main(
        [
            "data",
            "generic",
            "--scenes",
            str(SPACENET / "vegas_img0_crop.tif"),
            "--roads",
            str(SPACENET / "AOI_2_Vegas_img0.geojson"),
            "--root",
            str(root),
            "--split",
            "valid",
            "--no-progress",
        ]
    )
    assert rc == 0
    (pair,) = list_pairs(root, "valid")
    label, crs, _, _ = _read(pair.label)
    assert crs.to_epsg() == 4326
    assert 0.05 < (label > 0).mean() < 0.9


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_generic_errors(tmp_path):
    roads = _road_geojson(tmp_path / "r.geojson")
    plain = _scene(tmp_path / "plain.tif", crs=None)
    with pytest.raises(InputError, match=r"plain\.tif: the scene has no CRS"):
        prepare_generic(
            GenericConfig(scenes=[plain], roads=[roads], root=tmp_path / "a", progress=False)
        )
    s1, s2 = _scene(tmp_path / "s1.tif"), _scene(tmp_path / "s2.tif")
    with pytest.raises(InputError, match="one roads file for all scenes or one per scene"):
        prepare_generic(
            GenericConfig(
                scenes=[s1, s2, s1], roads=[roads, roads], root=tmp_path / "b", progress=False
            )
        )
    # a scene far from the roads: all background by default, an error with allow_empty=False
    far = _scene(tmp_path / "far.tif", transform=Affine(2.0, 0, 600_000.0, 0, -2.0, 5_100_000.0))
    rep = prepare_generic(
        GenericConfig(scenes=[far], roads=[roads], root=tmp_path / "c", progress=False)
    )
    assert rep.road_fraction["far"] == 0.0
    with pytest.raises(InputError, match="no road overlaps"):
        prepare_generic(
            GenericConfig(
                scenes=[far], roads=[roads], root=tmp_path / "d", allow_empty=False, progress=False
            )
        )
