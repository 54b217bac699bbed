"""``roadseg evaluate`` / ``pipelines/evaluate.py`` / ``evaluate()`` end to end on real data."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

from roadseg.cli import main as cli_main
from roadseg.errors import InputError
from roadseg.evaluation.evaluate import EvaluateConfig, evaluate, run_evaluation
from roadseg.evaluation.pixel import level_for_threshold, relaxed_counts
from roadseg.evaluation.report import REPORT_KEYS
from roadseg.sample import sample_labels_path, sample_scene_path

ROOT = Path(__file__).resolve().parents[2]
SPACENET = ROOT / "tests" / "data" / "spacenet"
VEGAS_CROP = SPACENET / "vegas_img0_crop.tif"
VEGAS_SN = SPACENET / "AOI_2_Vegas_img0.geojson"



def _sample(window=(slice(0, 300), slice(0, 300))):
    with rasterio.open(sample_labels_path()) as ds:
        label = ds.read(1)[window]
        transform = ds.window_transform(
            rasterio.windows.Window(window[1].start, window[0].start, 300, 300)
        )
        crs = ds.crs
    with rasterio.open(sample_scene_path()) as ds:
        scene = ds.read()[(slice(None), *window)]
    return label, scene, transform, crs


def _write(path, data, transform=None, crs=None):
    data = data if data.ndim == 3 else data[None]
    kw = {"transform": transform, "crs": crs} if transform is not None else {}
    driver = "PNG" if str(path).endswith(".png") else "GTiff"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        _write_raster(path, data, driver, kw)
    return path


def _write_raster(path, data, driver, kw):
    with rasterio.open(
        path,
        "w",
        driver=driver,
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype,
        **kw,
    ) as ds:
        ds.write(data)


def test_cli_raster_report_keys_overlay_and_curve(tmp_path, capsys):
    label, scene, tr, crs = _sample()
    # a prediction that is the label moved 2 px down: relaxed P = R = 1, strict IoU < 1
    prob = np.zeros_like(label)
    prob[2:] = label[:-2]
    label = label.copy()
    label[-2:] = 0  # no label pixel whose shifted copy fell off the image
    pred = _write(tmp_path / "pred.tif", prob, tr, crs)
    lab = _write(tmp_path / "lab.tif", label, tr, crs)
    img = _write(tmp_path / "img.tif", scene, tr, crs)
    rc = cli_main(
        [
            "evaluate",
            "--pred",
            str(pred),
            "--labels",
            str(lab),
            "--scene",
            str(img),
            "--json",
            str(tmp_path / "r.json"),
            "--plot",
            str(tmp_path / "o.png"),
            "--curve-csv",
            str(tmp_path / "c.csv"),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith("# roadseg evaluation") and "| relaxed_precision | 1.0000 |" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report) == {"pixel", "skipped", "inputs"}
    assert tuple(report["pixel"]) == REPORT_KEYS["pixel"]
    # what does not apply is named with its reason: a binary prediction has no break-even,
    # raster labels give no graph or buffer metrics
    assert set(report["skipped"]) == {"breakeven", "buffer", "graph"}
    assert "binary" in report["skipped"]["breakeven"] and report["pixel"]["breakeven"] is None
    assert "lab.tif) are a raster" in report["skipped"]["graph"]
    assert "## Not computed" in out and "- breakeven: the prediction is binary" in out
    assert report["pixel"]["relaxed_precision"] == 1.0 and report["pixel"]["relaxed_recall"] == 1.0
    assert report["pixel"]["iou"] < 0.9
    assert report["inputs"]["scenes"][0]["crs"] == "EPSG:26986"
    assert report["inputs"]["scenes"][0]["gsd_m"] == pytest.approx(1.0)
    # the default slack is metric: 3 m, which is the paper's rho = 3 px on this 1 m grid
    assert report["inputs"]["parameters"]["slack_m"] == 3.0
    assert report["inputs"]["parameters"]["rho"] is None
    assert report["inputs"]["scenes"][0]["rho_px"] == 3
    with rasterio.open(tmp_path / "o.png") as ds:
        # enlarged ×2 (under 480 px wide), the legend and caption below the image
        assert ds.width == 600 and ds.height > 600
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == "level,threshold,relaxed_precision,relaxed_recall" and len(lines) == 257
    assert not list(tmp_path.glob(".*partial*"))


def test_shift_beyond_rho_and_half_prediction(tmp_path):
    label = np.zeros((60, 60), np.uint8)
    label[30, 5:55] = 255
    lab = _write(tmp_path / "lab.png", label)
    far = _write(tmp_path / "far.png", np.roll(label, 5, axis=0))
    r = evaluate(EvaluateConfig(pred=[far], labels=[lab]))
    assert r["pixel"]["relaxed_precision"] == 0.0 and r["pixel"]["relaxed_recall"] == 0.0
    half = label.copy()
    half[30, 30:] = 0
    r = evaluate(EvaluateConfig(pred=[_write(tmp_path / "half.png", half)], labels=[lab], rho=0))
    assert r["pixel"]["relaxed_precision"] == 1.0 and r["pixel"]["relaxed_recall"] == 0.5
    empty = _write(tmp_path / "empty.png", np.zeros_like(label))
    r = evaluate(EvaluateConfig(pred=[empty], labels=[lab]))
    assert r["pixel"]["relaxed_recall"] == 0.0 and r["pixel"]["recall"] == 0.0


def test_several_png_tiles_pool_counts_and_exclude_nodata(tmp_path):
    """Massachusetts style: PNG images and masks without CRS, pooled, white areas excluded."""
    rng = np.random.default_rng(0)
    preds, labs, imgs, direct = [], [], [], []
    for i, win in enumerate([(slice(0, 300), slice(0, 300)), (slice(500, 800), slice(600, 900))]):
        label, scene, _, _ = _sample(win)
        scene = scene.copy()
        scene[:, :80, :120] = 255  # a no-imagery corner, through which the labels go on
        noisy = np.clip(label.astype(int) - rng.integers(0, 200, label.shape), 0, 255)
        prob = (noisy + rng.integers(0, 90, label.shape)).clip(0, 255).astype(np.uint8)
        preds.append(_write(tmp_path / f"p{i}.png", prob))
        labs.append(_write(tmp_path / f"m{i}.png", label))
        imgs.append(_write(tmp_path / f"s{i}.png", scene))
        valid = ~np.all(scene == 255, axis=0)
        direct.append(relaxed_counts(prob, label > 0, valid))
    res = run_evaluation(
        EvaluateConfig(
            pred=preds, labels=labs, scene=imgs, exclude_nodata=True, plot_path=tmp_path / "ov.png"
        )
    )
    pooled = direct[0] + direct[1]
    assert res.counts.to_dict() == pooled.to_dict()
    k = level_for_threshold(0.5)
    assert res.report["pixel"]["relaxed_recall"] == pooled.relaxed_at(k)["relaxed_recall"]
    scene0 = res.report["inputs"]["scenes"][0]
    assert scene0["excluded_fraction"] == pytest.approx(80 * 120 / 300**2)
    assert "pure-white" in scene0["excluded_rule"]
    assert res.report["inputs"]["scenes"][0]["crs"] is None
    assert len(list(tmp_path.glob("ov_*_s*.png"))) == 2
    with_white = evaluate(EvaluateConfig(pred=preds, labels=labs, scene=imgs))
    assert with_white["pixel"] != res.report["pixel"]


def _vegas_network(tmp_path, drop: int = 0, crs=None) -> Path:
    gdf = gpd.read_file(VEGAS_SN)
    if drop:
        gdf = gdf.iloc[drop:]
    if crs is not None:
        gdf = gdf.to_crs(crs)
    out = tmp_path / f"net_{drop}_{crs or 4326}.gpkg".replace(":", "")
    gdf.to_file(out)
    return out


def test_network_prediction_against_vector_labels(tmp_path):
    """Vector labels on a real GeoTIFF chip: pixel, buffer and graph groups all present."""
    same = _vegas_network(tmp_path)
    r = evaluate(EvaluateConfig(pred=[same], labels=[VEGAS_SN], scene=[VEGAS_CROP]))
    assert set(r) == {"pixel", "buffer", "graph", "skipped", "inputs"}
    assert list(r["skipped"]) == ["breakeven"]  # a drawn network is a binary prediction
    assert tuple(r["buffer"]) == REPORT_KEYS["buffer"] and tuple(r["graph"]) == REPORT_KEYS["graph"]
    assert r["pixel"]["iou"] == 1.0 and r["buffer"]["quality"] == pytest.approx(1.0)
    assert r["graph"]["apls"] == pytest.approx(1.0) and r["graph"]["topo_f1"] == 1.0
    partial = evaluate(
        EvaluateConfig(
            pred=[_vegas_network(tmp_path, drop=10)], labels=[VEGAS_SN], scene=[VEGAS_CROP]
        )
    )
    assert partial["graph"]["apls"] < 1.0 and partial["buffer"]["completeness"] < 1.0
    assert partial["buffer"]["correctness"] == pytest.approx(1.0)


def test_labels_in_another_crs_are_reprojected(tmp_path):
    utm_labels = _vegas_network(tmp_path, crs="EPSG:32611")
    with rasterio.open(VEGAS_CROP) as ds:
        prob = np.zeros((ds.height, ds.width), np.uint8)
        pred = _write(tmp_path / "p.tif", prob, ds.transform, ds.crs)
    a = run_evaluation(EvaluateConfig(pred=[pred], labels=[VEGAS_SN], scene=[VEGAS_CROP]))
    b = run_evaluation(EvaluateConfig(pred=[pred], labels=[utm_labels], scene=[VEGAS_CROP]))
    la, lb = a.counts.label, b.counts.label
    assert la > 1000 and abs(la - lb) <= 0.01 * la


def test_bad_inputs_give_clear_errors(tmp_path, capsys):
    label, _, tr, crs = _sample()
    lab = _write(tmp_path / "lab.tif", label, tr, crs)
    # labels that do not overlap the scene
    rc = cli_main(
        [
            "evaluate",
            "--pred",
            str(lab),
            "--labels",
            str(VEGAS_SN),
            "--scene",
            str(_write(tmp_path / "img.tif", label, tr, crs)),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and f"{VEGAS_SN}: no road overlaps the scene footprint" in err
    # a prediction on another grid: an error, or resampled on request
    shifted = _write(tmp_path / "shifted.tif", label, from_origin(tr.c + 7, tr.f, 1, 1), crs)
    with pytest.raises(InputError, match="shifted.tif: the prediction is on another grid"):
        evaluate(EvaluateConfig(pred=[shifted], labels=[lab]))
    r = evaluate(EvaluateConfig(pred=[shifted], labels=[lab], resample_pred=True))
    assert 0.0 < r["pixel"]["relaxed_precision"] < 1.0  # moved 7 m > ρ: not perfect
    # no CRS and different sizes
    small = _write(tmp_path / "small.png", label[:100, :100])
    with pytest.raises(InputError, match="small.png"):
        evaluate(EvaluateConfig(pred=[small], labels=[_write(tmp_path / "l.png", label)]))
    with pytest.raises(InputError, match="--exclude-nodata needs"):
        evaluate(EvaluateConfig(pred=[lab], labels=[lab], exclude_nodata=True))
    with pytest.raises(InputError, match="2 label file"):
        evaluate(EvaluateConfig(pred=[lab, lab, lab], labels=[lab, lab]))


def test_pipeline_script_takes_the_same_arguments(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "pipeline_evaluate", ROOT / "pipelines" / "evaluate.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    label, _, tr, crs = _sample()
    lab = _write(tmp_path / "lab.tif", label, tr, crs)
    assert (
        mod.main(["--pred", str(lab), "--labels", str(lab), "--json", str(tmp_path / "r.json")])
        == 0
    )
    assert json.loads((tmp_path / "r.json").read_text())["pixel"]["iou"] == 1.0
    assert mod.main(["--pred", str(tmp_path / "nope.tif"), "--labels", str(lab)]) == 2


def test_probability_raster_and_network_together(tmp_path):
    """The pipeline's case: a probability raster and a road network of one scene at once."""
    from roadseg.osm import RoadLoadConfig, SceneGrid, load_roads, rasterize_roads

    grid = SceneGrid.from_raster(VEGAS_CROP)
    roads = load_roads(VEGAS_SN, RoadLoadConfig(crs=grid.crs, clip=grid.footprint()))
    prob = rasterize_roads(roads, grid, width_px=7).astype(np.uint8) * 200
    pred = _write(tmp_path / "prob.tif", prob, grid.transform, grid.crs)
    net = tmp_path / "network.geojson"
    roads.iloc[3:].to_crs("EPSG:4326").to_file(net)  # the network misses three roads
    r = evaluate(
        EvaluateConfig(pred=[pred, net], labels=[VEGAS_SN], scene=[VEGAS_CROP], label_width_px=7)
    )
    assert set(r) == {"pixel", "buffer", "graph", "skipped", "inputs"}
    assert list(r["skipped"]) == ["breakeven"]  # {0, 200}: two levels, no curve
    assert r["pixel"]["iou"] == 1.0  # the raster, not the network, gives the pixel metrics
    assert r["graph"]["apls"] < 1.0


