"""The shipped lite model on the bundled sample gives today's probabilities within 1/255.

The reference arrays were written by the predictor before its issue-11 rewrite
(see tests/data/inference/SOURCES.md), so any change to reading, resampling,
normalisation, blending or quantisation that moves a pixel by more than one
grey level fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from roadseg.inference.predictor import PredictConfig, predict_scene
from roadseg.models import resolve_weights

# the model the reference was made with (a regression test of the code, not of the default model)
MODEL = "resunet_lite_massachusetts"

SAMPLE = Path(__file__).resolve().parents[2] / "roadseg" / "sample" / "scene.tif"
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "inference" / "sample_prob_reference.npz"

pytestmark = pytest.mark.skipif(
    not resolve_weights(MODEL).is_file(), reason="the shipped lite model is not installed"
)


def parts(prob: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "seam_crop": prob[380:460, 380:460],
        "corner_crop": prob[-48:, -48:],
        "every10": prob[::10, ::10],
    }


@pytest.mark.parametrize(("name", "tolerance"), [("resampled", 0.05), ("scene_gsd", 1.5)])
def test_sample_matches_the_reference_within_one_level(tmp_path, name, tolerance):
    out = tmp_path / "prob.tif"
    res = predict_scene(
        SAMPLE, out, PredictConfig(weights=MODEL, device="cpu", progress=False, gsd_tolerance=tolerance)
    )
    assert res.resampled == (name == "resampled")
    with rasterio.open(out) as d:
        prob = d.read(1)
        assert (d.dataset_mask() > 0).all()
    ref = np.load(REFERENCE)
    for part, values in parts(prob).items():
        expected = ref[f"{name}_{part}"]
        diff = np.abs(values.astype(np.int16) - expected.astype(np.int16))
        assert diff.max() <= 1, f"{name} {part}: off by up to {diff.max()} levels"
