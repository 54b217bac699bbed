"""`roadseg data massachusetts` end to end: downloads from a local HTTP server, local copies."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from roadseg.cli import main
from roadseg.data import DERIVED, list_pairs, tile_transform
from roadseg.data.checksums import ChecksumStore
from roadseg.data.download import DownloadConfig
from roadseg.data.manifest import COLUMNS
from roadseg.data.massachusetts import PrepareConfig, prepare_massachusetts

REPO = Path(__file__).resolve().parents[2]
TRAIN, VALID = "10078660_15", "10978945_15"


@pytest.fixture
def served(file_server, mass_src, tmp_path):
    """Serve the fixture crops under Massachusetts-like paths; write a manifest for them."""
    images, masks = mass_src
    rows = []
    for tile, split in ((TRAIN, "train"), (VALID, "valid")):
        for kind, folder in (("sat", images), ("map", masks)):
            file_server.files[f"{split}/{kind}/{tile}.png"] = (folder / f"{tile}.png").read_bytes()
        rows.append(
            f"{tile},{split},{file_server.url(f'{split}/sat/{tile}.png')},"
            f"{file_server.url(f'{split}/map/{tile}.png')},,"
        )
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return file_server, manifest


def _georef(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return ds.crs, ds.transform, ds.tags()


def test_cli_downloads_into_layout_with_retry_and_georeference(served, mass_src, tmp_path):
    server, manifest = served
    server.faults[f"train/sat/{TRAIN}.png"] = ["drop"]  # one dropped connection on the way
    root = tmp_path / "ds"
    argv = [
        "data",
        "massachusetts",
        "--root",
        str(root),
        "--manifest",
        str(manifest),
        "--no-progress",
        "--retries",
        "2",
    ]
    assert main(argv) == 0
    images, _ = mass_src
    (train,) = list_pairs(root, "train")
    (valid,) = list_pairs(root, "valid")
    assert train.tile == TRAIN and valid.tile == VALID
    assert train.image.read_bytes() == (images / f"{TRAIN}.png").read_bytes()
    assert len(server.hits(f"train/sat/{TRAIN}.png")) == 2
    store = ChecksumStore(root)
    assert store.get(train.image) == hashlib.sha256(train.image.read_bytes()).hexdigest()
    prov = json.loads((root / "provenance.json").read_text())["files"]
    assert prov[f"train/sat/{TRAIN}.png"]["source"] == server.url(f"train/sat/{TRAIN}.png")
    assert prov[f"train/sat/{TRAIN}.png"]["georeferencing"] == "none"
    assert _georef(train.image)[0] is None

    # --georeference: downloaded bytes untouched, a GDAL side-car carries the derived transform
    n = len(server.requests)
    assert main([*argv, "--georeference", "--split", "train"]) == 0
    assert len(server.requests) == n  # nothing downloaded again
    assert store.get(train.image) == hashlib.sha256(train.image.read_bytes()).hexdigest()
    for path in (train.image, train.label):
        crs, transform, tags = _georef(path)
        assert crs.to_epsg() == 26986 and transform == tile_transform(TRAIN)
        assert tags["georeferencing"] == DERIVED
    prov = json.loads((root / "provenance.json").read_text())["files"]
    assert prov[f"train/map/{TRAIN}.png"]["georeferencing"] == DERIVED
    assert main(["data", "verify", "--root", str(root)]) == 0


def test_cli_bad_checksum_fails_naming_the_file(served, tmp_path, capsys):
    server, manifest = served
    text = manifest.read_text().splitlines()
    text[1] = text[1][: -len(",,")] + "," + "0" * 64 + ","  # wrong image hash for TRAIN
    manifest.write_text("\n".join(text) + "\n")
    root = tmp_path / "ds"
    rc = main(
        [
            "data",
            "massachusetts",
            "--root",
            str(root),
            "--manifest",
            str(manifest),
            "--no-progress",
            "--split",
            "train",
        ]
    )
    assert rc == 2
    bad = root / "train" / "sat" / f"{TRAIN}.png"
    # the CLI's logging goes to stderr (it replaces the root handlers)
    assert f"{bad}: sha256 mismatch" in capsys.readouterr().err
    assert not bad.exists() and bad.with_name(bad.name + ".corrupt").exists()
    assert (root / "train" / "map" / f"{TRAIN}.png").exists()  # the other file still came


def test_limit_and_split_selection(served, tmp_path):
    _, manifest = served
    cfg = PrepareConfig(
        root=tmp_path / "ds",
        manifest=manifest,
        splits=("valid",),
        limit=1,
        download=DownloadConfig(progress=False),
    )
    report = prepare_massachusetts(cfg)
    assert report.tiles == {"valid": 1}
    assert not (tmp_path / "ds" / "train").exists()


def test_local_copies_go_to_their_official_split(mass_src, tmp_path, caplog):
    images, masks = mass_src
    src_i, src_m = tmp_path / "i", tmp_path / "m"
    src_i.mkdir()
    src_m.mkdir()
    for t in (TRAIN, VALID):
        (src_i / f"{t}.png").write_bytes((images / f"{t}.png").read_bytes())
        (src_m / f"{t}.png").write_bytes((masks / f"{t}.png").read_bytes())
    # a tile the manifest does not list is skipped with a warning
    (src_i / "12345678_15.png").write_bytes((images / f"{TRAIN}.png").read_bytes())
    (src_m / "12345678_15.png").write_bytes((masks / f"{TRAIN}.png").read_bytes())
    report = prepare_massachusetts(
        PrepareConfig(
            root=tmp_path / "ds",
            from_local=(src_i, src_m),
            georeference=True,
            download=DownloadConfig(progress=False),
        )
    )
    assert report.tiles == {"train": 2}  # both are official train tiles
    assert "12345678_15" in caplog.text
    assert [p.tile for p in list_pairs(tmp_path / "ds", "train")] == [TRAIN, VALID]
    assert not (tmp_path / "ds" / "valid").exists()


def test_pipeline_script_ingests_local_copies(mass_src, tmp_path):
    images, masks = mass_src
    root = tmp_path / "ds"
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "pipelines" / "prepare_massachusetts.py"),
            "--root",
            str(root),
            "--from-local",
            str(images),
            str(masks),
            "--link",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    pairs = list_pairs(root, "train")
    assert [p.tile for p in pairs] == [TRAIN, VALID] and pairs[0].image.is_symlink()
    bad = subprocess.run(
        [
            sys.executable,
            str(REPO / "pipelines" / "prepare_massachusetts.py"),
            "--root",
            str(root),
            "--from-local",
            str(tmp_path / "nope"),
            str(masks),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert bad.returncode == 2 and f"{tmp_path / 'nope'}: no such folder" in bad.stderr


def test_downloaded_geotiff_keeps_its_georeferencing_and_label_gets_its_grid(
    file_server, mass_src, tmp_path
):
    import numpy as np
    from affine import Affine

    images, masks = mass_src
    own = tile_transform(TRAIN) @ Affine.translation(2, -3)  # 2 m east, 3 m north of the rule
    src = tmp_path / "orig.tiff"
    with rasterio.open(
        src,
        "w",
        driver="GTiff",
        width=64,
        height=64,
        count=3,
        dtype="uint8",
        crs="EPSG:26986",
        transform=own,
    ) as ds:
        ds.write(np.zeros((3, 64, 64), np.uint8))
    file_server.files["sat.tiff"] = src.read_bytes()
    file_server.files["map.tif"] = (masks / f"{TRAIN}.png").read_bytes()  # no georeferencing
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        ",".join(COLUMNS) + f"\n{TRAIN},train,{file_server.url('sat.tiff')},"
        f"{file_server.url('map.tif')},,\n"
    )
    root = tmp_path / "ds"
    cfg = PrepareConfig(
        root=root, manifest=manifest, georeference=True, download=DownloadConfig(progress=False)
    )
    prepare_massachusetts(cfg)
    (pair,) = list_pairs(root, "train")
    assert pair.image.read_bytes() == src.read_bytes()
    assert not pair.image.with_name(pair.image.name + ".aux.xml").exists()
    crs, transform, tags = _georef(pair.label)
    assert crs.to_epsg() == 26986 and transform == own
    assert tags["georeferencing"] == "copied-from-image"
    prov = json.loads((root / "provenance.json").read_text())["files"]
    assert prov[f"train/sat/{TRAIN}.tiff"]["georeferencing"] == "from-file"
    assert prov[f"train/sat/{TRAIN}.tiff"]["rule_offset_m"] == pytest.approx(13**0.5)
    assert prov[f"train/map/{TRAIN}.tif"]["georeferencing"] == "copied-from-image"
