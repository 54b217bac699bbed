"""Bad input end to end: a clear one-line message, no partial output, the right exit status.

Each case runs the real command (``roadseg extract`` in process, or the pipeline
script in a subprocess where the process itself must be limited).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from roadseg.cli import main
from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene
from tests.pipeline.conftest import ROADS

REPO = Path(__file__).resolve().parents[2]
FAST = ["--tile", "64", "--overlap", "8", "--no-progress"]


def _run(capfd, *argv):
    rc = main(["extract", *map(str, argv), *FAST])
    return rc, capfd.readouterr().err


def _outputs(folder: Path) -> list[str]:
    """Files an extract run may have left in ``folder`` (inputs excluded)."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.suffix in (".geojson", ".gpkg", ".json")
        or "partial" in p.name
        or p.name == ".roadseg-cache"
    )


def test_missing_scene(tmp_path, capfd, brightness_model):
    rc, err = _run(
        capfd, tmp_path / "nope.tif", "-o", tmp_path / "r.geojson", "--weights", brightness_model
    )
    assert rc == 2
    assert f"{tmp_path / 'nope.tif'}: file not found" in err
    assert _outputs(tmp_path) == []


def test_not_a_raster(tmp_path, capfd, brightness_model):
    bad = tmp_path / "notes.tif"
    bad.write_text("these are field notes, not pixels\n")
    rc, err = _run(capfd, bad, "-o", tmp_path / "r.geojson", "--weights", brightness_model)
    assert rc == 2
    assert f"{bad}: not a raster" in err
    assert "Traceback" not in err
    assert _outputs(tmp_path) == []


def test_no_crs_runs_in_pixel_coordinates_and_says_so(tmp_path, capfd, brightness_model):
    scene = write_road_scene(tmp_path / "plain.tif", ROADS, 256, 384, crs=None)
    out = tmp_path / "r.geojson"
    rc, err = _run(capfd, scene, "-o", out, "--weights", brightness_model)
    assert rc == 2 and "--gsd" in err  # refused: which scale? (see tests/tools)
    rc, err = _run(capfd, scene, "-o", out, "--weights", brightness_model, "--gsd", "1")
    assert rc == 2 and "GeoPackage" in err  # GeoJSON is lon/lat: a local grid would lie
    out = tmp_path / "r.gpkg"
    rc, err = _run(capfd, scene, "-o", out, "--weights", brightness_model, "--gsd", "1")
    assert rc == 0
    assert "note: The scene has no CRS: coordinates are on a local grid of 1 m pixels" in err
    import geopandas as gpd

    edges = gpd.read_file(out, layer="edges")
    xs = np.concatenate([np.asarray(g.coords)[:, 0] for g in edges.geometry])
    assert len(edges) and xs.min() >= 0 and xs.max() <= 384  # 1 m local grid, not degrees


def test_all_nodata_scene_gives_an_empty_network(tmp_path, capfd, brightness_model):
    scene = write_road_scene(
        tmp_path / "void.tif", ROADS, 128, 128, nodata=0, nodata_mask=np.ones((128, 128), bool)
    )
    out = tmp_path / "r.geojson"
    rc, err = _run(capfd, scene, "-o", out, "--weights", brightness_model)
    assert rc == 0
    assert "no roads found" in err
    assert json.loads(out.read_text())["features"] == []
    assert json.loads((tmp_path / "r.nodes.geojson").read_text())["features"] == []


def test_weights_that_do_not_fit_the_bands(tmp_path, capfd, road_scene):
    four = brightness_checkpoint(tmp_path / "rgbn.safetensors", filters=(8, 16), in_bands=4)
    rc, err = _run(capfd, road_scene, "-o", tmp_path / "r.geojson", "--weights", four)
    assert rc == 2
    assert f"{road_scene}: has 3 band(s) but the model expects 4" in err
    assert _outputs(tmp_path) == []


def test_unwritable_output_paths(tmp_path, capfd, road_scene, brightness_model):
    rc, err = _run(
        capfd,
        road_scene,
        "-o",
        tmp_path / "no" / "such" / "r.geojson",
        "--weights",
        brightness_model,
    )
    assert rc == 2 and "does not exist" in err
    (tmp_path / "adir.geojson").mkdir()
    rc, err = _run(
        capfd, road_scene, "-o", tmp_path / "adir.geojson", "--weights", brightness_model
    )
    assert rc == 2 and "is a folder" in err
    (tmp_path / "adir.geojson").rmdir()
    rc, err = _run(capfd, road_scene, "-o", tmp_path / "r.shp", "--weights", brightness_model)
    assert rc == 2 and "unknown output extension" in err
    assert _outputs(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_output_folder(tmp_path, capfd, road_scene, brightness_model):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc, err = _run(capfd, road_scene, "-o", ro / "r.geojson", "--weights", brightness_model)
    finally:
        ro.chmod(0o755)
    assert rc == 2 and "not writable" in err
    assert list(ro.iterdir()) == []


def _file_size_limit(limit: int):
    def apply() -> None:
        # a write past the limit fails with EFBIG (as on a full disk) instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("limit", [600, 20_000], ids=["probability-raster", "export"])
def test_full_disk_while_writing(tmp_path, brightness_model, limit):
    """Files may not grow past ``limit`` bytes: the probability raster (~1.2 kB) or the GeoJSON
    (~35 kB) cannot be written completely. The run must fail cleanly and leave nothing."""
    rows = [((r, 0), (r, 255)) for r in range(10, 250, 30)]
    cols = [((0, c), (255, c)) for c in range(7, 250, 33)]
    scene = write_road_scene(tmp_path / "grid.tif", rows + cols, 256, 256)
    out = tmp_path / "out" / "roads.geojson"
    out.parent.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "pipelines" / "extract_roads.py"),
            str(scene),
            "-o",
            str(out),
            "--weights",
            str(brightness_model),
            *FAST,
        ],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(limit),
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in proc.stderr
    assert "File too large" in last or "not written completely" in last
    left = sorted(p.name for p in out.parent.iterdir())
    assert [n for n in left if n != ".roadseg-cache"] == []  # no output, no partial file
    cache = out.parent / ".roadseg-cache"
    assert not cache.exists() or not [p for p in cache.iterdir() if "partial" in p.name]
