"""Relaxed precision and recall (Mnih 2013): a prediction within ρ pixels of a label counts."""

from __future__ import annotations

from roadseg.evaluation.metrics.base import PixelMetric, PixelPool, Values


def compute(pool: PixelPool) -> Values:
    relaxed = pool.counts.relaxed_at(pool.level)
    return {k: relaxed[k] for k in METRIC.keys}


METRIC = PixelMetric(
    name="relaxed", keys=("relaxed_precision", "relaxed_recall"), compute=compute, order=10
)
