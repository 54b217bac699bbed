"""The device-lease scripts: pack, train within a minute budget, continue from the packed weights, parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from roadseg.errors import InputError
from roadseg.models.checkpoint import read_meta

REPO = Path(__file__).resolve().parents[2]
GPU = REPO / "benchmarks" / "gpu"
sys.path.insert(0, str(GPU))

import pack  # noqa: E402
import parts  # noqa: E402

from roadseg.training import TrainConfig  # noqa: E402

TINY = ["--set", "crop=32", "--set", "arch_args={filters: [4, 8]}", "--set", "crops_per_epoch=8",
        "--set", "batch_size=4", "--set", "epochs=2", "--set", "threads=1", "--set", "max_invalid_fraction=1.0"]


def _tiles_csv(images: Path, masks: Path, tmp: Path) -> Path:
    csv = tmp / "tiles.csv"
    csv.write_text("image,mask,split\n" + "".join(
        f"{images / f't{k}.png'},{masks / f't{k}.png'},{'valid' if k == 2 else 'train'}\n" for k in range(3)))
    return csv


def _lease(payload: Path, out: Path, minutes: str = "0.6") -> subprocess.CompletedProcess:
    env = {**os.environ, "PAYLOAD": str(payload), "OUT": str(out), "MARGIN_MIN": "0", "WORK": str(out.parent / "work"),
           "PYTHON": sys.executable, "WARMUP": "3"}
    return subprocess.run(["bash", str(GPU / "train_on_device.sh"), minutes, *TINY], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)


def test_two_leases_continue_from_the_weights_brought_back(road_tiles, tmp_path):
    csv = _tiles_csv(*road_tiles, tmp_path)
    config = TrainConfig(tiles_csv=str(csv))
    info = pack.pack(config, tmp_path / "payload", factor=2.0, quality=92, init=None)
    assert info["tiles"] == 3 and info["valid_tiles"] == 1 and info["gsd_m"] == 2.0

    done = _lease(tmp_path / "payload", tmp_path / "l1" / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "l1" / "out"
    index = out / "checkpoint" / "last.safetensors.parts.json"
    assert all(p.stat().st_size <= 16 * 2**20 for p in (out / "checkpoint").iterdir())
    last = parts.join(index, tmp_path / "last.safetensors")
    meta = read_meta(last)
    assert meta.gsd_m == 2.0 and meta.provenance["validation_tiles"] == ["t2"]
    assert meta.provenance["recipe"]["time_budget_min"] <= 0.6
    assert (out / "checkpoint" / "best.safetensors.parts.json").is_file()

    # the next lease starts from those weights with a warm-up instead of the optimizer state
    pack.pack(config, tmp_path / "payload2", factor=2.0, quality=92, init=last)
    done = _lease(tmp_path / "payload2", tmp_path / "l2" / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    second = parts.join(tmp_path / "l2" / "out" / "checkpoint" / "last.safetensors.parts.json",
                        tmp_path / "last2.safetensors")
    meta2 = read_meta(second)
    assert meta2.provenance["init_weights"].endswith("init.safetensors")
    assert meta2.provenance["recipe"]["warmup_steps"] == 3
    assert meta2.provenance["init_provenance"]["train_tiles"] == meta.provenance["train_tiles"]


def test_a_lease_without_time_left_refuses(road_tiles, tmp_path):
    csv = _tiles_csv(*road_tiles, tmp_path)
    pack.pack(TrainConfig(tiles_csv=str(csv)), tmp_path / "payload", 2.0, 92, None)
    done = _lease(tmp_path / "payload", tmp_path / "l" / "out", minutes="0.001")
    assert done.returncode == 2 and "no time left" in done.stderr


def test_parts_split_join_and_detect_a_damaged_part(tmp_path):
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(5000))
    index = parts.split(src, tmp_path / "p", max_mib=2000 / 2**20)
    info = json.loads(index.read_text())
    assert [p["bytes"] for p in info["parts"]] == [2000, 2000, 1000]
    assert parts.join(index, tmp_path / "g.bin").read_bytes() == src.read_bytes()
    damaged = tmp_path / "p" / "f.bin.part001"
    damaged.write_bytes(b"x" * 2000)
    with pytest.raises(InputError, match="part001: size or sha256"):
        parts.join(index, tmp_path / "h.bin")
    assert not (tmp_path / "h.bin").exists()
