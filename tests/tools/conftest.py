"""Fixtures of the command-line tests: a small synthetic scene, a known model, a probability raster."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene

ROADS = [((60, 0), (60, 191)), ((0, 90), (127, 90))]
#: fast settings: 2 m scene, tile 64 px
FAST = ["--tile", "64", "--overlap", "8"]


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> Path:
    return brightness_checkpoint(tmp_path_factory.mktemp("models") / "bright.safetensors")


@pytest.fixture
def scene(tmp_path) -> Path:
    return write_road_scene(tmp_path / "scene.tif", ROADS, height=128, width=192)


@pytest.fixture(scope="session")
def probability(tmp_path_factory, model) -> Path:
    """A probability GeoTIFF of a small scene (predicted once per session)."""
    from roadseg.inference.predictor import PredictConfig, predict_scene

    d = tmp_path_factory.mktemp("prob")
    scene = write_road_scene(d / "scene.tif", ROADS, height=128, width=192)
    out = d / "prob.tif"
    predict_scene(scene, out, PredictConfig(weights=str(model), tile=64, overlap=8, progress=False))
    return out
