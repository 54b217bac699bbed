from __future__ import annotations

import csv
from pathlib import Path

import pytest

from roadseg.data.manifest import (
    COLUMNS,
    OFFICIAL_COUNTS,
    build_manifest,
    default_manifest_path,
    read_manifest,
    split_counts,
)
from roadseg.errors import InputError

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "data_manifests" / "massachusetts_roads.csv"
HOLDOUT = REPO / "data_manifests" / "massachusetts_holdout.csv"


def test_committed_manifest_has_the_official_split():
    assert default_manifest_path() == MANIFEST
    rows = read_manifest(MANIFEST)
    assert split_counts(rows) == {"train": 1108, "valid": 14, "test": 49} == OFFICIAL_COUNTS
    assert len({r.tile for r in rows}) == 1171
    with MANIFEST.open() as f:
        assert tuple(next(csv.reader(f))) == COLUMNS
    for r in rows:
        base = f"https://www.cs.toronto.edu/~vmnih/data/mass_roads/{r.split}"
        assert r.image_url == f"{base}/sat/{r.tile}.tiff"
        assert r.label_url == f"{base}/map/{r.tile}.tif"
        assert r.image_sha256 is None and r.label_sha256 is None  # unknown, see README
    # first/last rows as in the Kaggle metadata.csv (see the shared SOURCES.md)
    assert (rows[0].tile, rows[-1].tile, rows[-1].split) == ("10078660_15", "26878690_15", "test")
    # the held-out tiles are train tiles, so holding them out never touches valid/test
    with HOLDOUT.open() as f:
        holdout = {r["tile"] for r in csv.DictReader(f)}
    split_of = {r.tile: r.split for r in rows}
    assert {split_of[t] for t in holdout} == {"train"}


def test_build_manifest_round_trip_and_checks(tmp_path):
    src = tmp_path / "official.csv"
    lines = ["tile,split,image_url,label_url"]
    for tile, split in [("b_15", "train"), ("a_15", "test"), ("c_15", "val")]:
        lines.append(
            f"{tile},{split},http://h/{split}/sat/{tile}.tiff,http://h/{split}/map/{tile}.tif"
        )
    src.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="split sizes"):
        build_manifest(src, tmp_path / "m.csv")
    rows = build_manifest(src, tmp_path / "m.csv", expect_counts=None)
    # split order train, valid, test; 'val' read as 'valid'
    assert [(r.tile, r.split) for r in rows] == [
        ("b_15", "train"),
        ("c_15", "valid"),
        ("a_15", "test"),
    ]
    assert read_manifest(tmp_path / "m.csv") == rows


@pytest.mark.parametrize(
    "row, message",
    [
        ("a_15,train,http://h/a.tiff,http://h/a.tif,zz,", "not a sha256"),
        ("a_15,training,http://h/a.tiff,http://h/a.tif,,", "unknown split"),
        ("a_15,train,ftp://h/a.tiff,http://h/a.tif,,", "not an http"),
        ("../a,train,http://h/a.tiff,http://h/a.tif,,", "bad tile name"),
    ],
)
def test_bad_manifest_rows_name_file_and_line(tmp_path, row, message):
    p = tmp_path / "m.csv"
    p.write_text(",".join(COLUMNS) + "\n" + row + "\n")
    with pytest.raises(InputError, match=rf"m\.csv:2: .*{message}"):
        read_manifest(p)


def test_duplicate_tile_and_missing_column(tmp_path):
    p = tmp_path / "m.csv"
    row = "a_15,train,http://h/a.tiff,http://h/a.tif,,"
    p.write_text(",".join(COLUMNS) + f"\n{row}\n{row}\n")
    with pytest.raises(InputError, match=r"m\.csv:3: tile a_15 listed twice"):
        read_manifest(p)
    p.write_text("tile,split,image_url\n")
    with pytest.raises(InputError, match="missing column"):
        read_manifest(p)


def test_manifest_cli_rebuilds_the_committed_file(tmp_path):
    from roadseg.cli import main

    # the committed manifest is its own official list (tile,split,urls): rebuilding it from
    # itself must give the same bytes
    out = tmp_path / "m.csv"
    assert main(["data", "manifest", str(MANIFEST), "-o", str(out)]) == 0
    assert out.read_bytes() == MANIFEST.read_bytes()
