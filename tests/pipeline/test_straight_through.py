"""The extract job straight through (#20.3): the network and the report go from stage to
stage in memory, each check runs once, and every output format keeps every metric."""

from __future__ import annotations

import json
import pathlib

import geopandas as gpd
import pytest
import shapely

import roadseg.pipeline.stages as stages
import roadseg.raster.georef as georef
from roadseg.cli import main
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.extract import extract_scene
from roadseg.sample.synthetic import write_road_scene
from tests.pipeline.conftest import FAST, ROADS

ORIGIN, GSD = (500000.0, 5000000.0), 2.0


def _vector_labels(path, roads=ROADS, crs="EPSG:32633"):
    """The drawn roads' centre lines as GeoJSON labels (lon/lat)."""
    lines = [
        shapely.LineString(
            [(ORIGIN[0] + (c + 0.5) * GSD, ORIGIN[1] - (r + 0.5) * GSD) for r, c in ends]
        )
        for ends in roads
    ]
    gpd.GeoDataFrame(geometry=lines, crs=crs).to_crs("EPSG:4326").to_file(path)
    return path


def test_parquet_output_keeps_every_metric_and_format_adds(
    tmp_path, road_scene, brightness_model, monkeypatch
):
    labels = _vector_labels(tmp_path / "labels.geojson")
    header_reads: list[str] = []
    real_header = georef.raster_header
    monkeypatch.setattr(
        georef, "raster_header", lambda p: header_reads.append(str(p)) or real_header(p)
    )
    monkeypatch.setattr(stages, "raster_header", georef.raster_header)
    read_back: list[str] = []
    real_read = pathlib.Path.read_text
    monkeypatch.setattr(
        pathlib.Path,
        "read_text",
        lambda self, *a, **k: read_back.append(self.name) or real_read(self, *a, **k),
    )
    out = tmp_path / "out" / "ex.parquet"
    out.parent.mkdir()
    args = ["extract", str(road_scene), "-o", str(out), "--format", "graphml"]
    args += ["--weights", str(brightness_model), "--tile", "64", "--overlap", "8"]
    args += ["--evaluate", str(labels)]
    assert main(args) == 0
    reads_during_run = list(read_back)
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == sorted(
        ["ex.parquet", "ex.nodes.parquet", "ex.graphml"]
        + [f"ex.evaluation.{s}" for s in ("json", "md", "png")]
    )
    report = json.loads((out.parent / "ex.evaluation.json").read_text())
    assert {"pixel", "buffer", "graph"} <= set(report)
    assert report["buffer"]["quality"] > 0.9 and 0 < report["graph"]["apls"] <= 1
    assert report["inputs"]["scenes"][0]["pred_network"] == str(out)
    # each check once (the scene's header read once, for the checks and the metadata),
    # the report not read back
    assert header_reads.count(str(road_scene)) == 1
    assert not [n for n in reads_during_run if n.endswith(".evaluation.json")]


def test_the_network_in_memory_scores_as_the_written_file(tmp_path, road_scene, brightness_model):
    from roadseg.evaluation.evaluate import EvaluateConfig, evaluate

    labels = _vector_labels(tmp_path / "labels.geojson")
    cfg = load_extract_config(
        None,
        {
            "predict.weights": str(brightness_model),
            **FAST,
            "output.evaluate": str(labels),
            "output.keep_intermediates": str(tmp_path / "work"),
        },
    )
    out = tmp_path / "roads.fgb"
    result = extract_scene(road_scene, out, cfg)
    assert result.report == json.loads((tmp_path / "roads.evaluation.json").read_text())
    assert result.threshold is not None
    from_files = evaluate(
        EvaluateConfig(
            pred=[tmp_path / "work" / "scene.probability.tif", out],
            labels=[labels],
            scene=[road_scene],
            threshold=result.threshold.evaluation_level(),
            **cfg.evaluation.options(),
        )
    )
    for group in ("pixel", "buffer", "graph"):
        got, want = result.report[group], from_files[group]
        assert got.keys() == want.keys(), group
        for key, value in want.items():  # a metric without pairs is None in both
            if value is None or isinstance(value, str):
                assert got[key] == value, (group, key)
            else:
                assert got[key] == pytest.approx(value, rel=1e-6, nan_ok=True), (group, key)


@pytest.mark.parametrize("workers", [1])
def test_many_scenes_get_the_network_metrics_too(tmp_path, brightness_model, workers):
    from roadseg.pipeline.multi import extract_scenes

    left = write_road_scene(tmp_path / "a.tif", ROADS, 256, 192)
    right = write_road_scene(
        tmp_path / "b.tif",
        [((r0, c0 - 192), (r1, c1 - 192)) for (r0, c0), (r1, c1) in ROADS],
        256,
        192,
        origin=(ORIGIN[0] + 192 * GSD, ORIGIN[1]),
    )
    labels = _vector_labels(tmp_path / "labels.geojson")
    cfg = load_extract_config(
        None,
        {
            "predict.weights": str(brightness_model),
            **FAST,
            "output.evaluate": str(labels),
            "cluster.n_workers": workers,
        },
    )
    extract_scenes([left, right], tmp_path / "net.gpkg", cfg)
    report = json.loads((tmp_path / "net.evaluation.json").read_text())
    assert {"pixel", "buffer", "graph"} <= set(report), report["skipped"]
    assert report["buffer"]["quality"] > 0.8
    assert [s["pred_network"] for s in report["inputs"]["scenes"]] == [
        str(tmp_path / "net.gpkg")
    ] * 2
