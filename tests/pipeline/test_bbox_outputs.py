"""extract --bbox: the evaluation and the quicklook are of the box, as the prediction is."""

from __future__ import annotations

import json

import pytest
import rasterio
from PIL import Image
from rasterio.warp import transform_bounds

from roadseg.cli import main
from roadseg.sample import sample_labels_path, sample_scene_path


def _box(dx0: float, dy0: float, dx1: float, dy1: float) -> str:
    with rasterio.open(sample_scene_path()) as ds:
        b = ds.bounds
        w, s, e, n = transform_bounds(
            ds.crs, "EPSG:4326", b.left + dx0, b.bottom + dy0, b.left + dx1, b.bottom + dy1
        )
    return f"{w:.7f},{s:.7f},{e:.7f},{n:.7f}"


def test_extract_in_a_box_scores_and_draws_the_box(tmp_path):
    box = _box(100, 100, 500, 400)
    out = tmp_path / "roads.geojson"
    argv = [
        "extract", str(sample_scene_path()), "-o", str(out), f"--bbox={box}",
        "--weights", "resunet_lite_massachusetts", "--keep-intermediates", str(tmp_path / "kept"),
        "--evaluate", str(sample_labels_path()), "--quicklook", str(tmp_path / "q.png"),
    ]  # fmt: skip
    assert main(argv) == 0
    with rasterio.open(next((tmp_path / "kept").glob("*prob*.tif"))) as ds:
        shape = [ds.height, ds.width]
    # the box's whole pixels (a box in degrees covers a little more than 400 x 300 m)
    assert 300 <= shape[0] <= 320 and 400 <= shape[1] <= 420
    report = json.loads((tmp_path / "roads.evaluation.json").read_text())
    assert report["inputs"]["scenes"][0]["shape"] == shape
    assert Image.open(tmp_path / "q.png").size == (shape[1], shape[0])


def test_evaluate_in_a_box_reads_the_windows_of_rasters_on_one_grid(tmp_path):
    whole = main(
        ["evaluate", "--pred", str(sample_labels_path()), "--labels", str(sample_labels_path()),
         "--json", str(tmp_path / "whole.json")]
    )  # fmt: skip
    assert whole == 0
    assert json.loads((tmp_path / "whole.json").read_text())["inputs"]["scenes"][0]["shape"] == [
        1000,
        1000,
    ]
    box = _box(0, 0, 300, 300)
    argv = [
        "evaluate", "--pred", str(sample_labels_path()), "--labels", str(sample_labels_path()),
        f"--bbox={box}", "--json", str(tmp_path / "box.json"),
    ]  # fmt: skip
    assert main(argv) == 0
    shape = json.loads((tmp_path / "box.json").read_text())["inputs"]["scenes"][0]["shape"]
    assert 300 <= shape[0] <= 320 and 300 <= shape[1] <= 320


def test_a_box_that_misses_the_rasters_is_one_line(tmp_path, capsys):
    argv = [
        "evaluate", "--pred", str(sample_labels_path()), "--labels", str(sample_labels_path()),
        "--bbox=10.0,10.0,10.1,10.1", "--threshold", "0.5",
    ]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not overlap --bbox" in err[0]


@pytest.mark.parametrize("bad", ["1,2,3", "5,5,1,1"])
def test_a_bad_box_is_one_line(bad, capsys):
    argv = ["evaluate", "--pred", str(sample_labels_path()), "--labels",
            str(sample_labels_path()), f"--bbox={bad}"]  # fmt: skip
    assert main(argv) == 2
    assert "W,S,E,N" in capsys.readouterr().err
