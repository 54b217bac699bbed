"""Calibration: the best held-out checkpoint is kept with its break-even threshold."""

from __future__ import annotations

import pytest

from roadseg.cli import main
from roadseg.models import load_checkpoint
from roadseg.models.checkpoint import read_meta
from roadseg.training import train
from tests.training.helpers import tiny_config as _config


def test_calibrate_picks_the_best_epoch(road_tiles, tmp_path):
    images, masks = road_tiles
    run = train(_config(images, masks, tmp_path / "run", epochs=2, holdout=["t2"]))
    holdout = tmp_path / "holdout.csv"
    holdout.write_text("tile\nt2\n")
    out = tmp_path / "model.safetensors"
    epochs = sorted(str(p) for p in (tmp_path / "run").glob("epoch_*.safetensors"))
    argv = ["calibrate", *epochs, "-o", str(out), "--images", str(images), "--masks", str(masks),
            "--holdout-csv", str(holdout), "--device", "cpu"]
    assert main(argv) == 0
    meta = read_meta(out)
    assert 0.0 < meta.threshold < 1.0
    assert meta.threshold == pytest.approx(meta.metrics["heldout_breakeven_threshold"])
    assert meta.metrics["heldout_tiles"] == ["t2"]
    assert sorted(meta.metrics["selected_from"]) == ["epoch_001.safetensors", "epoch_002.safetensors"]
    load_checkpoint(out)
    assert run.steps_done == 12


def test_calibrate_refuses_a_holdout_not_in_the_data(road_tiles, tmp_path):
    images, masks = road_tiles
    run = train(_config(images, masks, tmp_path / "run", epochs=1))
    holdout = tmp_path / "holdout.csv"
    holdout.write_text("tile\nnot_a_tile\n")
    argv = ["calibrate", str(run.last), "-o", str(tmp_path / "m.safetensors"), "--images", str(images),
            "--masks", str(masks), "--holdout-csv", str(holdout)]
    assert main(argv) == 2
    assert not (tmp_path / "m.safetensors").exists()
