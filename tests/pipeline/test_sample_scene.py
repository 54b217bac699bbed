"""The bundled sample scene: what it is, and the README's main command on it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from roadseg.sample import sample_labels_path, sample_scene_path, sample_sources_path

REPO = Path(__file__).resolve().parents[2]


def test_sample_scene_is_a_georeferenced_crop_of_the_holdout_tile():
    scene, labels = sample_scene_path(), sample_labels_path()
    assert scene.stat().st_size + labels.stat().st_size < 3_000_000
    with rasterio.open(scene) as src:
        assert (src.count, src.height, src.width) == (3, 1000, 1000)
        assert src.dtypes == ("uint8",) * 3 and src.crs.to_epsg() == 26986
        assert src.res == (1.0, 1.0)
        # tile 10528795_15 -> upper-left (1052*100 - 713.563826, 8795*100 + 771.024778), crop at (500, 500)
        assert src.transform.c == pytest.approx(1052 * 100 - 713.563826 + 500, abs=1e-6)
        assert src.transform.f == pytest.approx(8795 * 100 + 771.024778 - 500, abs=1e-6)
        assert src.tags()["GEOREFERENCING"] == "derived-from-tile-name"
        image = src.read()
        grid = (src.transform, src.crs)
    assert (image == 255).all(axis=0).mean() < 0.001  # almost no white no-imagery area
    with rasterio.open(labels) as lab:
        assert (lab.transform, lab.crs) == grid and lab.count == 1
        mask = lab.read(1)
    assert set(np.unique(mask)) == {0, 255}
    assert 0.05 < (mask > 0).mean() < 0.10  # many roads
    sources = sample_sources_path().read_text()
    holdout = (REPO / "data_manifests" / "massachusetts_holdout.csv").read_text()
    assert "10528795_15" in holdout and "10528795_15" in sources
    for needle in ("Mnih", "ODbL", "c56ce46f56b27faeacfea9f79eda0765ab9206fc", "derived"):
        assert needle in sources


def test_readme_command_on_the_sample(tmp_path):
    """The pipeline script (the same job as ``roadseg extract``): shipped model, CPU, sensible
    roads (timings live in benchmarks/, not here)."""
    out = tmp_path / "roads.geojson"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "pipelines" / "extract_roads.py"),
            str(sample_scene_path()),
            "-o",
            str(out),
            "--evaluate",
            str(sample_labels_path()),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    summary = re.search(r"network: ([\d.]+) km of road, (\d+) edges, (\d+) nodes", proc.stderr)
    assert summary, proc.stderr
    km, edges, nodes = float(summary[1]), int(summary[2]), int(summary[3])
    # the labels hold about 12 km of centre line in this 1 km² crop
    assert 6 < km < 20 and edges > 20 and nodes > 20
    fc = json.loads(out.read_text())
    assert fc["roadseg"]["threshold_from"] == "model"
    assert fc["roadseg"]["georeferencing"] == "derived-from-tile-name"
    report = json.loads((tmp_path / "roads.evaluation.json").read_text())
    assert report["pixel"]["breakeven"] > 0.8  # 0.967 with the default model, 0.955 with the lite one
