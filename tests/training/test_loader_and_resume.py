"""Crops drawn by worker processes, the one-file resume unit, refusals before training starts."""

from __future__ import annotations

import pickle

import pytest
import torch
from safetensors.torch import load_file

from roadseg.cli import main
from roadseg.errors import InputError
from roadseg.training import train
from roadseg.training.loader import CropStream, crop_loader
from roadseg.training.sampling import CropSampler
from roadseg.training.tiles import load_tile
from roadseg.training.trainer import DEFAULT_NORMALISATION
from tests.training.helpers import tiny_config as _config


def _stream(road_tiles, start=0, stop=6):
    images, masks = road_tiles
    tiles = [load_tile(images / f"t{k}.png", masks / f"t{k}.png", 1.0, 1.0) for k in range(3)]
    sampler = CropSampler(tiles, 32, 0.5, "d4", seed=0)
    return CropStream(sampler, 4, DEFAULT_NORMALISATION, start, stop, key=(0, 0))


def test_batches_do_not_depend_on_workers_or_start(road_tiles):
    serial = list(crop_loader(_stream(road_tiles), 0, False, 2))
    parallel = list(crop_loader(_stream(road_tiles), 2, False, 2))
    late = list(crop_loader(_stream(road_tiles, start=3), 0, False, 2))
    assert len(serial) == len(parallel) == 6 and len(late) == 3
    for a, b in zip(serial, parallel):
        assert all(torch.equal(x, y) for x, y in zip(a, b))
    for a, b in zip(serial[3:], late):
        assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(serial[0][0], serial[1][0])


def test_training_with_workers_equals_training_without(road_tiles, tmp_path):
    a = train(_config(*road_tiles, tmp_path / "w0", epochs=1, num_workers=0))
    b = train(_config(*road_tiles, tmp_path / "w2", epochs=1, num_workers=2))
    wa, wb = load_file(str(a.last)), load_file(str(b.last))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a.history[0]["crops_per_s"] > 0


def test_kill_while_writing_a_checkpoint_resumes_consistently(road_tiles, tmp_path, monkeypatch):
    """A run dies in epoch 2's save; the rerun resumes from epoch 1 and ends where a straight run does."""
    straight = train(_config(*road_tiles, tmp_path / "a", epochs=2))
    import roadseg.training.state as state

    real = state.save_file
    calls = {"n": 0}

    def dying(tensors, path, metadata=None):
        calls["n"] += 1
        if calls["n"] == 2:  # the second epoch's resume unit: half-written, then killed
            with open(path, "wb") as fh:
                fh.write(b"partial")
            raise KeyboardInterrupt
        real(tensors, path, metadata=metadata)

    monkeypatch.setattr(state, "save_file", dying)
    with pytest.raises(KeyboardInterrupt):
        train(_config(*road_tiles, tmp_path / "b", epochs=2))
    monkeypatch.setattr(state, "save_file", real)
    assert not list((tmp_path / "b").glob("*.partial*"))
    resumed = train(_config(*road_tiles, tmp_path / "b", epochs=2))
    assert [r["step"] for r in resumed.history] == [6, 12]
    a, b = load_file(str(straight.last)), load_file(str(resumed.last))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_pickle_as_state_pt_is_one_line_and_never_unpickled(road_tiles, tmp_path, capsys):
    images, masks = road_tiles
    out = tmp_path / "run"
    out.mkdir()

    class Boom:
        def __reduce__(self):
            return (exec, (f"open({str(tmp_path / 'pwned')!r}, 'w').write('ran')",))

    (out / "state.pt").write_bytes(pickle.dumps(Boom()))
    (out / "last.safetensors").write_bytes(b"x")
    argv = ["train", "--images", str(images), "--masks", str(masks), "--out", str(out),
            "--set", "crop=32", "--set", "arch_args={filters: [4, 8]}", "--set", "val_every=0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "state.pt" in err[0] and "--no-resume" in err[0]
    assert not (tmp_path / "pwned").exists()


def test_a_corrupt_resume_unit_is_one_line(road_tiles, tmp_path):
    train(_config(*road_tiles, tmp_path / "r", epochs=1))
    (tmp_path / "r" / "resume.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(InputError, match="resume.safetensors: unreadable"):
        train(_config(*road_tiles, tmp_path / "r", epochs=2))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("crop=100", "crop=100: must be a multiple of 8"),
        ("lr=-1", "lr=-1"),
        ("batch_size=0", "batch_size=0"),
        ("augment=sideways", "augment='sideways'"),
        ("num_workers=-2", "num_workers=-2"),
    ],
)
def test_bad_values_are_one_line_before_any_work(road_tiles, tmp_path, capsys, setting, message):
    images, masks = road_tiles
    argv = ["train", "--images", str(images), "--masks", str(masks), "--out", str(tmp_path / "x"),
            "--set", "arch_args={filters: [4, 8, 16, 32]}", "--set", setting]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "x").exists()


def test_the_loss_is_read_back_per_log_interval_not_per_step(road_tiles, tmp_path, monkeypatch):
    """No host synchronisation per step: 24 steps, log_every 50 -> one read-back per epoch.

    SGD, because AdamW reads its own CPU-side step counters with ``.item()`` (no device sync).
    """
    reads = {"n": 0}
    real_item, real_float = torch.Tensor.item, torch.Tensor.__float__

    def item(self):
        reads["n"] += 1
        return real_item(self)

    def as_float(self):
        reads["n"] += 1
        return real_float(self)

    monkeypatch.setattr(torch.Tensor, "item", item)
    monkeypatch.setattr(torch.Tensor, "__float__", as_float)
    result = train(_config(*road_tiles, tmp_path / "s", epochs=2, crops_per_epoch=48, log_every=50,
                                 optimizer="sgd"))
    assert result.steps_done == 24
    assert reads["n"] <= 3  # the two epoch means, and the DataLoader's seed draw (a CPU tensor, once)
