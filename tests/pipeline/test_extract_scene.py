"""extract_scene end to end on synthetic scenes whose roads are known exactly.

The model is the hand-set brightness detector of :mod:`roadseg.sample.synthetic`
(a real ResUNet checkpoint run by the real predictor), so the probability map is
the drawn road mask and the network must be the drawn centre lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from roadseg.errors import InputError
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.extract import CACHE_FOLDER, extract_scene
from roadseg.sample.synthetic import draw_roads
from tests.pipeline.conftest import FAST, ROADS

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "extract_roads.py"
ORIGIN = (500000.0, 5000000.0)
GSD = 2.0


def _config(model, **extra):
    return load_extract_config(None, {"predict.weights": str(model), **FAST, **extra})


def _drawn_lines():
    """The drawn centre lines in EPSG:32633 (pixel centres)."""
    lines = []
    for (r0, c0), (r1, c1) in ROADS:
        xy = [
            (ORIGIN[0] + (c + 0.5) * GSD, ORIGIN[1] - (r + 0.5) * GSD)
            for r, c in ((r0, c0), (r1, c1))
        ]
        lines.append(shapely.LineString(xy))
    return shapely.MultiLineString(lines)


def test_network_is_the_drawn_roads(tmp_path, road_scene, brightness_model):
    out = tmp_path / "roads.geojson"
    result = extract_scene(road_scene, out, _config(brightness_model))
    net = result.network
    drawn = _drawn_lines()
    found = shapely.MultiLineString(list(net.edges.geometry))
    # every drawn road is found, and nothing else: within 3 m (1.5 px) both ways
    assert drawn.hausdorff_distance(found) < 3.0
    assert net.total_length_m == pytest.approx(drawn.length, rel=0.03)
    # four straight roads crossing: every crossing is a node of degree 4 or two of degree 3
    assert (net.nodes["degree"] >= 3).sum() >= 4
    s = result.summary
    assert (s.width, s.height, s.gsd_m, s.model_gsd_m) == (384, 256, 2.0, 2.0)
    assert s.tiles > 0 and s.edges == len(net.edges) and s.nodes == len(net.nodes)
    assert s.road_km == pytest.approx(net.total_length_m / 1000)
    assert set(s.stage_s) == {"inference", "vectorize", "export"}
    # GeoJSON: RFC 7946 lon/lat, nodes beside it, run metadata carried along
    fc = json.loads(out.read_text())
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0]
    assert 14.9 < lon < 15.1 and 45.0 < lat < 45.2  # UTM 33N origin 500 km E, 5000 km N
    assert fc["roadseg"]["source"] == str(road_scene)
    assert fc["roadseg"]["threshold_from"] == "model"
    assert (tmp_path / "roads.nodes.geojson").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "roads.geojson",
        "roads.nodes.geojson",
        "scene.tif",
    ]


def _write_labels(path, height=256, width=384):
    mask = draw_roads(height, width, ROADS, road_width_px=3).astype(np.uint8) * 255
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="uint8",
        crs="EPSG:32633",
        transform=from_origin(*ORIGIN, GSD, GSD),
    ) as dst:
        dst.write(mask, 1)
    return path


def test_intermediates_formats_and_evaluation(tmp_path, road_scene, brightness_model):
    labels = _write_labels(tmp_path / "labels.tif")
    out = tmp_path / "out" / "roads.gpkg"
    out.parent.mkdir()
    cfg = _config(
        brightness_model,
        **{
            "output.keep_intermediates": str(tmp_path / "work"),
            "output.evaluate": str(labels),
            "output.formats": ["gpkg", "geojson", "parquet", "graphml"],
        },
    )
    result = extract_scene(road_scene, out, cfg)
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == sorted(
        [
            "roads.gpkg",
            "roads.geojson",
            "roads.nodes.geojson",
            "roads.parquet",
            "roads.nodes.parquet",
            "roads.graphml",
            "roads.evaluation.json",
            "roads.evaluation.md",
            "roads.evaluation.png",
        ]
    )
    with rasterio.open(road_scene) as src:
        grid = (src.shape, src.transform, src.crs)
    for kind in ("probability", "mask", "skeleton"):
        with rasterio.open(tmp_path / "work" / f"scene.{kind}.tif") as ds:
            assert (ds.shape, ds.transform, ds.crs) == grid
            data = ds.read(1)
        if kind == "mask":
            roads = draw_roads(256, 384, ROADS, road_width_px=3)
            assert ((data > 0) == roads).mean() > 0.995
    # the brightness model is the labels: every pixel metric is (close to) perfect
    report = json.loads((out.parent / "roads.evaluation.json").read_text())
    assert report == result.report
    assert report["pixel"]["relaxed_precision"] > 0.99
    assert report["pixel"]["relaxed_recall"] > 0.99
    # the report points at the published files, not at temporary ones
    text = (out.parent / "roads.evaluation.json").read_text()
    assert ".partial" not in text and str(tmp_path / "work" / "scene.probability.tif") in text


def test_resume_after_the_process_is_killed(tmp_path, road_scene, brightness_model):
    """A run killed after its inference and vectorisation stages (SIGKILL: no clean-up at
    all) leaves no output; the same command run again resumes after those stages."""
    labels = tmp_path / "labels.tif"
    _write_labels(labels)
    out = tmp_path / "roads.geojson"
    argv = [
        str(road_scene),
        "-o",
        str(out),
        "--weights",
        str(brightness_model),
        "--evaluate",
        str(labels),
        "--tile",
        "64",
        "--overlap",
        "8",
        "--no-progress",
    ]
    stall = (  # the evaluation stage never returns: the run stops there
        "import runpy, sys, time; import roadseg.pipeline.extract as e; "
        "e.evaluate_stage = lambda *a, **k: time.sleep(600); "
        f"sys.argv = [{str(SCRIPT)!r}, *{argv!r}]; runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", stall], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    cache = tmp_path / CACHE_FOLDER
    try:
        deadline = time.monotonic() + 90
        while not list(cache.glob("*.network-*.json")) and time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before it was killed"
            time.sleep(0.1)
        time.sleep(0.3)  # now stalled in the evaluation
    finally:
        proc.kill()
        proc.wait()
    assert list(cache.glob("*.probability-*.tif")) and list(cache.glob("*.network-*.json"))
    assert not out.exists() and not (tmp_path / "roads.nodes.geojson").exists()

    labels.unlink()
    _write_labels(labels)  # the labels are there now; the very same command again
    result = extract_scene(
        road_scene,
        out,
        load_extract_config(
            None, {"predict.weights": str(brightness_model), "output.evaluate": str(labels), **FAST}
        ),
    )
    assert result.summary.resumed == ["inference", "vectorize"]
    assert out.exists() and (tmp_path / "roads.evaluation.json").exists()
    assert not cache.exists()  # removed after success
    assert not list(tmp_path.glob(".*partial*"))  # the killed run's staging folder too


def test_a_failing_late_stage_publishes_nothing(tmp_path, road_scene, brightness_model):
    labels = tmp_path / "labels.tif"
    labels.write_bytes(b"not a raster")  # the evaluation stage fails after the export
    out = tmp_path / "roads.geojson"
    with pytest.raises(InputError, match="labels.tif"):
        extract_scene(
            road_scene, out, _config(brightness_model, **{"output.evaluate": str(labels)})
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == [CACHE_FOLDER, "labels.tif", "scene.tif"]


def test_cache_keys_follow_input_and_parameters(tmp_path, road_scene, brightness_model):
    out = tmp_path / "roads.geojson"
    cfg = _config(brightness_model, **{"output.keep_cache": True})
    first = extract_scene(road_scene, out, cfg)
    assert first.summary.resumed == []
    again = extract_scene(road_scene, out, cfg)
    assert again.summary.resumed == ["inference", "vectorize"]
    assert again.network.edges.geometry.equals(first.network.edges.geometry)
    # a later stage's parameter: inference is reused, vectorisation is not
    changed = _config(brightness_model, **{"output.keep_cache": True, "vectorize.min_spur_m": 3.0})
    assert extract_scene(road_scene, out, changed).summary.resumed == ["inference"]
    # a runtime-only option does not change a key
    batch = _config(brightness_model, **{"output.keep_cache": True, "predict.batch_size": 3})
    assert extract_scene(road_scene, out, batch).summary.resumed == ["inference", "vectorize"]
    # the input changes: nothing is reused
    st = road_scene.stat()
    os.utime(road_scene, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert extract_scene(road_scene, out, cfg).summary.resumed == []
    # --no-resume recomputes
    fresh = _config(brightness_model, **{"output.keep_cache": True, "output.resume": False})
    assert extract_scene(road_scene, out, fresh).summary.resumed == []
