"""Band choice for real sensors: defaults and hints from colour interpretation and band names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.enums import ColorInterp

from roadseg.errors import InputError
from roadseg.inference.predictor import PredictConfig, predict_scene
from roadseg.models import CheckpointMeta, build_model, save_checkpoint
from roadseg.raster.scene import band_hint, open_scene, rgb_bands
from tests.raster.rasters import utm_transform

WV3_NAMES = ["Coastal", "Blue", "Green", "Yellow", "Red", "Red Edge", "NIR1", "NIR2"]


def _raster(path: Path, count: int, interp=None, names=None, dtype="uint16") -> Path:
    data = np.random.default_rng(count).integers(0, 2000, (count, 64, 64)).astype(dtype)
    with rasterio.open(
        path, "w", driver="GTiff", width=64, height=64, count=count, dtype=dtype,
        crs="EPSG:32619", transform=utm_transform(1.0), photometric="MINISBLACK",
    ) as ds:  # fmt: skip
        ds.write(data)
        if interp is not None:
            ds.colorinterp = interp
        for i, name in enumerate(names or []):
            ds.set_band_description(i + 1, name)
    return path


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "rgb.safetensors"
    meta = CheckpointMeta("resunet", {"filters": [4, 8]}, gsd_m=1.0, tile=64)
    save_checkpoint(path, build_model("resunet", filters=[4, 8]), meta)
    return path


def _predict(scene: Path, model: Path, tmp_path: Path, **kw) -> None:
    cfg = PredictConfig(weights=str(model), overlap=8, batch_size=4, progress=False, **kw)
    predict_scene(scene, tmp_path / "p.tif", cfg)


def test_worldview3_band_names_give_true_colour_5_3_2(tmp_path, rgb_model, caplog):
    scene = _raster(tmp_path / "wv3.tif", 8, names=WV3_NAMES)
    with rasterio.open(scene) as ds:
        assert rgb_bands(ds) == (5, 3, 2)  # "Red Edge" is not red
    with open_scene(scene, model_bands=3) as s:
        assert s.bands == (5, 3, 2)
    caplog.set_level("INFO", logger="roadseg.raster.scene")
    _predict(scene, rgb_model, tmp_path)
    assert "using 5,3,2 (red, green, blue)" in caplog.text


def test_unnamed_8_band_scene_is_refused_with_the_worldview_hint(tmp_path, rgb_model):
    scene = _raster(tmp_path / "ms.tif", 8)
    with pytest.raises(
        InputError, match=r"e\.g\. --bands 5,3,2 \(true colour if this is a WorldView"
    ):
        _predict(scene, rgb_model, tmp_path)
    _predict(scene, rgb_model, tmp_path, bands="5,3,2")  # the hint works as given
    assert (tmp_path / "p.tif").exists()


def test_pan_scene_hint_is_1_1_1_and_works(tmp_path, rgb_model):
    scene = _raster(tmp_path / "pan.tif", 1, interp=[ColorInterp.gray])
    with pytest.raises(InputError, match=r"e\.g\. --bands 1,1,1 "):
        _predict(scene, rgb_model, tmp_path)
    _predict(scene, rgb_model, tmp_path, bands="1,1,1")
    assert (tmp_path / "p.tif").exists()


def test_rgbn_uses_1_2_3_with_a_note(tmp_path, rgb_model, caplog):
    interp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.undefined]
    scene = _raster(tmp_path / "naip.tif", 4, interp=interp, dtype="uint8")
    caplog.set_level("INFO", logger="roadseg.raster.scene")
    _predict(scene, rgb_model, tmp_path)
    assert "4 bands; using 1,2,3 (red, green, blue) for the RGB model" in caplog.text
    with open_scene(scene) as s:  # without a model to fit: every non-alpha band, as before
        assert s.bands == (1, 2, 3, 4)


def test_bgr_by_colour_interpretation_is_reordered_only_in_the_hint(tmp_path):
    interp = [ColorInterp.blue, ColorInterp.green, ColorInterp.red, ColorInterp.undefined]
    scene = _raster(tmp_path / "bgrn.tif", 4, interp=interp)
    with rasterio.open(scene) as ds:
        assert band_hint(ds).startswith("--bands 3,2,1 ")
    with open_scene(scene, model_bands=3) as s:
        assert s.bands == (3, 2, 1)


def test_explicit_bands_win_over_the_default(tmp_path):
    scene = _raster(tmp_path / "wv3.tif", 8, names=WV3_NAMES)
    with open_scene(scene, bands="7,5,3", model_bands=3) as s:
        assert s.bands == (7, 5, 3)
    with pytest.raises(InputError, match=r"at most 4 are supported .*e\.g\. --bands 5,3,2 \(the"):
        open_scene(scene)  # no model to fit, all 8 bands: refused, with the RGB hint
