"""predict_scene / predict_array / ``roadseg predict``: georeferencing, nodata, streaming, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from roadseg.cli import main as cli_main
from roadseg.errors import InputError
from roadseg.inference import predictor
from roadseg.inference.predictor import PredictConfig, predict_array, predict_scene
from roadseg.models import CheckpointMeta, build_model, load_checkpoint, save_checkpoint
from roadseg.raster.quantise import quantise
from roadseg.raster.write import StripWriter
from tests.raster.rasters import random_rgb, utm_transform, write_raster

SPACENET_CROP = Path(__file__).resolve().parents[1] / "data" / "spacenet" / "vegas_img0_crop.tif"
TILE = 64


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    meta = CheckpointMeta("resunet", {"filters": [4, 8]}, gsd_m=1.0, tile=TILE)
    save_checkpoint(path, build_model("resunet", filters=[4, 8]), meta)
    return path


def config(weights: Path, **kw) -> PredictConfig:
    kw = {"overlap": 8, "batch_size": 4, "progress": False, **kw}
    return PredictConfig(weights=weights, **kw)


def outputs_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".out", "out")))


def test_output_keeps_the_grid_and_matches_predict_array(tmp_path, weights):
    data = random_rgb(150, 170)
    scene = write_raster(tmp_path / "scene.tif", data, transform=utm_transform(1.0))
    out = tmp_path / "out.tif"
    # channels_last off: the same memory format as predict_array, so bit-identical sums
    res = predict_scene(scene, out, config(weights, blend="spline", channels_last=False))
    assert res.shape == (150, 170) and not res.resampled and res.tiles == res.tiles_predicted == 9
    with rasterio.open(out) as d, rasterio.open(scene) as s:
        assert d.crs == s.crs and d.transform == s.transform and d.shape == s.shape
        assert d.dtypes[0] == "uint8" and d.profile["tiled"] and d.count == 1
        prob = d.read(1)
    # the scene path and the in-memory path share the grid + blend code
    model, meta = load_checkpoint(weights)
    mem = predict_array(model, meta, data, config(weights, blend="spline"))
    np.testing.assert_array_equal(prob, quantise(mem))
    assert outputs_in(tmp_path) == ["out.tif"]


def test_nodata_in_stays_nodata_out(tmp_path, weights):
    data = random_rgb(120, 130) | 1
    data[:, 40:70, 50:] = 0
    scene = write_raster(tmp_path / "scene.tif", data, nodata=0)
    out = tmp_path / "out.tif"
    predict_scene(scene, out, config(weights))
    with rasterio.open(out) as d:
        valid = d.dataset_mask() > 0
        prob = d.read(1)
    expected = np.ones((120, 130), bool)
    expected[40:70, 50:] = False
    np.testing.assert_array_equal(valid, expected)
    assert (prob[~valid] == 0).all() and prob[valid].std() > 0


def test_resampled_scene_comes_back_on_its_own_grid(tmp_path, weights):
    # the real SpaceNet crop is ~0.27 m; the model is at 1 m
    out = tmp_path / "out.tif"
    res = predict_scene(SPACENET_CROP, out, config(weights))
    assert res.resampled and res.predicted_shape == (96, 78)
    with rasterio.open(out) as d, rasterio.open(SPACENET_CROP) as s:
        assert d.crs == s.crs and d.transform == s.transform and d.shape == (320, 320)
        assert (d.dataset_mask() > 0).all(), "edge pixels must come out valid"


def test_reads_and_writes_go_by_window(tmp_path, weights, monkeypatch):
    h, w = 600, 140
    scene = write_raster(
        tmp_path / "scene.tif", random_rgb(h, w), tiled=True, blockxsize=64, blockysize=64
    )
    reads, writers = [], []
    real_reader = predictor._strip_reader

    def spy_reader(view):
        read = real_reader(view)

        def spy(row_off, n_rows):
            image, valid = read(row_off, n_rows)
            reads.append((n_rows, image.shape[2]))
            return image, valid

        return spy

    real_init = StripWriter.__init__

    def spy_init(self, *a, **kw):
        real_init(self, *a, **kw)
        writers.append(self)

    monkeypatch.setattr(predictor, "_strip_reader", spy_reader)
    monkeypatch.setattr(StripWriter, "__init__", spy_init)
    predict_scene(scene, tmp_path / "out.tif", config(weights))
    assert reads and all(r == (TILE, w) for r in reads)
    assert len(reads) == 11  # one strip per tile row, nothing read twice
    (wr,) = writers
    assert all(win.height <= 256 for win in wr.windows_written)
    assert sum(win.height for win in wr.windows_written) == h


def test_small_scene_and_tta(tmp_path, weights):
    scene = write_raster(tmp_path / "tiny.tif", random_rgb(21, 33))
    out = tmp_path / "out.tif"
    res = predict_scene(scene, out, config(weights, tta=True, blend="mean"))
    assert res.tiles == 1
    with rasterio.open(out) as d:
        assert d.shape == (21, 33)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_cli_predict(tmp_path, weights):
    scene = write_raster(tmp_path / "scene.tif", random_rgb(70, 80))
    out = tmp_path / "out.tif"
    code = cli_main(
        [
            "predict",
            str(scene),
            "-o",
            str(out),
            "--weights",
            str(weights),
            "--tile",
            "64",
            "--overlap",
            "8",
            "--blend",
            "linear",
            "--no-progress",
        ]
    )
    assert code == 0 and out.is_file()
    # a user error: one line, exit 2, no output
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"GIF89a not really")
    assert (
        cli_main(["predict", str(bad), "-o", str(tmp_path / "o2.tif"), "--weights", str(weights)])
        == 2
    )
    assert not (tmp_path / "o2.tif").exists()


def test_bad_inputs_give_one_clear_error_and_no_output(tmp_path, weights):
    out = tmp_path / "out.tif"
    text = tmp_path / "scene.tif"
    text.write_text("not a raster")
    with pytest.raises(InputError, match=r"scene\.tif: not a raster"):
        predict_scene(text, out, config(weights))
    gray = write_raster(tmp_path / "gray.tif", random_rgb(40, 40)[:1])
    with pytest.raises(InputError, match=r"gray\.tif: has 1 band\(s\) but the model expects 3"):
        predict_scene(gray, out, config(weights))
    rgb = write_raster(tmp_path / "rgb.tif", random_rgb(40, 40))
    with pytest.raises(InputError, match="tile 65 must be a multiple of 2"):
        predict_scene(rgb, out, config(weights, tile=65))
    with pytest.raises(InputError, match="overlap"):
        predict_scene(rgb, out, config(weights, tile=64, overlap=40))
    assert outputs_in(tmp_path) == []


def test_corrupt_file_gives_an_error_and_no_output(tmp_path, weights):
    good = write_raster(
        tmp_path / "good.tif",
        random_rgb(512, 512),
        tiled=True,
        blockxsize=128,
        blockysize=128,
        compress="deflate",
    )
    corrupt = tmp_path / "corrupt.tif"
    raw = good.read_bytes()
    corrupt.write_bytes(raw[: len(raw) // 2])  # truncated: the header is fine, tiles are missing
    out = tmp_path / "out.tif"
    with pytest.raises(InputError, match=r"corrupt\.tif: .*corrupt"):
        predict_scene(corrupt, out, config(weights))
    assert outputs_in(tmp_path) == []


def test_no_default_model_installed(tmp_path, monkeypatch):
    import roadseg.models.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "default_weights_path", lambda: tmp_path / "none.safetensors")
    scene = write_raster(tmp_path / "scene.tif", random_rgb(40, 40))
    with pytest.raises(InputError, match="no default model is installed; pass .* --weights"):
        predict_scene(scene, tmp_path / "out.tif", PredictConfig(progress=False))


def test_predict_array_restores_training_mode_and_masks(weights):
    model, meta = load_checkpoint(weights)
    model.train()
    img = random_rgb(50, 60).astype(np.float32)
    valid = np.ones((50, 60), bool)
    valid[:10] = False
    prob = predict_array(model, meta, img, config(weights), valid=valid)
    assert model.training
    assert prob.shape == (50, 60) and (prob[:10] == 0).all() and (prob[10:] > 0).all()
    with pytest.raises(InputError, match="has 2 band"):
        predict_array(model, meta, img[:2], config(weights))


def test_probability_tags(tmp_path, weights):
    import hashlib

    scene = write_raster(tmp_path / "scene.tif", random_rgb(70, 80), transform=utm_transform(1.0))
    out = tmp_path / "out.tif"
    predict_scene(scene, out, config(weights))
    with rasterio.open(out) as d:
        tags = d.tags()
    assert tags["ROADSEG_MODEL"] == weights.name
    assert tags["ROADSEG_MODEL_SHA256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert tags["ROADSEG_ARCHITECTURE"] == "resunet"
    assert float(tags["ROADSEG_MODEL_GSD_M"]) == 1.0
    assert tags["ROADSEG_VALUE_SCALE"] == "p = v/255"
    assert "ROADSEG_THRESHOLD" not in tags  # this checkpoint has no calibrated threshold
    # with a calibrated threshold, it is stored
    torch.manual_seed(0)
    calibrated = tmp_path / "calibrated.safetensors"
    meta = CheckpointMeta("resunet", {"filters": [4, 8]}, gsd_m=1.0, tile=TILE, threshold=0.37)
    save_checkpoint(calibrated, build_model("resunet", filters=[4, 8]), meta)
    predict_scene(scene, out, config(calibrated))
    with rasterio.open(out) as d:
        assert float(d.tags()["ROADSEG_THRESHOLD"]) == 0.37
        assert d.tags()["ROADSEG_MODEL"] == "calibrated.safetensors"


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_cli_logs_the_throughput(tmp_path, weights, caplog):
    scene = write_raster(tmp_path / "scene.tif", random_rgb(70, 80))
    out = tmp_path / "out.tif"
    with caplog.at_level("INFO"):
        code = cli_main(
            ["predict", str(scene), "-o", str(out), "--weights", str(weights), "--tile", "64",
             "--overlap", "8", "--no-progress"]
        )  # fmt: skip
    assert code == 0
    assert any("MPix/s" in r.getMessage() for r in caplog.records)


def test_huge_scene_warns_with_an_estimate(tmp_path, weights, caplog, monkeypatch):
    monkeypatch.setenv("ROADSEG_WARN_TILES", "5")  # the limit's home: roadseg.sizeguard
    scene = write_raster(tmp_path / "scene.tif", random_rgb(150, 170), transform=utm_transform())
    with caplog.at_level("WARNING"):
        predict_scene(scene, tmp_path / "out.tif", config(weights))
    (msg,) = [r.getMessage() for r in caplog.records if "tiles" in r.getMessage()]
    assert "9 tiles" in msg and "about" in msg and " h " in msg


def test_integer_factor_resampling_matches_the_gdal_path_with_nodata(
    tmp_path, weights, monkeypatch
):
    """The on-device 2x area average and bilinear way back agree with GDAL's warper."""
    data = np.repeat(np.repeat(random_rgb(75, 85, seed=3), 2, axis=1), 2, axis=2) | 1
    data[:, 30:71, 100:] = 0  # nodata, not aligned to the 2x2 blocks
    scene = write_raster(tmp_path / "s.tif", data, transform=utm_transform(0.5), nodata=0)
    fast, slow = tmp_path / "fast.tif", tmp_path / "slow.tif"
    res = predict_scene(scene, fast, config(weights))
    assert res.resampled and res.predicted_shape == (75, 85)
    monkeypatch.setattr(predictor, "integer_factor", lambda *a: None)  # force GDAL's warper
    predict_scene(scene, slow, config(weights))
    with rasterio.open(fast) as a, rasterio.open(slow) as b:
        pa, pb = a.read(1).astype(int), b.read(1).astype(int)
        ma, mb = a.dataset_mask() > 0, b.dataset_mask() > 0
    expected = np.ones(ma.shape, bool)
    expected[30:71, 100:] = False
    np.testing.assert_array_equal(ma, expected)
    np.testing.assert_array_equal(mb, expected)
    # interior pixels agree to a grey level; next to nodata GDAL's warper weighs differently
    near = np.zeros_like(expected)
    near[26:75, 96:] = True
    diff = np.abs(pa - pb)[expected & ~near]
    assert diff.max() <= 1, diff.max()
