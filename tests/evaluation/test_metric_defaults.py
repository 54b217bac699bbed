"""One metric default for every scorer (issue 18, item 3): 3 m of slack and 7 m wide line
labels -- the paper's rho = 3 px and 7 px at 1 m -- in ``evaluate``, ``extract --evaluate``,
the trainer's validation and ``calibrate``; pixels only as an explicit override."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from roadseg.evaluation.evaluate import EvaluateConfig
from roadseg.evaluation.slack import DEFAULT_LABEL_WIDTH_M, DEFAULT_SLACK_M, PAPER_RHO_PX, slack_px
from roadseg.models import CheckpointMeta, build_model
from roadseg.pipeline.config import EvaluationConfig
from roadseg.training.calibrate import calibrate
from roadseg.training.trainer import ValidationTile, validate


def test_every_scorer_defaults_to_the_metric_slack():
    assert (DEFAULT_SLACK_M, DEFAULT_LABEL_WIDTH_M, PAPER_RHO_PX) == (3.0, 7.0, 3)
    for cfg in (EvaluateConfig(pred=[], labels=[]), EvaluationConfig()):
        assert (cfg.slack_m, cfg.rho) == (DEFAULT_SLACK_M, None)
        assert (cfg.label_width_m, cfg.label_width_px) == (DEFAULT_LABEL_WIDTH_M, None)
    for fn in (validate, calibrate):
        params = inspect.signature(fn).parameters
        assert params["slack_m"].default == DEFAULT_SLACK_M and params["rho"].default is None


def test_metres_become_pixels_at_the_gsd_and_rho_overrides():
    assert slack_px(DEFAULT_SLACK_M, None, 1.0) == PAPER_RHO_PX  # identical to the paper at 1 m
    assert slack_px(DEFAULT_SLACK_M, None, 0.3) == 10
    assert slack_px(DEFAULT_SLACK_M, None, 2.0) == 2  # 1.5 px, rounded half to even
    assert slack_px(DEFAULT_SLACK_M, 5, 0.3) == 5
    cfg = EvaluateConfig(pred=[], labels=[], label_width_px=5)
    assert cfg.label_width() == (5, None)
    assert EvaluateConfig(pred=[], labels=[]).label_width() == (None, DEFAULT_LABEL_WIDTH_M)


@pytest.mark.parametrize(("gsd", "rho", "want"), [(1.0, None, 3), (0.5, None, 6), (0.5, 2, 2)])
def test_validation_slack_is_metric(gsd, rho, want):
    torch.manual_seed(0)
    net = build_model("resunet", filters=[4, 8]).eval()
    meta = CheckpointMeta("resunet", {"filters": [4, 8]}, tile=32)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (3, 40, 40), dtype=np.uint8)
    label = np.zeros((40, 40), bool)
    label[18:22] = True
    tile = ValidationTile("t", image, label, np.ones((40, 40), bool), gsd)
    scores = validate(net, meta, [tile], torch.device("cpu"), rho=rho)
    assert scores["rho_px"] == want
    assert scores["slack_m"] == (DEFAULT_SLACK_M if rho is None else None)

