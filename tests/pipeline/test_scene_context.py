"""Scenes cut from one grid are predicted with their neighbours' pixels around them, and
their probabilities are then those of the mosaic predicted whole."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine
from rasterio.windows import Window

from roadseg.inference import predict_scene
from roadseg.pipeline.cache import StageCache
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.context import Lattice, axis_window, plan_contexts
from roadseg.pipeline.stages import predict_stage
from roadseg.raster.context import Rect
from roadseg.sample import sample_scene_path

LITE = "resunet_lite_massachusetts"  # 224 px tiles at 2 m: 448 scene px at the sample's 1 m


def _config(**extra):
    over = {"predict.weights": LITE, "predict.backend": "torch", "progress": False}
    return load_extract_config(None, {**over, **extra})


def _cut(src, out, r, c, h, w, shift=(0.0, 0.0)):
    with rasterio.open(src) as ds:
        win = Window(c, r, w, h)
        t = ds.window_transform(win) * Affine.translation(*shift)
        prof = dict(ds.profile, width=w, height=h, transform=t, tiled=False)
        prof.pop("blockxsize", None), prof.pop("blockysize", None)
        with rasterio.open(out, "w", **prof) as dst:
            dst.write(ds.read(window=win))
    return str(out)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    d = tmp_path_factory.mktemp("context")
    return d, _cut(sample_scene_path(), d / "whole.tif", 100, 100, 600, 600)


def _quadrants(d, whole, size=300):
    return [
        _cut(whole, d / f"q{r}_{c}.tif", r, c, size, size) for r in (0, size) for c in (0, size)
    ]


def test_quadrants_are_grouped_and_get_the_lattice_windows(whole):
    d, path = whole
    quads = _quadrants(d, path)
    contexts = plan_contexts(quads, _config())
    lat = Lattice(224, 14, (2.0, 2.0))
    for (r, c), ctx in zip([(0, 0), (0, 300), (300, 0), (300, 300)], contexts):
        assert ctx is not None and len(ctx.neighbours) == 3 and ctx.size == (300, 300)
        r0, r1 = axis_window(r, r + 300, 600, lat, 0)
        c0, c1 = axis_window(c, c + 300, 600, lat, 1)
        assert ctx.window == Rect(r0 - r, c0 - c, r1 - r0, c1 - c0)
        assert {(n.rect.row, n.rect.col) for n in ctx.neighbours} == {
            (rr - r, cc - c) for rr in (0, 300) for cc in (0, 300) if (rr, cc) != (r, c)
        }


def test_scenes_not_on_the_grid_far_away_copied_or_alone_are_predicted_alone(whole):
    d, path = whole
    a = _cut(path, d / "a.tif", 0, 0, 300, 300)
    shifted = _cut(path, d / "s.tif", 0, 300, 300, 300, shift=(0.5, 0.0))  # half a pixel
    assert plan_contexts([a, shifted], _config()) == [None, None]
    far = str(d / "far.tif")
    with rasterio.open(a) as ds:
        prof = dict(ds.profile, transform=ds.transform * Affine.translation(5000, 0))
        with rasterio.open(far, "w", **prof) as dst:
            dst.write(ds.read())
    assert plan_contexts([a, far], _config()) == [None, None]
    assert plan_contexts([path, path], _config()) == [None, None]  # identical: nothing around
    assert plan_contexts([a], _config()) == [None]
    quads = _quadrants(d, path)
    assert plan_contexts(quads, _config(**{"cluster.context": False})) == [None] * 4
    bbox = _config(**{"predict.bbox": (0.0, 0.0, 1e7, 1e7)})
    assert plan_contexts(quads, bbox) == [None] * 4


def _probabilities(path):
    with rasterio.open(path) as ds:
        return ds.read(1).astype(int), ds.transform


def test_quadrants_predicted_in_context_are_the_whole_scene_pixel_for_pixel(whole, tmp_path):
    d, path = whole
    cfg = _config()
    ref = tmp_path / "whole_prob.tif"
    predict_scene(path, ref, dataclasses.replace(cfg.predict, progress=False))
    full, transform = _probabilities(ref)
    quads = _quadrants(d, path)
    worst = {}
    for context_on in (True, False):
        run = _config(**{"cluster.context": context_on})
        contexts = plan_contexts(quads, run)
        diffs = []
        for q, ctx, (r, c) in zip(quads, contexts, [(0, 0), (0, 300), (300, 0), (300, 300)]):
            cache = StageCache(tmp_path / f"cache{context_on}", f"q{r}_{c}")
            stage = predict_stage(Path(q), run, cache, context=ctx)
            prob, t = _probabilities(stage.probability)
            assert t == transform * Affine.translation(c, r)  # the scene's own grid
            assert stage.result.shape == (300, 300)
            diffs.append(np.abs(prob - full[r : r + 300, c : c + 300]))
        worst[context_on] = max(int(x.max()) for x in diffs)
    assert worst[True] <= 1  # the mosaic's values (a level of rounding at most)
    assert worst[False] > 20  # alone, the edges differ: the check can fail
    # nothing but the scenes' own entries stays in the cache
    assert not list((tmp_path / "cacheTrue").glob("*.vrt"))
    assert not list((tmp_path / "cacheTrue").glob("*probability-context*"))
