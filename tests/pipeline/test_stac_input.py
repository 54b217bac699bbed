"""``extract --stac``: items, item collections and static catalogues as the list of scenes."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import geopandas as gpd
import pystac
import pytest
import rasterio
import rasterio.shutil
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from roadseg.cli import main
from roadseg.errors import InputError
from roadseg.pipeline.stac import choose_asset, stac_scenes
from roadseg.sample.synthetic import write_road_scene
from tests.pipeline.conftest import ROADS
from tests.raster.range_server import RangeServer

H, W = 256, 384
WHEN = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
HALVES = [Window(0, 0, 192, H), Window(192, 0, 192, H)]


def _item(path: Path, href: str, item_id: str, **asset_kw) -> pystac.Item:
    with rasterio.open(path) as ds:
        bbox = list(transform_bounds(ds.crs, "EPSG:4326", *ds.bounds))
    w, s, e, n = bbox
    geom = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    item = pystac.Item(item_id, geom, bbox, WHEN, {})
    item.add_asset("thumbnail", pystac.Asset(href + ".png", media_type="image/png"))
    kw = {"media_type": pystac.MediaType.COG, "roles": ["visual", "data"], **asset_kw}
    item.add_asset("image", pystac.Asset(href, **kw))
    return item


@pytest.fixture
def halves(tmp_path):
    """The left and right halves of a road scene as COGs in ``www/`` (served over HTTP)."""
    whole = write_road_scene(tmp_path / "whole.tif", ROADS, H, W)
    www = tmp_path / "www"
    www.mkdir()
    parts = []
    with rasterio.open(whole) as src:
        for i, win in enumerate(HALVES):
            tmp = tmp_path / f"half{i}.tif"
            profile = dict(src.profile, width=win.width, height=win.height)
            with rasterio.open(tmp, "w", **dict(profile, transform=src.window_transform(win))) as d:
                d.write(src.read(window=win))
            rasterio.shutil.copy(tmp, www / f"half{i}.tif", driver="COG", blocksize=128)
            parts.append(www / f"half{i}.tif")
    return parts


def _extract(args: list[str], model: Path) -> int:
    fast = ["--weights", str(model), "--tile", "64", "--overlap", "8", "--no-progress"]
    return main(["extract", *args, *fast, "--workers", "1", "--threads-per-worker", "1"])


def test_static_catalogue_over_http_gives_the_network_of_the_local_files(
    tmp_path, halves, brightness_model
):
    local = tmp_path / "local.gpkg"
    assert _extract([*map(str, halves), "-o", str(local)], brightness_model) == 0
    with RangeServer(halves[0].parent) as server:
        cat = pystac.Catalog("roads", "two halves of a scene")
        for p in halves:
            cat.add_item(_item(p, server.url(p.name), p.stem))
        cat.normalize_hrefs(str(tmp_path / "stac"))
        cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
        out = tmp_path / "stac.gpkg"
        catalog = tmp_path / "stac" / "catalog.json"
        assert _extract(["--stac", str(catalog), "-o", str(out)], brightness_model) == 0
        assert all(server.sent[p.name] > 0 for p in halves)  # both read over HTTP
    a = gpd.read_file(local, layer="edges")
    b = gpd.read_file(out, layer="edges")
    assert len(a) == len(b) > 0
    assert b.length.sum() == pytest.approx(a.length.sum(), rel=1e-6)
    assert a.geometry.union_all().hausdorff_distance(b.geometry.union_all()) < 1e-6


def test_item_collection_bbox_and_asset_choice(tmp_path, halves):
    items = [_item(p, str(p), p.stem) for p in halves]
    coll = tmp_path / "search.json"
    coll.write_text(json.dumps(pystac.ItemCollection(items).to_dict()))
    assert [s.href for s in stac_scenes(coll)] == [str(p) for p in halves]
    # a box over the left half only drops the right item before anything is opened
    w, s, e, n = items[0].bbox
    left = (w, s, w + (e - w) / 3, n)
    assert [s.item for s in stac_scenes(coll, bbox=left)] == ["half0"]
    with pytest.raises(InputError, match="none of its 2 items overlaps --bbox"):
        stac_scenes(coll, bbox=(10.0, 10.0, 10.1, 10.1))
    with pytest.raises(InputError, match=r"item half0: has no asset 'nir' \(assets: image, "):
        stac_scenes(coll, asset="nir")


def test_default_asset_by_roles_name_or_eo_bands(tmp_path):
    item = pystac.Item("x", None, None, WHEN, {})
    item.add_asset("B04", pystac.Asset("b4.tif", media_type=pystac.MediaType.COG))
    item.add_asset("B08", pystac.Asset("b8.tif", media_type=pystac.MediaType.COG))
    with pytest.raises(InputError, match=r"item x: no visual or RGB asset .* --asset \(assets"):
        choose_asset(item)
    bands = [{"name": n, "common_name": n} for n in ("red", "green", "blue", "nir")]
    item.add_asset("analytic", pystac.Asset("a.tif", extra_fields={"eo:bands": bands}))
    item.add_asset("rgb", pystac.Asset("rgb.tif", extra_fields={"eo:bands": bands[:3]}))
    assert choose_asset(item) == "rgb"  # the fewest bands that hold red, green, blue
    item.add_asset("visual", pystac.Asset("v.tif"))
    assert choose_asset(item) == "visual"
    item.add_asset("tci", pystac.Asset("tci.tif", roles=["visual"]))
    assert choose_asset(item) == "tci"
    assert choose_asset(item, "B08") == "B08"


def test_cli_refuses_scenes_and_stac_together(tmp_path, halves, capsys):
    assert main(["extract", str(halves[0]), "--stac", "x.json", "-o", "o.gpkg"]) == 2
    assert "give SCENE arguments or --stac, not both" in capsys.readouterr().err


def test_extract_stac_with_bbox_reads_and_maps_only_inside_it(tmp_path, halves, brightness_model):
    items = [_item(p, str(p), p.stem) for p in halves]
    coll = tmp_path / "search.json"
    coll.write_text(json.dumps(pystac.ItemCollection(items).to_dict()))
    w, s, e, n = items[0].bbox
    box = (w, s, w + (e - w) / 2, n)  # the left half of the left item
    out = tmp_path / "box.gpkg"
    args = ["--stac", str(coll), f"--bbox={','.join(map(str, box))}", "-o", str(out)]
    assert _extract(args, brightness_model) == 0
    edges = gpd.read_file(out, layer="edges").to_crs("EPSG:4326")
    assert len(edges) > 0
    minx, miny, maxx, maxy = edges.total_bounds
    assert minx >= w - 1e-4 and maxx <= box[2] + 1e-4  # nothing beyond the box
