"""``extract --evaluate``: the evaluation options reach the evaluation through the typed
config, and the report names files that exist once the run is over."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from roadseg.cli import build_parser, main
from roadseg.evaluation.evaluate import EvaluateConfig
from roadseg.pipeline.config import EvaluationConfig, ExtractConfig, load_extract_config
from roadseg.pipeline.extract import CACHE_FOLDER, extract_scene
from roadseg.sample.synthetic import draw_roads
from roadseg.tools.extract import config_from_args
from tests.pipeline.conftest import FAST, ROADS


def _labels(scene: Path, path: Path) -> Path:
    with rasterio.open(scene) as src:
        profile = dict(src.profile, count=1)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write((draw_roads(256, 384, ROADS, 3) * 255).astype(np.uint8)[None])
    return path


def _config(model: Path, labels: Path, **extra: object) -> ExtractConfig:
    overrides = {"predict.weights": str(model), "output.evaluate": str(labels), **FAST}
    return load_extract_config(None, {**overrides, **extra})


def _named_paths(report: dict) -> dict[str, str | None]:
    """The file entries of the report's (only) scene."""
    scene = report["inputs"]["scenes"][0]
    keys = ("pred", "pred_network", "labels", "scene", "overlay")
    return {k: scene.get(k) for k in keys}


def test_the_evaluation_defaults_are_evaluate_configs():
    defaults = {f.name: f.default for f in dataclasses.fields(EvaluateConfig)}
    got = dataclasses.asdict(EvaluationConfig())
    assert got == {k: defaults[k] for k in got}
    args = build_parser().parse_args(["extract", "s.tif", "-o", "r.geojson"])
    assert config_from_args(args).evaluation == EvaluationConfig()


def test_extract_flags_reach_the_typed_config():
    argv = ["extract", "s.tif", "-o", "r.geojson", "--evaluate", "l.tif", "--exclude-nodata"]
    argv += ["--slack-m", "4", "--label-width-m", "6"]
    cfg = config_from_args(build_parser().parse_args(argv))
    assert cfg.evaluation == EvaluationConfig(exclude_nodata=True, slack_m=4.0, label_width_m=6.0)
    # a config file's section is overridden by the flags, like every other option
    assert load_extract_config(None, {"evaluation.slack_m": 2.5}).evaluation.slack_m == 2.5


def test_extract_scores_with_the_evaluation_options(tmp_path, road_scene, brightness_model):
    labels = _labels(road_scene, tmp_path / "labels.tif")
    options = {
        "evaluation.exclude_nodata": True,
        "evaluation.slack_m": 4.0,
        "evaluation.label_width_m": 6.0,
    }
    result = extract_scene(
        road_scene, tmp_path / "roads.geojson", _config(brightness_model, labels, **options)
    )
    assert result.report is not None
    params = result.report["inputs"]["parameters"]
    assert (params["exclude_nodata"], params["slack_m"], params["rho"]) == (True, 4.0, None)
    assert params["label_width_m"] == 6.0
    scene = result.report["inputs"]["scenes"][0]
    assert scene["rho_px"] == 2  # 4 m of slack on the 2 m grid
    assert scene["excluded_fraction"] == 0.0  # the synthetic scene has imagery everywhere


def test_bad_evaluation_option_is_refused_before_any_work(tmp_path, capfd, road_scene):
    labels = _labels(road_scene, tmp_path / "labels.tif")
    out = tmp_path / "roads.geojson"
    argv = ["extract", str(road_scene), "-o", str(out), "--evaluate", str(labels)]
    rc = main([*argv, "--slack-m", "-1", "--no-progress"])
    err = capfd.readouterr().err
    assert rc == 2
    assert "slack_m: -1.0 is out of range" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / CACHE_FOLDER).exists()


@pytest.mark.parametrize("keep_cache", [False, True])
def test_report_names_files_that_exist_after_the_run(
    tmp_path, road_scene, brightness_model, keep_cache
):
    labels = _labels(road_scene, tmp_path / "labels.tif")
    out = tmp_path / "out" / "roads.geojson"
    out.parent.mkdir()
    cfg = _config(brightness_model, labels, **{"output.keep_cache": keep_cache})
    extract_scene(road_scene, out, cfg)
    report = json.loads((out.parent / "roads.evaluation.json").read_text())
    named = _named_paths(report)
    # staged files at their final places; the cached probabilities where they are now
    assert named["overlay"] == str(out.parent / "roads.evaluation.png")
    assert named["pred_network"] == str(out)
    if keep_cache:
        assert named["pred"] is not None and CACHE_FOLDER in named["pred"]
    else:
        assert named["pred"] is None  # the cache was removed
    for path in named.values():
        assert path is None or Path(path).exists(), path
    markdown = (out.parent / "roads.evaluation.md").read_text()
    assert ".partial" not in markdown and ".partial" not in json.dumps(report)
