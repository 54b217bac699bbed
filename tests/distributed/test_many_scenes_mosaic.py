"""Many scenes give the network of their mosaic, through the Dask runner.

A pointwise brightness model (its probability depends on the pixel alone), so a
scene cut out of another predicts exactly the other's values there: the runner
and the mosaic wiring are what is checked, quickly. The mosaic rule on
predictions that differ per scene is checked in tests/raster/test_mosaic.py and
tests/vector/test_mosaic_seams.py.
"""

from __future__ import annotations

import shutil

import pytest
import rasterio
from rasterio.windows import Window

from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.dask_runner import run_scenes
from roadseg.pipeline.extract import extract_scene
from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene

ROADS = [
    ((100, 0), (100, 383)),
    ((0, 40), (255, 300)),
    ((10, 250), (250, 250)),
    ((200, 20), (140, 380)),
    ((60, 0), (60, 8)),  # a 16 m stub at the left edge: shorter than min_component_m
]
FAST = {"predict.tile": 64, "predict.overlap": 8, "progress": False}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from distributed import Client, LocalCluster

    d = tmp_path_factory.mktemp("many")
    model = brightness_checkpoint(d / "bright.safetensors")
    cfg = load_extract_config(None, {"predict.weights": str(model), **FAST})
    scene = write_road_scene(d / "scene.tif", ROADS, 256, 384)
    alone = extract_scene(scene, d / "alone.gpkg", cfg).network
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        yield {"dir": d, "cfg": cfg, "scene": scene, "alone": alone, "client": client}


def _cut(src_path, out, r, c, h, w):
    with rasterio.open(src_path) as src:
        win = Window(c, r, w, h)
        profile = dict(src.profile, width=w, height=h, transform=src.window_transform(win))
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(src.read(window=win))
    return out


def _same(net, ref):
    assert len(net.edges) == len(ref.edges)
    assert len(net.nodes) == len(ref.nodes)
    assert net.total_length_m == pytest.approx(ref.total_length_m, rel=1e-9)
    assert sorted(net.nodes["degree"]) == sorted(ref.nodes["degree"])


def test_three_copies_of_a_scene_give_the_scene_once(setup):
    d = setup["dir"]
    copies = [shutil.copy(setup["scene"], d / f"copy{k}.tif") for k in "abc"]
    for c in copies:  # a note on how the scenes were georeferenced travels to the network
        with rasterio.open(c, "r+") as ds:
            ds.update_tags(GEOREFERENCING="derived-from-tile-name")
    result = run_scenes(copies, setup["cfg"], client=setup["client"])
    assert result.network.metadata["georeferencing"] == "derived-from-tile-name"
    assert not result.failed
    _same(result.network, setup["alone"])
    assert set(result.network.edges["scene"]) == {";".join(map(str, copies))}
    assert set(result.network.nodes["scene"]) == {";".join(map(str, copies))}
    assert len(result.mosaics) == 1 and result.network.metadata["scenes"] == list(map(str, copies))


def test_halves_overlapping_and_quadrants_give_the_whole(setup):
    d = setup["dir"]
    halves = [
        _cut(setup["scene"], d / "left.tif", 0, 0, 256, 232),
        _cut(setup["scene"], d / "right.tif", 0, 152, 256, 232),  # 80 px = 160 m overlap
    ]
    quads = [
        _cut(setup["scene"], d / f"q{r}{c}.tif", r, c, 128, 192) for r in (0, 128) for c in (0, 192)
    ]
    for parts in (halves, quads):
        result = run_scenes(parts, setup["cfg"], client=setup["client"])
        _same(result.network, setup["alone"])
        # each edge names the scenes it crosses: every scene gives some edge
        assert set(";".join(result.network.edges["scene"]).split(";")) == set(map(str, parts))


def test_a_scene_in_a_many_scene_run_gives_what_it_gives_alone(setup):
    """Scenes 20 km apart are separate islands: each comes out exactly as run alone. (The
    short stub at the left edge is dropped as a short component, as alone; scenes used to
    be vectorised keeping such stubs for a merge, so a scene gave more edges inside a
    many-scene run than alone.)"""
    d = setup["dir"]
    far = write_road_scene(d / "far.tif", ROADS, 256, 384, origin=(520000.0, 5000000.0))
    result = run_scenes([setup["scene"], far], setup["cfg"], client=setup["client"])
    assert len(result.mosaics) == 2
    assert all(o.summary.edges == len(setup["alone"].edges) for o in result.outcomes)
    for o in result.outcomes:
        _same(o.network, setup["alone"])
        assert o.summary.edges == len(setup["alone"].edges)
    assert len(result.network.edges) == 2 * len(setup["alone"].edges)
    assert result.network.nodes["node_id"].is_unique
    assert set(result.network.edges["u"]) | set(result.network.edges["v"]) <= set(
        result.network.nodes["node_id"]
    )


