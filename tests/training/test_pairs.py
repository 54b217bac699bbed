"""Data selection: folders, a tiles CSV, JPEG images, the valid split, holdout and exclude."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import rasterio

from roadseg.errors import InputError
from roadseg.training import train
from roadseg.training.pairs import find_pairs, split_pairs
from roadseg.training.tiles import load_tile
from roadseg.training.trainer import git_commit
from tests.training.helpers import tiny_config as _config


def _to_jpeg(png, jpg):
    with rasterio.open(png) as src:
        data = src.read()
    with rasterio.open(jpg, "w", driver="JPEG", width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype="uint8", QUALITY=95) as dst:
        dst.write(data)


@pytest.fixture()
def two_folders(road_tiles, tmp_path):
    """t0, t1 as PNG in one folder pair; t2 as JPEG image + PNG mask in another."""
    images, masks = road_tiles
    more_i, more_m = tmp_path / "more" / "images", tmp_path / "more" / "masks"
    more_i.mkdir(parents=True)
    more_m.mkdir(parents=True)
    _to_jpeg(images / "t2.png", more_i / "t2.jpg")
    shutil.move(masks / "t2.png", more_m / "t2.png")
    (images / "t2.png").unlink()
    return (images, masks), (more_i, more_m)


def test_jpeg_tile_loads_like_its_png(road_tiles, tmp_path):
    images, masks = road_tiles
    _to_jpeg(images / "t0.png", tmp_path / "t0.jpg")
    png = load_tile(images / "t0.png", masks / "t0.png", 1.0, 1.0)
    jpg = load_tile(tmp_path / "t0.jpg", masks / "t0.png", 1.0, 1.0)
    assert jpg.image.shape == png.image.shape
    assert abs(float(jpg.image.mean()) - float(png.image.mean())) < 2  # lossy, same picture
    np.testing.assert_array_equal(jpg.label, png.label)
    road = png.label > 0
    assert jpg.image[:, road].mean() < jpg.image[:, ~road & jpg.valid].mean() - 50


def test_several_folders_and_jpeg(two_folders, tmp_path):
    (i1, m1), (i2, m2) = two_folders
    cfg = _config([str(i1), str(i2)], [str(m1), str(m2)], tmp_path / "run", epochs=1, holdout=["t2"])
    pairs = find_pairs(cfg)
    assert [(p.tile, p.image.suffix) for p in pairs] == [("t0", ".png"), ("t1", ".png"), ("t2", ".jpg")]
    result = train(cfg)
    assert result.steps_done == 6


def test_tiles_csv_valid_split_selects_and_exclude_stays_out(two_folders, tmp_path):
    (i1, m1), (i2, m2) = two_folders
    csv = tmp_path / "tiles.csv"
    csv.write_text(
        "image,mask,split\n"
        f"{i1.relative_to(tmp_path)}/t0.png,{m1.relative_to(tmp_path)}/t0.png,train\n"
        f"{i1.relative_to(tmp_path)}/t1.png,{m1.relative_to(tmp_path)}/t1.png,train\n"
        f"{i2.relative_to(tmp_path)}/t2.jpg,{m2.relative_to(tmp_path)}/t2.png,valid\n"
    )
    cfg = _config(None, None, tmp_path / "run", tiles_csv=str(csv), epochs=1, val_every=1)
    train_p, val_p = split_pairs(cfg)
    assert [p.tile for p in train_p] == ["t0", "t1"] and [p.tile for p in val_p] == ["t2"]
    result = train(cfg)
    assert result.history[0]["val_breakeven"] >= 0.0
    from roadseg.models.checkpoint import read_meta

    meta = read_meta(result.best)
    assert meta.provenance["validation_tiles"] == ["t2"] and meta.metrics["heldout_tiles"] == ["t2"]
    # an excluded tile is used neither for training nor for selection
    excl = tmp_path / "exclude.csv"
    excl.write_text("tile,role\nt1,holdout\nt2,holdout\n")
    train_p, val_p = split_pairs(_config(None, None, tmp_path / "r2", tiles_csv=str(csv), exclude_csv=str(excl)))
    assert [p.tile for p in train_p] == ["t0"] and val_p == []


def test_tiles_csv_relative_to_a_root(two_folders, tmp_path):
    (i1, m1), _ = two_folders
    csv = tmp_path / "elsewhere.csv"
    csv.write_text("image,mask,split\nimages/t0.png,masks/t0.png,train\n")
    cfg = _config(None, None, tmp_path / "r", tiles_csv=str(csv), tiles_root=str(i1.parent))
    assert find_pairs(cfg)[0].image == i1 / "t0.png"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("image,mask\na.png,b.png\n", "lacks column"),
        ("image,mask,split\na.png,b.png,test\n", "split must be train or valid"),
        ("image,mask,split\nnope.png,nope.png,train\n", "not found"),
    ],
)
def test_bad_tiles_csv_is_one_line(tmp_path, body, message):
    csv = tmp_path / "t.csv"
    csv.write_text(body)
    with pytest.raises(InputError, match=message):
        find_pairs(_config(None, None, tmp_path / "r", tiles_csv=str(csv)))


def test_same_tile_in_two_sources_is_refused(road_tiles, tmp_path):
    images, masks = road_tiles
    with pytest.raises(InputError, match="tile t0 is also"):
        find_pairs(_config([str(images), str(images)], [str(masks), str(masks)], tmp_path / "r"))


def test_git_commit_only_of_roadsegs_own_checkout(tmp_path):
    """A roadseg copy inside an enclosing repository reports no commit (not the enclosing one's)."""
    outer = tmp_path / "outer"
    pkg = outer / "venv" / "site-packages" / "roadseg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", str(outer)], check=True, env=env)
    subprocess.run(["git", "-C", str(outer), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(outer), "commit", "-qm", "x"], check=True, env=env)
    assert git_commit(pkg) is None
    # its own checkout: the package at the top of a work tree that tracks it
    own = tmp_path / "own"
    (own / "roadseg").mkdir(parents=True)
    (own / "roadseg" / "__init__.py").write_text("")
    subprocess.run(["git", "init", "-q", str(own)], check=True, env=env)
    subprocess.run(["git", "-C", str(own), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(own), "commit", "-qm", "x"], check=True, env=env)
    head = subprocess.run(["git", "-C", str(own), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert git_commit(own / "roadseg") == head
