"""APLS (SpaceNet): both ways and their harmonic mean; averaged over scenes."""

from __future__ import annotations

from typing import Any

from roadseg.evaluation.apls import apls
from roadseg.evaluation.metrics.base import Values, VectorMetric, VectorScene, nan_mean

KEYS = ("apls", "apls_gt_to_prop", "apls_prop_to_gt")


def scene(s: VectorScene) -> Any:
    gt, prop = s.graphs()
    return apls(gt, prop, s.config.apls)


def pool(rows: list[Any]) -> Values:
    return {k: nan_mean([row[k] for row in rows]) for k in KEYS}


METRIC = VectorMetric(name="apls", group="graph", keys=KEYS, scene=scene, pool=pool, order=120)
