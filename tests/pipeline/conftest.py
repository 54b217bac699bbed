"""Fixtures of the pipeline tests: a pointwise brightness model and synthetic road scenes."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene

#: Roads of the standard test scene, (row, col) end points on a 256x384 grid at 2 m.
ROADS = [
    ((100, 0), (100, 383)),
    ((0, 40), (255, 300)),
    ((10, 250), (250, 250)),
    ((200, 20), (140, 380)),
]
#: Fast predictor settings for 2 m test scenes (tile 64 px, overlap 8 px).
FAST = {"predict.tile": 64, "predict.overlap": 8, "progress": False}


@pytest.fixture(scope="session")
def brightness_model(tmp_path_factory) -> Path:
    """A ResUNet checkpoint whose probability is a known function of brightness (0.5 threshold)."""
    return brightness_checkpoint(tmp_path_factory.mktemp("models") / "bright.safetensors")


@pytest.fixture
def road_scene(tmp_path) -> Path:
    return write_road_scene(tmp_path / "scene.tif", ROADS, height=256, width=384)
