"""The metric registry (#20.4): metrics looked up by name, the report's keys are the
registry's, a new metric is one module, and a network in memory scores as its file does."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

import roadseg.evaluation.metrics as registry
from roadseg.errors import InputError
from roadseg.evaluation.evaluate import EvaluateConfig, NetworkInput, evaluate, run_evaluation
from roadseg.evaluation.metrics import metric_named, metric_names, report_keys
from roadseg.evaluation.report import REPORT_KEYS, to_markdown

SPACENET = Path(__file__).resolve().parents[1] / "data" / "spacenet"
VEGAS_CROP = SPACENET / "vegas_img0_crop.tif"
VEGAS_SN = SPACENET / "AOI_2_Vegas_img0.geojson"

NEW_METRIC = '''
"""Extracted length over reference length, pooled over scenes (a test metric)."""
from roadseg.evaluation.metrics.base import VectorMetric


def scene(s):
    return (sum(g.length for g in s.extraction), sum(g.length for g in s.reference))


def pool(rows):
    ext, ref = (sum(r[i] for r in rows) for i in (0, 1))
    return {"length_ratio": ext / ref if ref else float("nan")}


METRIC = VectorMetric(name="length_ratio", group="length", keys=("length_ratio",),
                      scene=scene, pool=pool, order=300)
'''


def test_metrics_by_name_and_the_one_list_of_report_keys():
    assert metric_names() == ["relaxed", "breakeven", "strict", "buffer", "apls", "topo"]
    assert metric_named("apls").group == "graph"
    with pytest.raises(InputError, match="nosuch"):
        metric_named("nosuch")
    assert REPORT_KEYS == report_keys()
    assert report_keys()["pixel"][:2] == ("relaxed_precision", "relaxed_recall")


@pytest.fixture()
def extra_metric(tmp_path, monkeypatch):
    """A metric module dropped beside the shipped ones (the registry finds it)."""
    folder = tmp_path / "more_metrics"
    folder.mkdir()
    (folder / "length_ratio.py").write_text(NEW_METRIC)
    monkeypatch.setattr(registry, "__path__", [*registry.__path__, str(folder)])
    registry._registry.cache_clear()
    registry.report_keys.cache_clear()
    yield
    monkeypatch.undo()
    registry._registry.cache_clear()
    registry.report_keys.cache_clear()


def test_a_new_metric_module_reaches_the_report(extra_metric):
    assert "length_ratio" in metric_names()
    r = evaluate(EvaluateConfig(pred=[VEGAS_SN], labels=[VEGAS_SN], scene=[VEGAS_CROP]))
    assert r["length"]["length_ratio"] == pytest.approx(1.0)
    assert "length_ratio" in to_markdown(r)


def test_a_network_in_memory_scores_as_its_file(tmp_path):
    edges = gpd.read_file(VEGAS_SN).iloc[10:]
    path = tmp_path / "net.gpkg"
    edges.to_file(path)
    from_file = evaluate(EvaluateConfig(pred=[path], labels=[VEGAS_SN], scene=[VEGAS_CROP]))
    in_memory = run_evaluation(
        EvaluateConfig(pred=[], labels=[VEGAS_SN], scene=[VEGAS_CROP]),
        networks=[NetworkInput(edges, path)],
    ).report
    for group in ("pixel", "buffer", "graph"):
        assert in_memory[group] == pytest.approx(from_file[group], nan_ok=True)
    assert in_memory["inputs"]["scenes"][0]["pred_network"] == path
