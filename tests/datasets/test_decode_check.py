"""Rasters are decoded in full before they enter a dataset; JPEG images are accepted."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from roadseg.cli import main
from roadseg.data import list_pairs
from roadseg.data.verify import check_decodes
from roadseg.errors import InputError
from tests.datasets.test_generic_dataset import T, _road_geojson, _scene

TILE = "10078660_15"


def _truncate(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _write(path: Path, driver: str, **kw) -> Path:
    rng = np.random.default_rng(1)
    with rasterio.open(path, "w", driver=driver, width=200, height=150, count=3, dtype="uint8", **kw) as ds:
        ds.write(rng.integers(0, 255, (3, 150, 200), dtype=np.uint8))
    return path


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
@pytest.mark.parametrize(("driver", "ext"), [("PNG", ".png"), ("JPEG", ".jpg"), ("GTiff", ".tif")])
def test_whole_files_pass_truncated_ones_are_one_line(tmp_path, driver, ext):
    path = _write(tmp_path / f"a{ext}", driver)
    check_decodes(path)
    with pytest.raises(InputError, match=r"a\.\w+: does not decode fully"):
        check_decodes(_truncate(path))


def test_a_300_byte_tiff_is_refused(tmp_path):
    path = tmp_path / "tiny.tif"
    path.write_bytes(b"II*\x00" + b"\x00" * 296)
    with pytest.raises(InputError, match="tiny.tif: does not decode fully"):
        check_decodes(path)


def test_from_local_refuses_a_truncated_tile_before_copying(mass_src, tmp_path, capsys):
    images, masks = mass_src
    src_i, src_m = tmp_path / "i", tmp_path / "m"
    shutil.copytree(images, src_i)
    shutil.copytree(masks, src_m)
    _truncate(src_i / f"{TILE}.png", 0.5)
    root = tmp_path / "ds"
    code = main(["data", "massachusetts", "--root", str(root), "--from-local", str(src_i), str(src_m),
                 "--split", "train", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{TILE}.png: does not decode fully" in err[0]
    assert not list((root / "train" / "sat").glob(f"{TILE}.*"))


def test_from_local_takes_jpeg_images(mass_src, tmp_path):
    images, masks = mass_src
    src_i, src_m = tmp_path / "i", tmp_path / "m"
    shutil.copytree(masks, src_m)
    src_i.mkdir()
    for p in images.iterdir():
        with rasterio.open(p) as src:
            data = src.read()
        with rasterio.open(src_i / (p.stem + ".jpg"), "w", driver="JPEG", width=data.shape[2],
                           height=data.shape[1], count=3, dtype="uint8") as dst:
            dst.write(data[:3])
    root = tmp_path / "ds"
    assert main(["data", "massachusetts", "--root", str(root), "--from-local", str(src_i), str(src_m),
                 "--split", "train", "--no-progress"]) == 0
    pairs = list_pairs(root, "train")
    assert pairs and all(p.image.suffix == ".jpg" for p in pairs)


def test_generic_refuses_a_truncated_scene(tmp_path, capsys):
    scene = _scene(tmp_path / "s.tif")
    data = scene.read_bytes()
    scene.write_bytes(data[: len(data) // 2])
    roads = _road_geojson(tmp_path / "r.geojson")
    code = main(["data", "generic", "--scenes", str(scene), "--roads", str(roads),
                 "--root", str(tmp_path / "ds"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "s.tif: does not decode fully" in err[0]
    assert not list((tmp_path / "ds").rglob("*.tif"))


def test_generic_reads_a_georeferenced_jpeg_scene(tmp_path):
    src = _scene(tmp_path / "s.tif")
    with rasterio.open(src) as ds:
        data, crs = ds.read(), ds.crs
    jpg = tmp_path / "s.jpg"
    with rasterio.open(jpg, "w", driver="JPEG", width=64, height=48, count=3, dtype="uint8",
                       crs=crs, transform=T) as dst:
        dst.write(data)
    roads = _road_geojson(tmp_path / "r.geojson")
    assert main(["data", "generic", "--scenes", str(jpg), "--roads", str(roads),
                 "--root", str(tmp_path / "ds"), "--no-progress"]) == 0
    (pair,) = list_pairs(tmp_path / "ds", "train")
    with rasterio.open(pair.label) as ds:
        assert ds.read(1)[20].max() == 255
