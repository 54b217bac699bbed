from __future__ import annotations

from pathlib import Path

import pytest

from roadseg.data import TilePair, list_pairs
from roadseg.errors import InputError


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_pairs_by_stem_sorted_and_ignores_non_tiles(tmp_path):
    for t in ("b_15", "a_15"):
        _touch(tmp_path / "train/sat" / f"{t}.tiff")
        _touch(tmp_path / "train/map" / f"{t}.tif")
    _touch(tmp_path / "train/sat/c_15.tiff.part")  # download in progress
    _touch(tmp_path / "train/sat/.x.1234.partial.tif")  # atomic write in progress
    _touch(tmp_path / "train/map/a_15.tif.aux.xml")
    pairs = list_pairs(tmp_path, "train")
    assert pairs == [
        TilePair("a_15", tmp_path / "train/sat/a_15.tiff", tmp_path / "train/map/a_15.tif"),
        TilePair("b_15", tmp_path / "train/sat/b_15.tiff", tmp_path / "train/map/b_15.tif"),
    ]
    assert [p.tile for p in list_pairs(tmp_path, "train", exclude=["a_15"])] == ["b_15"]


def test_missing_partner_is_an_error_unless_not_strict(tmp_path):
    _touch(tmp_path / "valid/sat/a_15.png")
    _touch(tmp_path / "valid/map/a_15.png")
    _touch(tmp_path / "valid/sat/b_15.png")
    with pytest.raises(InputError, match=r"b_15\.png"):
        list_pairs(tmp_path, "valid")
    assert [p.tile for p in list_pairs(tmp_path, "valid", strict=False)] == ["a_15"]


def test_two_files_for_one_tile_is_an_error(tmp_path):
    _touch(tmp_path / "test/sat/a_15.png")
    _touch(tmp_path / "test/sat/a_15.tif")
    _touch(tmp_path / "test/map/a_15.png")
    with pytest.raises(InputError, match="two files"):
        list_pairs(tmp_path, "test")


def test_missing_folder_unknown_split_and_empty(tmp_path):
    with pytest.raises(InputError, match=r"train/sat: no such folder"):
        list_pairs(tmp_path, "train")
    with pytest.raises(InputError, match="unknown split"):
        list_pairs(tmp_path, "val")
    (tmp_path / "train/sat").mkdir(parents=True)
    (tmp_path / "train/map").mkdir(parents=True)
    with pytest.raises(InputError, match="no image/label pairs"):
        list_pairs(tmp_path, "train")
