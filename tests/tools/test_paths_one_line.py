"""Paths that ended in a traceback or a misleading line (issue 22 items 5 and 6).

Before: a scene that is a symbolic link to itself gave ``RuntimeError: Symlink
loop``; a truncated probability COG gave rasterio's traceback from the block
skeleton; a FIFO as config file was "not found", and a link loop a -> b -> a
"file not found". Now each is one line naming the file, exit 2, nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from roadseg.cli import main

from .conftest import FAST


def _one_line(argv, folder: Path, capsys, *needles: str) -> None:
    before = sorted(os.listdir(folder))
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert (
        "Traceback" not in err and len([x for x in err.splitlines() if x.startswith("ERROR")]) == 1
    )
    for n in needles:
        assert n in err, err
    assert sorted(os.listdir(folder)) == before


@pytest.mark.parametrize("command", ["predict", "extract", "vectorize"])
@pytest.mark.parametrize("loop", ["self", "pair"])
def test_a_symlink_loop_as_input(tmp_path, model, capsys, monkeypatch, command, loop):
    monkeypatch.chdir(tmp_path)
    if loop == "self":
        os.symlink("loop.tif", "loop.tif")
    else:
        os.symlink("b.tif", "loop.tif")
        os.symlink("loop.tif", "b.tif")
    weights = [] if command == "vectorize" else ["--weights", model, *FAST]
    argv = [command, "loop.tif", "-o", "out.gpkg" if command != "predict" else "p.tif", *weights]
    _one_line(argv, tmp_path, capsys, "loop.tif: the ", "symbolic link that loops back on itself")


def test_a_truncated_probability_cog(tmp_path, capsys):
    full = tmp_path / "full.tif"
    data = (np.random.default_rng(0).random((600, 600)) * 255).astype(np.uint8)
    profile = dict(driver="COG", width=600, height=600, count=1, dtype="uint8")
    with rasterio.open(full, "w", crs="EPSG:32633", transform=from_origin(0, 0, 1, 1),
                       **profile) as ds:  # fmt: skip
        ds.write(data, 1)
    cut = tmp_path / "prob_trunc_cog.tif"
    blob = full.read_bytes()
    cut.write_bytes(blob[: len(blob) // 2])
    full.unlink()
    argv = ["vectorize", cut, "-o", tmp_path / "r.gpkg", "--threshold", "0.5"]
    _one_line(argv, tmp_path, capsys, f"{cut}: cannot read rows", "truncated or damaged")


def test_config_fifo_and_link_loop(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkfifo("fifo.yaml")
    os.symlink("b.yaml", "a.yaml")
    os.symlink("a.yaml", "b.yaml")
    base = ["extract", "s.tif", "-o", "r.gpkg", "--config"]
    _one_line(
        [*base, "fifo.yaml"],
        tmp_path,
        capsys,
        "fifo.yaml: is a FIFO (named pipe), not a config file",
    )
    _one_line(
        [*base, "a.yaml"], tmp_path, capsys, "a.yaml: is a symbolic link that loops back on itself"
    )