def test_osm_pbf_labels_on_a_projected_scene(tmp_path):
    """Labels from the real Kouvola extract, reprojected onto a 1 m grid in ETRS-TM35FIN."""
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(26.95, 60.53)
    tr = from_origin(round(x) - 200, round(y) + 200, 1.0, 1.0)
    pred = _write(tmp_path / "zeros.tif", np.zeros((400, 400), np.uint8), tr, "EPSG:3067")
    pbf = ROOT / "tests" / "data" / "osm" / "kouvola_test.osm.pbf"
    res = run_evaluation(EvaluateConfig(pred=[pred], labels=[pbf]))
    assert res.counts.label > 2000  # roads drawn 7 px wide across the 400 m window
    assert res.report["pixel"]["relaxed_recall"] == 0.0
    assert res.report["inputs"]["scenes"][0]["label_lines"] > 0
    every = run_evaluation(EvaluateConfig(pred=[pred], labels=[pbf], highways="all"))
    assert every.counts.label >= res.counts.label


def test_zero_one_masks_and_valid_mask_raster(tmp_path):
    label, scene, _, _ = _sample()
    lab01 = _write(tmp_path / "lab01.png", (label > 0).astype(np.uint8))
    lab255 = _write(tmp_path / "lab255.png", label)
    shifted = np.zeros_like(label)
    shifted[:, 4:] = label[:, :-4]  # 4 px off: beyond ρ = 3 in places
    pred01 = _write(tmp_path / "pred01.png", (shifted > 0).astype(np.uint8))
    pred255 = _write(tmp_path / "pred255.png", shifted)
    a = evaluate(EvaluateConfig(pred=[pred01], labels=[lab01]))
    b = evaluate(EvaluateConfig(pred=[pred255], labels=[lab255]))
    assert a["pixel"] == b["pixel"] and 0 < a["pixel"]["relaxed_recall"] < 1
    valid = np.ones_like(label)
    valid[:, :150] = 0
    vm = _write(tmp_path / "valid.png", valid)
    masked = run_evaluation(EvaluateConfig(pred=[pred255], labels=[lab255], valid_mask=[vm]))
    direct = relaxed_counts(shifted, label > 0, valid > 0)
    assert masked.counts.to_dict() == direct.to_dict()
    assert masked.counts.valid == 300 * 150


def test_valid_mask_without_a_pixel_grid_is_a_clear_error(tmp_path):
    """Vectors only (no scene, no raster): a valid mask has no grid to sit on."""
    same = _vegas_network(tmp_path)
    with pytest.raises(InputError, match="a valid mask needs a pixel grid"):
        evaluate(EvaluateConfig(pred=[same], labels=[VEGAS_SN], valid_mask=[VEGAS_CROP]))
