"""TOPO (Biagioni & Eriksson 2012): precision, recall, F1 of holes and marbles; averaged."""

from __future__ import annotations

from typing import Any

from roadseg.evaluation.graph import topo
from roadseg.evaluation.metrics.base import Values, VectorMetric, VectorScene, nan_mean

KEYS = ("topo_precision", "topo_recall", "topo_f1")


def scene(s: VectorScene) -> Any:
    gt, prop = s.graphs()
    return topo(gt, prop, s.config.topo)


def pool(rows: list[Any]) -> Values:
    return {k: nan_mean([row[k] for row in rows]) for k in KEYS}


METRIC = VectorMetric(name="topo", group="graph", keys=KEYS, scene=scene, pool=pool, order=130)
