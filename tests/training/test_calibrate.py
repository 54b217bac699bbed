"""Calibration: the best validation checkpoint is kept with its break-even threshold."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from roadseg.cli import main
from roadseg.models import build_model, load_checkpoint, save_checkpoint
from roadseg.models.checkpoint import read_meta
from roadseg.training import train
from roadseg.training.calibrate import calibrate
from tests.training.helpers import tiny_config as _config


def _worse_copy(good, path):
    """The same architecture and metadata with untrained (random) weights: a clearly worse epoch."""
    _, meta = load_checkpoint(good)
    torch.manual_seed(123)
    save_checkpoint(path, build_model("resunet", filters=meta.arch_args["filters"]), meta)
    return path


def test_calibrate_picks_the_best_epoch(road_tiles, tmp_path):
    images, masks = road_tiles
    run = train(_config(images, masks, tmp_path / "run", epochs=3, crops_per_epoch=48, holdout=["t2"]))
    worse = _worse_copy(run.last, tmp_path / "run" / "epoch_000.safetensors")
    holdout = tmp_path / "holdout.csv"
    holdout.write_text("tile\nt2\n")
    out = tmp_path / "model.safetensors"
    epochs = sorted(str(p) for p in (tmp_path / "run").glob("epoch_*.safetensors"))
    config = _config(images, masks, tmp_path / "unused", holdout_csv=str(holdout))
    result = calibrate(epochs, config, out, device="cpu")
    scores = {name: s["breakeven"] for name, s in result.scores.items()}
    best_name = max(scores, key=lambda n: scores[n])
    assert min(scores.values()) < max(scores.values()) - 0.05, scores  # a real choice to make
    assert scores[worse.name] == min(scores.values())
    # the kept file is the best one: its figures and its weights
    assert result.best.name == best_name
    meta = read_meta(out)
    assert meta.metrics["heldout_relaxed_breakeven"] == pytest.approx(scores[best_name])
    assert meta.threshold == pytest.approx(result.scores[best_name]["breakeven_threshold"])
    kept, chosen = load_file(str(out)), load_file(str(tmp_path / "run" / best_name))
    assert all(torch.equal(kept[k], chosen[k]) for k in chosen)
    assert meta.metrics["heldout_tiles"] == ["t2"]
    assert sorted(meta.metrics["selected_from"]) == sorted(scores)
    load_checkpoint(out)


def test_calibrate_cli_writes_the_validation_that_chose(road_tiles, tmp_path):
    """rho and the no-imagery handling in the metadata are those the scores were measured with."""
    images, masks = road_tiles
    run = train(_config(images, masks, tmp_path / "run", epochs=1))
    holdout = tmp_path / "holdout.csv"
    holdout.write_text("tile\nt2\n")
    out = tmp_path / "model.safetensors"
    argv = ["calibrate", str(run.last), "-o", str(out), "--images", str(images), "--masks", str(masks),
            "--holdout-csv", str(holdout), "--device", "cpu", "--rho", "1"]
    assert main(argv) == 0
    meta = read_meta(out)
    assert meta.metrics["rho_px"] == 1 and meta.metrics["white_excluded"] is True
    assert 0.0 < meta.threshold < 1.0
    assert meta.threshold == pytest.approx(meta.metrics["heldout_breakeven_threshold"])


def test_calibrate_refuses_a_holdout_not_in_the_data(road_tiles, tmp_path):
    images, masks = road_tiles
    run = train(_config(images, masks, tmp_path / "run", epochs=1))
    holdout = tmp_path / "holdout.csv"
    holdout.write_text("tile\nnot_a_tile\n")
    argv = ["calibrate", str(run.last), "-o", str(tmp_path / "m.safetensors"), "--images", str(images),
            "--masks", str(masks), "--holdout-csv", str(holdout)]
    assert main(argv) == 2
    assert not (tmp_path / "m.safetensors").exists()


def test_calibrate_on_the_valid_split_of_a_tiles_csv(road_tiles, tmp_path):
    images, masks = road_tiles
    csv = tmp_path / "tiles.csv"
    csv.write_text("image,mask,split\n" + "".join(
        f"images/t{k}.png,masks/t{k}.png,{'valid' if k == 1 else 'train'}\n" for k in range(3)))
    run = train(_config(None, None, tmp_path / "run", tiles_csv=str(csv), epochs=1))
    out = tmp_path / "model.safetensors"
    assert main(["calibrate", str(run.last), "-o", str(out), "--tiles-csv", str(csv), "--device", "cpu"]) == 0
    meta = read_meta(out)
    assert meta.metrics["heldout_tiles"] == ["t1"] and meta.provenance["train_tiles"] == ["t0", "t2"]
