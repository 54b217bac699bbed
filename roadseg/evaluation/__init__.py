"""Evaluation: pixel, buffer and graph metrics; reports (JSON, Markdown, PNG overlays).

* :mod:`roadseg.evaluation.pixel` — the paper's relaxed precision/recall (ρ = 3 px, square
  window) for all 256 levels at once, poolable counts, break-even; strict IoU/P/R/F1.
* :mod:`roadseg.evaluation.buffer` — completeness, correctness, quality (Wiedemann 1998).
* :mod:`roadseg.evaluation.graph` — APLS (SpaceNet) and TOPO.
* :mod:`roadseg.evaluation.evaluate` — ``EvaluateConfig`` and ``evaluate()`` behind
  ``roadseg evaluate`` (import them from that module: the package only re-exports the light
  pixel metrics, so that ``import roadseg.evaluation`` stays cheap).
"""

from roadseg.evaluation.pixel import (
    BreakEvenResult,
    PixelCounts,
    breakeven,
    level_for_threshold,
    pool,
    relaxed_counts,
    strict_metrics,
    to_levels,
)

__all__ = [
    "BreakEvenResult",
    "PixelCounts",
    "breakeven",
    "level_for_threshold",
    "pool",
    "relaxed_counts",
    "strict_metrics",
    "to_levels",
]
