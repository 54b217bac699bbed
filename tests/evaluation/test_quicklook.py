"""extract --quicklook: the network (and the labels) drawn over the bundled sample."""

from __future__ import annotations

import numpy as np
import rasterio
from matplotlib.image import imread
from rasterio.features import rasterize
from rasterio.windows import Window

from roadseg.cli import build_parser
from roadseg.evaluation.quicklook import LABEL_COLOUR, NETWORK_COLOUR, write_quicklook
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.extract import extract_scene
from roadseg.sample import sample_labels_path, sample_scene_path
from roadseg.tools.extract import config_from_args


def _png(path):
    return (imread(path)[..., :3] * 255).round().astype(np.uint8)


def _coloured(rgb, colour):
    return np.all(rgb == np.array(colour, np.uint8), axis=-1)


def test_flag_reaches_the_typed_config():
    args = build_parser().parse_args(["extract", "s.tif", "-o", "r.geojson"])
    assert config_from_args(args).output.quicklook is None
    args = build_parser().parse_args(
        ["extract", "s.tif", "-o", "r.geojson", "--quicklook", "q.png"]
    )
    assert config_from_args(args).output.quicklook == "q.png"


def test_quicklook_of_the_sample(tmp_path):
    scene, labels = sample_scene_path(), sample_labels_path()
    png = tmp_path / "roads.png"
    cfg = load_extract_config(
        None, {"output.quicklook": str(png), "output.evaluate": str(labels), "progress": False}
    )
    result = extract_scene(scene, tmp_path / "roads.geojson", cfg)
    assert str(png) in result.summary.outputs
    rgb = _png(png)
    with rasterio.open(scene) as src:
        assert rgb.shape[:2] == (src.height, src.width)
        edges = result.network.edges.to_crs(src.crs)
        drawn = rasterize(
            [(g, 1) for g in edges.geometry], out_shape=src.shape, transform=src.transform
        ).astype(bool)
    assert drawn.sum() > 500  # the sample has roads
    network = _coloured(rgb, NETWORK_COLOUR)
    assert network[drawn].mean() > 0.99  # the network is drawn where it is
    assert network.mean() < 0.2  # and not everywhere
    assert _coloured(rgb, LABEL_COLOUR).sum() > 100  # labels not covered by the network

    # a non-square crop, reduced: the picture keeps the scene's aspect
    crop = tmp_path / "crop.tif"
    with rasterio.open(scene) as src:
        win = Window(0, 0, src.width, 600)
        profile = dict(src.profile, height=600, transform=src.window_transform(win))
        with rasterio.open(crop, "w", **profile) as dst:
            dst.write(src.read(window=win))
    small = _png(write_quicklook(crop, result.network, tmp_path / "crop.png", max_side=250))
    assert small.shape[:2] == (150, 250)
    assert _coloured(small, NETWORK_COLOUR).any()


def test_quicklook_onto_an_input_is_refused_before_work(tmp_path):
    import shutil
    import subprocess
    import sys

    scene = tmp_path / "scene.tif"
    shutil.copy(sample_scene_path(), scene)
    before = scene.read_bytes()
    cmd = [sys.executable, "-m", "roadseg.cli", "extract", str(scene), "-o"]
    cmd += [str(tmp_path / "roads.geojson"), "--quicklook", str(scene)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "--quicklook" in proc.stderr and "Traceback" not in proc.stderr
    assert scene.read_bytes() == before
    assert not (tmp_path / "roads.geojson").exists()
