"""Equal-budget experiment runs: trained, scored on the held-out tiles, timed."""

from __future__ import annotations

import json

from roadseg.training.experiments import markdown_table, run_variant, write_results
from tests.training.helpers import tiny_config


def test_run_variant_scores_on_the_holdout(road_tiles, tmp_path):
    images, masks = road_tiles
    config = tiny_config(images, masks, tmp_path / "v", epochs=1, holdout=["t2"], val_every=1)
    result = run_variant("tiny", config)
    assert result.steps == 6 and result.parameters > 0
    assert 0.0 <= result.breakeven <= 1.0 and 0.0 <= result.breakeven_threshold <= 1.0
    assert result.train_cpu_s > 0 and result.train_wall_s > 0
    write_results([result], tmp_path / "r" / "results.json")
    assert json.loads((tmp_path / "r" / "results.json").read_text())[0]["name"] == "tiny"
    table = markdown_table([result])
    assert "| tiny |" in table and f"{result.breakeven:.4f}" in table
