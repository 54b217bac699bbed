"""One threshold per run: chosen once, used to cut the network and to evaluate it.

Regression tests of two bugs: ``predict`` then ``vectorize`` (defaults) gave another
network than ``extract`` (defaults) because only ``extract`` used the model's
calibrated level; a many-scene ``extract --evaluate`` scored at 0.5 instead.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio

from roadseg.cli import main
from roadseg.models import default_weights_path
from roadseg.models.checkpoint import read_meta
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.multi import extract_scenes
from roadseg.postprocess.level import choose_threshold, stored_threshold
from roadseg.raster.tags import THRESHOLD_TAG
from roadseg.sample import sample_labels_path, sample_scene_path
from roadseg.sample.synthetic import brightness_checkpoint, draw_roads, write_road_scene
from tests.pipeline.conftest import FAST, ROADS


def _edges(path):
    return sorted(
        (f["properties"]["u"], f["properties"]["v"], json.dumps(f["geometry"]["coordinates"]))
        for f in json.loads(path.read_text())["features"]
    )


def _tag_probability(prob, level):
    """What ``predict`` stores (written here if this checkout's predict does not yet)."""
    if stored_threshold(prob) is None:
        with rasterio.open(prob, "r+") as ds:
            ds.update_tags(**{THRESHOLD_TAG: repr(level)})


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    """predict -> vectorize -> evaluate (all defaults) and extract (defaults) on the sample."""
    d = tmp_path_factory.mktemp("sample")
    scene, labels = str(sample_scene_path()), str(sample_labels_path())
    level = read_meta(default_weights_path()).threshold
    assert level is not None and abs(level - 0.5) > 0.1  # else the test could not fail
    prob = d / "prob.tif"
    assert main(["-q", "predict", scene, "-o", str(prob)]) == 0
    _tag_probability(prob, level)
    assert main(["-q", "vectorize", str(prob), "-o", str(d / "vectorized.geojson")]) == 0
    args = [
        "--pred",
        str(prob),
        "--labels",
        labels,
        "--scene",
        scene,
        "--json",
        str(d / "eval.json"),
    ]
    assert main(["-q", "evaluate", *args]) == 0
    assert main(["-q", "extract", scene, "-o", str(d / "extracted.geojson"), "--no-progress"]) == 0
    return d, level


def test_predict_then_vectorize_equals_extract(sample_runs):
    d, _ = sample_runs
    vectorized, extracted = d / "vectorized.geojson", d / "extracted.geojson"
    assert _edges(vectorized) == _edges(extracted)
    header = json.loads(vectorized.read_text())["roadseg"]
    assert header["threshold_from"] == "model"
    assert header["threshold"] == json.loads(extracted.read_text())["roadseg"]["threshold"]


def test_vectorize_at_the_old_default_differs(sample_runs):
    """The comparison above can fail: 0.5 gives another network on this scene."""
    d, _ = sample_runs
    out = d / "at_half.geojson"
    assert main(["-q", "vectorize", str(d / "prob.tif"), "-o", str(out), "--threshold", "0.5"]) == 0
    assert _edges(out) != _edges(d / "extracted.geojson")


def test_evaluate_defaults_to_the_stored_level(sample_runs):
    d, level = sample_runs
    report = json.loads((d / "eval.json").read_text())
    assert report["inputs"]["parameters"]["threshold"] == pytest.approx(level)


def test_no_level_anywhere_is_half_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="roadseg.postprocess.level"):
        chosen = choose_threshold(None, stored=None, calibrated=None, what="x.tif")
    assert (chosen.spec.value, chosen.origin) == (0.5, "default")
    assert "x.tif: no threshold given" in caplog.text


def test_the_user_value_wins_then_the_stored_one():
    assert choose_threshold(0.7, stored=0.2, calibrated=0.1).level == 0.7
    assert choose_threshold(None, stored=0.2, calibrated=0.1).level == 0.2
    assert choose_threshold(None, stored=None, calibrated=0.1).level == 0.1


def test_many_scene_evaluation_uses_the_models_level(tmp_path):
    model = brightness_checkpoint(tmp_path / "m.safetensors", threshold=0.3)
    scenes = [write_road_scene(tmp_path / f"s{i}.tif", ROADS, 256, 384) for i in range(2)]
    with rasterio.open(scenes[0]) as src:
        profile = dict(src.profile, count=1)
    labels = tmp_path / "labels.tif"
    with rasterio.open(labels, "w", **profile) as dst:
        dst.write((draw_roads(256, 384, ROADS, 3) * 255).astype(np.uint8)[None])
    overrides = {"predict.weights": str(model), "output.evaluate": str(labels), **FAST}
    overrides["cluster.n_workers"] = 1
    config = load_extract_config(None, overrides)
    (tmp_path / "out").mkdir()
    result, written = extract_scenes(scenes, tmp_path / "out" / "net.geojson", config)
    assert not result.failed
    report = json.loads((tmp_path / "out" / "net.evaluation.json").read_text())
    assert report["inputs"]["parameters"]["threshold"] == pytest.approx(0.3)
    assert {o.threshold.origin for o in result.succeeded} == {"model"}
    # the report names the published overlays, not the cached (removed) probabilities
    for i, scene in enumerate(report["inputs"]["scenes"]):
        assert scene["pred"] is None
        assert scene["overlay"] == str(tmp_path / "out" / f"net.evaluation_{i}_s{i}.png")
        assert Path(scene["overlay"]).exists()


@pytest.mark.parametrize("spec", ["otsu", "hysteresis:0.3,0.6"])
def test_extract_evaluates_at_the_level_otsu_or_hysteresis_used(
    tmp_path, brightness_model, road_scene, spec
):
    from roadseg.pipeline.extract import extract_scene

    with rasterio.open(road_scene) as src:
        profile = dict(src.profile, count=1)
    labels = tmp_path / "labels.tif"
    with rasterio.open(labels, "w", **profile) as dst:
        dst.write((draw_roads(256, 384, ROADS, 3) * 255).astype(np.uint8)[None])
    overrides = {"predict.weights": str(brightness_model), "output.evaluate": str(labels)}
    config = load_extract_config(None, {**overrides, **FAST, "threshold": spec})
    result = extract_scene(road_scene, tmp_path / "roads.geojson", config)
    level = result.network.metadata["threshold_level"]
    assert result.threshold is not None and result.threshold.used_level == level
    assert level != 0.5
    report = json.loads((tmp_path / "roads.evaluation.json").read_text())
    assert report["inputs"]["parameters"]["threshold"] == pytest.approx(level)
