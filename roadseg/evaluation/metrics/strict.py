"""Strict (pixel-exact) IoU, precision, recall and F1 at the run's level."""

from __future__ import annotations

from roadseg.evaluation.metrics.base import PixelMetric, PixelPool, Values


def compute(pool: PixelPool) -> Values:
    strict = pool.counts.strict_at(pool.level)
    return {k: strict[k] for k in ("iou", "precision", "recall", "f1")}


METRIC = PixelMetric(
    name="strict", keys=("iou", "precision", "recall", "f1"), compute=compute, order=30
)
