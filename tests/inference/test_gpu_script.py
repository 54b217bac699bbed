"""The prepared GPU benchmark script runs end to end on its CPU path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from roadseg.models import default_weights_path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu" / "predict_on_device.sh"


@pytest.mark.slow
@pytest.mark.skipif(not default_weights_path().is_file(), reason="no shipped model")
def test_predict_on_device_script_cpu_path(tmp_path):
    env = {
        **os.environ,
        "DEVICE": "cpu",
        "SIZE": "500",
        "BATCH": "4",
        "STEPS": "2",
        "OUT": str(tmp_path),
        "SCENE": str(tmp_path / "scene.tif"),
        "IMAGES": str(ROOT / "roadseg" / "sample" / "scene.tif"),
        "PY": sys.executable,
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads((tmp_path / "predict_pipeline_default.json").read_text())
    assert figures["shape"] == [500, 500] and figures["model_grid"] == [250, 250]
    assert set(figures["best_s"]) == {
        "a_io_floor", "b_pipeline_scene_gsd", "b_pipeline_resampled", "c_forward", "d_predict",
    }  # fmt: skip
