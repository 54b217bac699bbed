"""The overlay shows the metric values with an uncut caption; the report names the right files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import roadseg.evaluation.overlay as overlay
from roadseg.evaluation.evaluate import EvaluateConfig, run_evaluation
from roadseg.evaluation.report import to_markdown

DATA = Path(__file__).resolve().parents[1] / "data"
MASS_IMAGE = DATA / "massachusetts_eval" / "10228795_15_white_image.png"
MASS_MASK = DATA / "massachusetts_eval" / "10228795_15_white_mask.png"
VEGAS_CROP = DATA / "spacenet" / "vegas_img0_crop.tif"
VEGAS_SN = DATA / "spacenet" / "AOI_2_Vegas_img0.geojson"


def _inside(fig) -> list[str]:
    """The texts of the figure that stick out of it (none when nothing is cut)."""
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    out = []
    for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent")):
        if not t.get_text():
            continue
        e = t.get_window_extent(renderer)
        if e.x0 < box.x0 - 0.5 or e.x1 > box.x1 + 0.5 or e.y0 < box.y0 - 0.5:
            out.append(t.get_text())
    return out


@pytest.mark.parametrize("width", [64, 128, 640])
def test_caption_is_wrapped_not_cut(width):
    rgb = np.asarray(Image.open(MASS_IMAGE).resize((width, width)))
    caption = [
        "10228795_15_white_image.png: threshold 0.5, ρ = 3 px (3.0 m)",
        "relaxed precision 0.981, recall 0.412; IoU 0.351, F1 0.520",
        "left out as no imagery: 62.3% (pure-white pixels (no no-data declared, "
        "Massachusetts-style fill)), shaded",
    ]
    fig, lines = overlay.overlay_figure(rgb, caption)
    fig.canvas.draw()
    assert _inside(fig) == []
    assert " ".join(lines).replace(" ", "") == " ".join(caption).replace(" ", "")
    assert len(lines) >= len(caption)


def test_overlay_shows_this_scenes_metric_values(tmp_path, monkeypatch):
    """A real Massachusetts crop: the caption carries the values of the report."""
    drawn: list[list[str]] = []
    real = overlay.write_overlay

    def spy(rgb, path, caption=None):
        drawn.append(real(rgb, path, caption))
        return drawn[-1]

    monkeypatch.setattr(overlay, "write_overlay", spy)
    roads = np.asarray(Image.open(MASS_MASK))
    pred = tmp_path / "pred.png"
    Image.fromarray(np.roll(roads, 2, axis=0)).save(pred)
    res = run_evaluation(
        EvaluateConfig(
            pred=[pred],
            labels=[MASS_MASK],
            scene=[MASS_IMAGE],
            exclude_nodata=True,
            plot_path=tmp_path / "o.png",
        )
    )
    text = " ".join(drawn[0])
    px = res.report["pixel"]
    assert f"relaxed precision {px['relaxed_precision']:.3f}" in text
    assert f"IoU {px['iou']:.3f}" in text and "ρ = 3 px" in text
    assert "left out as no imagery: 61.9%" in text or "left out as no imagery: 62" in text
    assert (tmp_path / "o.png").exists()


def test_overlay_shows_graph_metrics_of_a_network(tmp_path, monkeypatch):
    import geopandas as gpd

    drawn: list[list[str]] = []
    monkeypatch.setattr(
        overlay, "write_overlay", lambda rgb, path, caption=None: drawn.append(caption)
    )
    net = tmp_path / "net.geojson"
    gpd.read_file(VEGAS_SN).iloc[5:].to_file(net)
    res = run_evaluation(
        EvaluateConfig(
            pred=[net], labels=[VEGAS_SN], scene=[VEGAS_CROP], plot_path=tmp_path / "o.png"
        )
    )
    text = " ".join(drawn[0])
    assert f"APLS {res.report['graph']['apls']:.3f}" in text
    assert f"buffer quality {res.report['buffer']['quality']:.3f}" in text


def test_report_names_the_paths_the_caller_publishes(tmp_path):
    """The pipeline evaluates a cached probability raster that it deletes afterwards and
    writes the overlay to a staging folder it then moves: the report names what stays."""
    cache, stage, final = tmp_path / "cache", tmp_path / "stage", tmp_path / "out"
    for d in (cache, stage, final):
        d.mkdir()
    prob = cache / "prob.png"
    Image.fromarray(np.asarray(Image.open(MASS_MASK))).save(prob)
    res = run_evaluation(
        EvaluateConfig(
            pred=[prob],
            labels=[MASS_MASK],
            scene=[MASS_IMAGE],
            plot_path=stage / "roads.evaluation.png",
            json_path=stage / "roads.evaluation.json",
            report_paths={
                prob: None,
                stage / "roads.evaluation.png": final / "roads.evaluation.png",
            },
        )
    )
    for f in stage.iterdir():
        shutil.move(f, final / f.name)
    shutil.rmtree(cache)
    scene = res.report["inputs"]["scenes"][0]
    assert scene["pred"] is None and scene["overlay"] == final / "roads.evaluation.png"
    report = json.loads((final / "roads.evaluation.json").read_text())
    named = [v for v in report["inputs"]["scenes"][0].values() if isinstance(v, str) and "/" in v]
    assert named and all(Path(v).exists() for v in named), named
    md = to_markdown(res.report, res.breakeven)
    assert (
        str(cache) not in md and str(stage) not in md and str(final / "roads.evaluation.png") in md
    )
