"""The bundled sample's real predictions: three copies mosaic to the sample itself, and the
edges whose ``mean_prob`` lies below the level they were cut at come from filled holes."""

from __future__ import annotations

import shutil

import pytest

from roadseg.inference import PredictConfig, predict_scene
from roadseg.postprocess.config import ThresholdSpec
from roadseg.postprocess.level import stored_threshold
from roadseg.raster.mosaic import plan_mosaic, write_mosaic
from roadseg.sample import sample_scene_path
from roadseg.vector import VectorizeConfig, vectorize_raster


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample's probability raster (the bundled model), its level and its network."""
    d = tmp_path_factory.mktemp("sample")
    prob = d / "a.tif"
    predict_scene(sample_scene_path(), prob, PredictConfig(progress=False))
    level = stored_threshold(prob)
    assert level is not None
    cfg = VectorizeConfig(threshold=ThresholdSpec.parse(level))
    return {"dir": d, "prob": prob, "level": level, "cfg": cfg, "net": vectorize_raster(prob, cfg)}


def test_three_copies_of_the_sample_give_the_sample(sample):
    d = sample["dir"]
    copies = [sample["prob"]] + [shutil.copy(sample["prob"], d / f"{k}.tif") for k in "bc"]
    mosaic = write_mosaic(plan_mosaic(copies), d / "mosaic.tif")
    net = vectorize_raster(mosaic, sample["cfg"])
    one = sample["net"]
    assert len(one.edges) > 50 and one.total_length_m > 5000  # the sample's real roads
    assert len(net.edges) == len(one.edges)
    assert net.total_length_m == pytest.approx(one.total_length_m, rel=1e-9)


def test_mean_prob_below_the_level_comes_from_filled_holes(sample):
    """Cleanup fills holes up to ``max_hole_m2``: those pixels are road in the mask though
    their probability is below the level, and a wide road's centre line can run through
    them. Without hole filling no edge's mean probability is below the level."""
    level = sample["level"]
    assert (sample["net"].edges["mean_prob"] < level).any()  # the two edges of issue 18.5
    import dataclasses

    no_fill = dataclasses.replace(sample["cfg"], max_hole_m2=0.0)
    net = vectorize_raster(sample["prob"], no_fill)
    assert len(net.edges) > 50
    assert (net.edges["mean_prob"].dropna() >= level - 1e-9).all()
