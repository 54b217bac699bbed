from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning

from roadseg.data import DERIVED, ingest_local, list_pairs, tile_transform
from roadseg.data.checksums import ChecksumStore, verify_root
from roadseg.errors import InputError
from roadseg.hashing import file_sha256

TILES = ["10078660_15", "10978945_15"]


def _read(path: Path) -> tuple[np.ndarray, object, Affine, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return ds.read(), ds.crs, ds.transform, ds.tags()


def test_copy_keeps_files_as_they_are(mass_src, tmp_path):
    images, masks = mass_src
    report = ingest_local(images, masks, tmp_path / "ds", progress=False)
    assert report.written == 4 and report.georeferencing == {"none": 2}
    pairs = list_pairs(tmp_path / "ds", "train")
    assert [p.tile for p in pairs] == TILES
    for p in pairs:
        assert p.image.read_bytes() == (images / f"{p.tile}.png").read_bytes()
        assert p.label.read_bytes() == (masks / f"{p.tile}.png").read_bytes()
        assert not p.image.is_symlink()
        _, crs, _, _ = _read(p.image)
        assert crs is None
    store = ChecksumStore(tmp_path / "ds")
    assert store.get(pairs[0].image) == file_sha256(images / f"{TILES[0]}.png")
    assert len(store.records) == 4 and verify_root(tmp_path / "ds") == []
    prov = json.loads((tmp_path / "ds/provenance.json").read_text())["files"]
    assert prov[f"train/sat/{TILES[0]}.png"]["georeferencing"] == "none"
    # rerun: nothing rewritten
    again = ingest_local(images, masks, tmp_path / "ds", progress=False)
    assert again.written == 0 and again.skipped == 4


def test_georeference_writes_geotiffs_with_derived_transform(mass_src, tmp_path):
    images, masks = mass_src
    root = tmp_path / "ds"
    report = ingest_local(images, masks, root, split="valid", georeference=True, progress=False)
    assert report.georeferencing == {DERIVED: 2}
    for p in list_pairs(root, "valid"):
        assert p.image.suffix == ".tif" and p.label.suffix == ".tif"
        for out, src in ((p.image, images), (p.label, masks)):
            data, crs, transform, tags = _read(out)
            src_data, _, _, _ = _read(src / f"{p.tile}.png")
            np.testing.assert_array_equal(data, src_data)  # pixels unchanged
            assert crs.to_epsg() == 26986
            assert transform == tile_transform(p.tile)
            assert tags["georeferencing"] == DERIVED
            assert "713.563826" in tags["georeferencing_rule"]
    prov = json.loads((root / "provenance.json").read_text())["files"]
    assert prov[f"valid/map/{TILES[1]}.tif"]["georeferencing"] == DERIVED
    assert prov[f"valid/map/{TILES[1]}.tif"]["crs"] == "EPSG:26986"
    assert verify_root(root) == []
    # switching back to plain copies replaces the GeoTIFFs (no two files per tile)
    ingest_local(images, masks, root, split="valid", progress=False)
    assert {p.image.suffix for p in list_pairs(root, "valid")} == {".png"}
    assert verify_root(root) == []


def test_file_with_own_georeferencing_keeps_it(mass_src, tmp_path):
    images, masks = mass_src
    src_img, src_msk = tmp_path / "img", tmp_path / "msk"
    src_img.mkdir()
    src_msk.mkdir()
    tile = TILES[0]
    data, _, _, _ = _read(images / f"{tile}.png")
    own = Affine(1.0, 0.0, 200_000.0, 0.0, -1.0, 900_000.0)  # deliberately not the name rule
    with rasterio.open(
        src_img / f"{tile}.tiff",
        "w",
        driver="GTiff",
        width=64,
        height=64,
        count=3,
        dtype="uint8",
        crs="EPSG:26986",
        transform=own,
    ) as ds:
        ds.write(data)
    shutil.copy(masks / f"{tile}.png", src_msk / f"{tile}.png")
    ingest_local(src_img, src_msk, tmp_path / "ds", georeference=True, progress=False)
    (pair,) = list_pairs(tmp_path / "ds", "train")
    assert pair.image.name == f"{tile}.tiff"
    assert pair.image.read_bytes() == (src_img / f"{tile}.tiff").read_bytes()
    _, crs, transform, tags = _read(pair.label)
    assert transform == own and crs.to_epsg() == 26986
    assert tags["georeferencing"] == "copied-from-image"
    prov = json.loads((tmp_path / "ds/provenance.json").read_text())["files"]
    assert prov[f"train/sat/{tile}.tiff"]["georeferencing"] == "from-file"
    # the distance to the name rule is recorded so the rule gets checked on real GeoTIFFs
    t = tile_transform(tile)
    expect = float(np.hypot(own.c - t.c, own.f - t.f))
    assert prov[f"train/sat/{tile}.tiff"]["rule_offset_m"] == pytest.approx(expect)


def test_off_grid_name_is_kept_without_georeferencing(mass_src, tmp_path, caplog):
    images, masks = mass_src
    src_img, src_msk = tmp_path / "img", tmp_path / "msk"
    src_img.mkdir()
    src_msk.mkdir()
    shutil.copy(images / f"{TILES[0]}.png", src_img / "99238660_15.png")
    shutil.copy(masks / f"{TILES[0]}.png", src_msk / "99238660_15.png")
    report = ingest_local(src_img, src_msk, tmp_path / "ds", georeference=True, progress=False)
    assert report.georeferencing == {"none": 1}
    assert "kept without georeferencing" in caplog.text
    (pair,) = list_pairs(tmp_path / "ds", "train")
    assert pair.image.suffix == ".png"


def test_link_mode_makes_symlinks(mass_src, tmp_path):
    images, masks = mass_src
    ingest_local(images, masks, tmp_path / "ds", copy_mode="link", limit=1, progress=False)
    (pair,) = list_pairs(tmp_path / "ds", "train")
    assert pair.image.is_symlink()
    assert pair.image.resolve() == (images / f"{TILES[0]}.png").resolve()


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_bad_sources_are_input_errors(mass_src, tmp_path):
    images, masks = mass_src
    src_img, src_msk = tmp_path / "img", tmp_path / "msk"
    src_img.mkdir()
    src_msk.mkdir()
    shutil.copy(images / f"{TILES[0]}.png", src_img / f"{TILES[0]}.png")
    with pytest.raises(InputError, match="without a partner"):
        ingest_local(src_img, src_msk, tmp_path / "ds", progress=False)
    # label of another size
    with rasterio.open(
        src_msk / f"{TILES[0]}.tif",
        "w",
        driver="GTiff",
        width=32,
        height=64,
        count=1,
        dtype="uint8",
    ) as ds:
        ds.write(np.zeros((1, 64, 32), np.uint8))
    with pytest.raises(InputError, match=r"10078660_15\.tif: label is 32x64 px"):
        ingest_local(src_img, src_msk, tmp_path / "ds", progress=False)
    with pytest.raises(InputError, match="no such folder"):
        ingest_local(tmp_path / "nope", src_msk, tmp_path / "ds", progress=False)
    with pytest.raises(InputError, match="unknown copy mode"):
        ingest_local(images, masks, tmp_path / "ds", copy_mode="move", progress=False)