def test_the_scene_column_is_written_in_every_format(setup):
    import json

    import networkx as nx

    from roadseg.vector.export import export_network

    d = setup["dir"]
    copies = [shutil.copy(setup["scene"], d / f"fmt{k}.tif") for k in "ab"]
    net = run_scenes(copies, setup["cfg"], client=setup["client"]).network
    want = ";".join(map(str, copies))
    (d / "fmt").mkdir()
    written = export_network(
        net, d / "fmt" / "net.geojson", ["geojson", "gpkg", "parquet", "graphml"]
    )
    by_suffix = {p.suffix: p for p in written if ".nodes" not in p.name}
    feats = json.loads(by_suffix[".geojson"].read_text())["features"]
    assert {f["properties"]["scene"] for f in feats} == {want}
    import geopandas as gpd

    assert set(gpd.read_file(by_suffix[".gpkg"], layer="edges")["scene"]) == {want}
    assert set(gpd.read_parquet(by_suffix[".parquet"])["scene"]) == {want}
    g = nx.read_graphml(by_suffix[".graphml"])
    assert {d["scene"] for _, _, d in g.edges(data=True)} == {want}


def test_quadrants_of_a_real_scene_give_its_network_with_a_real_model(setup, tmp_path):
    """The seams check with a model that sees context (the bundled lite ResUNet): four
    quadrants of a 600 m crop of the sample give the crop's own network, edge for edge,
    and no road end at the cuts that the whole does not have."""
    from roadseg.sample import sample_scene_path

    cfg = load_extract_config(
        None,
        {"predict.weights": "resunet_lite_massachusetts", "predict.backend": "torch",
         "progress": False},
    )  # fmt: skip
    whole = _cut(sample_scene_path(), tmp_path / "whole.tif", 100, 100, 600, 600)
    ref = run_scenes([whole], cfg, client=setup["client"]).network
    quads = [
        _cut(whole, tmp_path / f"q{r}{c}.tif", r, c, 300, 300) for r in (0, 300) for c in (0, 300)
    ]
    result = run_scenes(quads, cfg, client=setup["client"])
    _same(result.network, ref)
    with rasterio.open(whole) as ds:
        x_cut, y_cut = ds.transform * (300, 300)

    def ends_at_cuts(net):
        ends = net.nodes[net.nodes["degree"] == 1].geometry
        return sum(min(abs(p.x - x_cut), abs(p.y - y_cut)) < 25 for p in ends)

    assert ends_at_cuts(result.network) == ends_at_cuts(ref)


def test_scenes_outside_the_bbox_are_skipped_before_any_work(setup):
    import dataclasses

    from rasterio.warp import transform_bounds

    from roadseg.errors import InputError
    from roadseg.pipeline.multi import format_summary, summary_dict

    d = setup["dir"]
    far = write_road_scene(d / "far_bbox.tif", ROADS, 256, 384, origin=(520000.0, 5000000.0))
    with rasterio.open(setup["scene"]) as ds:
        box = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
    cfg = setup["cfg"]
    inside = dataclasses.replace(cfg, predict=dataclasses.replace(cfg.predict, bbox=box))
    result = run_scenes([setup["scene"], far], inside, client=setup["client"])
    assert result.skipped == [str(far)]
    assert [o.scene for o in result.outcomes] == [str(setup["scene"])] and not result.failed
    assert summary_dict(result)["skipped_outside_bbox"] == [str(far)]
    assert "1 scene(s) outside --bbox skipped" in format_summary(result)
    nowhere = dataclasses.replace(cfg.predict, bbox="10.0,10.0,10.1,10.1")
    with pytest.raises(InputError, match="none of the 2 scene"):
        run_scenes(
            [setup["scene"], far], dataclasses.replace(cfg, predict=nowhere),
            client=setup["client"],
        )  # fmt: skip
