"""Remaining one-line refusals and the exit-status scheme (issue 14, item 9).

* ``--gsd-tolerance -1`` and ``evaluate --rho -1``: refused by the configs themselves,
  so the library refuses them too;
* a FIFO or a device file as input is refused at once instead of blocking;
* many-scene ``--keep-intermediates``: scenes with the same file name are kept apart;
* the failed-scenes statuses (3: some, 4: all) differ from usage errors (2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from roadseg.cli import main
from roadseg.errors import EXIT_ALL_SCENES_FAILED, EXIT_SOME_SCENES_FAILED, EXIT_USAGE, InputError
from roadseg.sample.synthetic import write_road_scene

from .conftest import FAST, ROADS


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def test_negative_gsd_tolerance(tmp_path, scene, model, capsys):
    argv = ["predict", str(scene), "-o", str(tmp_path / "p.tif"), "--weights", str(model)]
    assert main([*argv, "--gsd-tolerance", "-1"]) == EXIT_USAGE
    assert "gsd_tolerance" in _one_line(capsys)
    assert not (tmp_path / "p.tif").exists()
    argv = ["extract", str(scene), "-o", str(tmp_path / "r.geojson"), "--weights", str(model)]
    assert main([*argv, "--set", "predict.gsd_tolerance=-1"]) == EXIT_USAGE
    assert "gsd_tolerance" in _one_line(capsys)


def test_library_configs_refuse_too():
    from roadseg.evaluation.evaluate import EvaluateConfig
    from roadseg.inference import PredictConfig

    with pytest.raises(InputError, match="gsd_tolerance"):
        PredictConfig(gsd_tolerance=-1)
    with pytest.raises(InputError, match="rho"):
        EvaluateConfig(pred=[Path("p.tif")], labels=[Path("l.tif")], rho=-1)
    with pytest.raises(InputError, match="threshold"):
        EvaluateConfig(pred=[Path("p.tif")], labels=[Path("l.tif")], threshold=1.5)


def test_evaluate_negative_rho(tmp_path, probability, capsys):
    argv = ["evaluate", "--pred", str(probability), "--labels", str(probability), "--rho", "-1"]
    assert main(argv) == EXIT_USAGE
    assert "rho" in _one_line(capsys)


@pytest.mark.parametrize("command", ["extract", "predict", "vectorize", "evaluate"])
def test_fifo_input_does_not_block(tmp_path, model, command):
    fifo = tmp_path / "scene.tif"
    os.mkfifo(fifo)
    out = tmp_path / "out.geojson"
    argv = {
        "extract": ["extract", str(fifo), "-o", str(out), "--weights", str(model)],
        "predict": ["predict", str(fifo), "-o", str(tmp_path / "p.tif"), "--weights", str(model)],
        "vectorize": ["vectorize", str(fifo), "-o", str(out)],
        "evaluate": ["evaluate", "--pred", str(fifo), "--labels", str(fifo)],
    }[command]
    proc = subprocess.run(
        [sys.executable, "-m", "roadseg.cli", *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "FIFO" in proc.stderr and "Traceback" not in proc.stderr


def test_device_file_as_scene(tmp_path, model, capsys):
    argv = ["extract", "/dev/zero", "-o", str(tmp_path / "r.geojson"), "--weights", str(model)]
    assert main(argv) == EXIT_USAGE
    assert "device file" in _one_line(capsys)


def test_many_scenes_with_one_name_keep_their_intermediates_apart(tmp_path, model, capsys):
    """a/scene.tif and b/scene.tif (different roads) in one run: two probability rasters."""
    import rasterio

    a = write_road_scene(_mkdir(tmp_path / "a") / "scene.tif", ROADS, 128, 192)
    other = [((20, 0), (20, 191))]
    b = write_road_scene(
        _mkdir(tmp_path / "b") / "scene.tif", other, 128, 192, origin=(500384.0, 5000000.0)
    )
    work = tmp_path / "work"
    argv = ["extract", str(a), str(b), "-o", str(tmp_path / "net.geojson"), "--weights", str(model)]
    argv += ["--keep-intermediates", str(work), "--workers", "1", *FAST, "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    kept = sorted(str(p.relative_to(work)) for p in work.rglob("*.probability.tif"))
    assert kept == ["a/scene.probability.tif", "b/scene.probability.tif"]
    with (
        rasterio.open(work / "a" / "scene.probability.tif") as ra,
        rasterio.open(work / "b" / "scene.probability.tif") as rb,
    ):
        assert ra.transform != rb.transform
        assert (ra.read(1) != rb.read(1)).any()


def test_failed_scenes_status_differs_from_usage_errors(tmp_path, model, capsys):
    good = write_road_scene(tmp_path / "good.tif", ROADS, 128, 192)
    bad = [tmp_path / "bad1.tif", tmp_path / "bad2.tif"]
    for b in bad:
        b.write_text("not a raster")
    base = ["-o", str(tmp_path / "net.geojson"), "--weights", str(model)]
    base += ["--workers", "1", *FAST, "--no-progress"]
    # two scenes fail: the old status (the number of failed scenes) would have been 2
    assert main(["extract", str(good), *map(str, bad), *base]) == EXIT_SOME_SCENES_FAILED
    assert (tmp_path / "net.geojson").exists()
    err = capsys.readouterr().err
    # progress per scene and the dashboard address, in the log (stderr is not a terminal)
    assert "Dask dashboard: http" in err
    assert all(f"scene {k}/3 " in err for k in (1, 2, 3)), err
    assert err.count(f"wrote {tmp_path / 'net.geojson'}") == 1
    (tmp_path / "net.geojson").unlink()
    (tmp_path / "net.nodes.geojson").unlink()
    assert main(["extract", *map(str, bad), *base]) == EXIT_ALL_SCENES_FAILED
    assert not (tmp_path / "net.geojson").exists()
    capsys.readouterr()


def _mkdir(p: Path) -> Path:
    p.mkdir()
    return p
