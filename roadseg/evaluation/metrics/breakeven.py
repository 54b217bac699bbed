"""The break-even point of the pooled relaxed precision/recall curve, and its threshold."""

from __future__ import annotations

from roadseg.evaluation.metrics.base import PixelMetric, PixelPool, Values


def compute(pool: PixelPool) -> Values:
    return {
        "breakeven": pool.curve.breakeven,
        "breakeven_threshold": pool.curve.breakeven_threshold,
    }


def skip(pool: PixelPool) -> str | None:
    if pool.sweep:
        return None
    return (
        "the prediction is binary (two levels only): there is no precision/recall "
        "curve to find the break-even point on"
    )


METRIC = PixelMetric(
    name="breakeven",
    keys=("breakeven", "breakeven_threshold"),
    compute=compute,
    skip=skip,
    order=20,
)
