"""Trainer: the loss decreases, resume continues from the same step, checkpoints load."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from roadseg.models import load_checkpoint
from roadseg.training import TrainConfig, load_recipe, train
from roadseg.training.trainer import find_pairs
from tests.training.helpers import tiny_config as _config


def test_loss_decreases(road_tiles, tmp_path):
    torch.manual_seed(0)
    result = train(_config(*road_tiles, tmp_path / "run", epochs=4, crops_per_epoch=48))
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 4
    assert losses[-1] < 0.8 * losses[0]


def test_resume_continues_from_the_same_step(road_tiles, tmp_path):
    straight = train(_config(*road_tiles, tmp_path / "a", epochs=2))
    first = train(_config(*road_tiles, tmp_path / "b", epochs=1))
    assert first.steps_done == 6
    resumed = train(_config(*road_tiles, tmp_path / "b", epochs=2))
    assert resumed.steps_done == straight.steps_done == 12
    assert [r["step"] for r in resumed.history] == [6, 12]
    a = load_file(str(straight.last))
    b = load_file(str(resumed.last))
    for key in a:  # bit-exact: batch b is a function of (seed, rank, b), the resume unit is exact
        assert torch.equal(a[key], b[key]), key


def test_no_resume_starts_afresh(road_tiles, tmp_path):
    train(_config(*road_tiles, tmp_path / "c", epochs=1))
    again = train(_config(*road_tiles, tmp_path / "c", epochs=1, resume=False))
    assert again.steps_done == 6


def test_checkpoint_carries_recipe_and_holdout(road_tiles, tmp_path):
    images, masks = road_tiles
    result = train(_config(images, masks, tmp_path / "d", epochs=1, holdout=["t2"]))
    model, meta = load_checkpoint(result.last)
    assert meta.provenance["train_tiles"] == ["t0", "t1"]
    assert meta.provenance["validation_tiles"] == ["t2"]
    assert meta.provenance["recipe"]["loss"] == "bce_dice"
    assert meta.gsd_m == 1.0 and meta.tile == 32
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 32, 32))
    assert out.shape == (1, 1, 32, 32)


def test_coarser_training_gsd_halves_the_tiles(road_tiles, tmp_path):
    from roadseg.training.tiles import load_tile

    images, masks = road_tiles
    tile = load_tile(images / "t0.png", masks / "t0.png", gsd_m=2.0, source_gsd_m=1.0)
    assert tile.image.shape == (3, 48, 48)
    # a 5 px road at 1 m keeps its area at 2 m: mean label is preserved by area averaging
    full = load_tile(images / "t0.png", masks / "t0.png", gsd_m=1.0, source_gsd_m=1.0)
    assert abs(tile.label.mean() - full.label.mean()) < 1e-6
    assert not tile.valid[:8, :8].any() and tile.valid[20:, 20:].all()


def test_bundled_recipes_load():
    paper = load_recipe("paper")
    assert (paper.optimizer, paper.lr, paper.epochs, paper.batch_size, paper.loss) == ("sgd", 0.001, 50, 8, "mse")
    assert paper.crops_per_epoch == 30000 and paper.step_epochs == 20 and paper.gamma == 0.1
    modern = load_recipe("modern")
    assert (modern.optimizer, modern.schedule, modern.loss) == ("adamw", "cosine", "bce_dice")


def test_bad_recipe_key_is_named(tmp_path):
    from roadseg.errors import InputError

    bad = tmp_path / "r.yaml"
    bad.write_text("learning_rate: 0.1\n")
    with pytest.raises(InputError, match="learning_rate"):
        load_recipe(str(bad))


def test_missing_data_folder_is_named(tmp_path):
    from roadseg.errors import InputError

    with pytest.raises(InputError, match="nowhere"):
        find_pairs(TrainConfig(images_dir=str(tmp_path / "nowhere"), masks_dir=str(tmp_path)))


def test_cli_trains_and_resumes(road_tiles, tmp_path):
    from roadseg.cli import main

    images, masks = road_tiles
    argv = [
        "train", "--recipe", "modern", "--images", str(images), "--masks", str(masks),
        "--out", str(tmp_path / "cli"), "--threads", "1",
        "--set", "crops_per_epoch=8", "--set", "crop=32",
        "--set", "arch_args={filters: [4, 8]}", "--set", "val_every=0", "--set", "plot=false",
    ]
    assert main([*argv, "--set", "epochs=1"]) == 0
    assert (tmp_path / "cli" / "last.safetensors").is_file()
    assert main([*argv, "--set", "epochs=2"]) == 0
    import json

    assert [row["epoch"] for row in json.loads((tmp_path / "cli" / "log.json").read_text())] == [1, 2]
    assert main(["train", "--recipe", "nonexistent", "--out", str(tmp_path / "x")]) == 2


def test_ddp_two_processes_with_torchrun(road_tiles, tmp_path):
    """Two CPU ranks (gloo) train together; rank 0 writes the checkpoint and log."""
    import subprocess
    import sys

    images, masks = road_tiles
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "-m", "roadseg.cli", "train", "--recipe", "modern", "--images", str(images),
        "--masks", str(masks), "--out", str(tmp_path / "ddp"), "--threads", "1",
        "--set", "epochs=1", "--set", "crops_per_epoch=16", "--set", "crop=32",
        "--set", "batch_size=4", "--set", "arch_args={filters: [4, 8]}",
        "--set", "val_every=0", "--set", "plot=false",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    log = json.loads((tmp_path / "ddp" / "log.json").read_text())
    assert [row["step"] for row in log] == [2]  # 16 crops / (batch 4 x 2 ranks)


def test_init_weights_fine_tunes_from_a_checkpoint(road_tiles, tmp_path):
    first = train(_config(*road_tiles, tmp_path / "pre", epochs=1))
    tuned = train(_config(*road_tiles, tmp_path / "ft", epochs=1, lr=0.0, init_weights=str(first.last),
                          arch_args={"filters": [8, 16]}))
    _, meta = load_checkpoint(tuned.last)
    assert meta.arch_args == {"filters": [4, 8, 16]}  # the checkpoint's architecture wins
    assert meta.provenance["init_weights"] == str(first.last)
    a, b = load_file(str(first.last)), load_file(str(tuned.last))
    for key in a:  # lr = 0: weights unchanged (BN running stats do move)
        if "running" not in key and "num_batches" not in key:
            torch.testing.assert_close(a[key], b[key])


def test_validation_each_epoch_keeps_the_best_with_its_threshold(road_tiles, tmp_path):
    """Held-out tiles are predicted with the tiled predictor and scored (relaxed break-even)."""
    images, masks = road_tiles
    result = train(
        _config(images, masks, tmp_path / "v", epochs=2, holdout=["t2"], val_every=1, plot=True)
    )
    assert result.best is not None and result.best.is_file()
    rows = result.history
    assert all(0.0 <= r["val_breakeven"] <= 1.0 for r in rows)
    _, meta = load_checkpoint(result.best)
    best_row = max(rows, key=lambda r: r["val_breakeven"])
    assert meta.metrics["heldout_relaxed_breakeven"] == pytest.approx(best_row["val_breakeven"])
    assert meta.threshold == pytest.approx(best_row["val_breakeven_threshold"])
    assert (tmp_path / "v" / "log.png").stat().st_size > 1000


def test_validation_without_tiles_is_a_clear_error():
    from roadseg.errors import InputError
    from roadseg.models import CheckpointMeta, build_model
    from roadseg.training.trainer import validate

    with pytest.raises(InputError, match="no held-out tiles"):
        validate(build_model("resunet", filters=[4, 8]), CheckpointMeta("resunet"), [], torch.device("cpu"))


def test_narrow_width_trains_without_crashing(road_tiles, tmp_path):
    """A 8-16-32-64 ResUNet on 64 px crops: its channels_last backward aborted the process."""
    images, masks = road_tiles
    result = train(
        _config(images, masks, tmp_path / "n", epochs=1, crop=64, crops_per_epoch=8,
                arch_args={"filters": [8, 16, 32, 64]})
    )
    assert result.steps_done == 2
