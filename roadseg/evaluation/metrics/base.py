"""The two kinds of metric the registry holds, and what they are computed from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from roadseg.evaluation.pixel import BreakEvenResult, PixelCounts, breakeven

Values = dict[str, "float | None"]


@dataclass
class PixelPool:
    """The pixel counts of every scene pooled (the paper's way of scoring a set).

    Attributes:
        counts: the pooled counts at every level.
        level: the uint8 level of the run's threshold.
        sweep: the predictions had more than two levels (a curve, not one point).
    """

    counts: PixelCounts
    level: int
    sweep: bool

    @cached_property
    def curve(self) -> BreakEvenResult:
        """The pooled precision/recall curve and its break-even point."""
        return breakeven(self.counts)


@dataclass
class VectorScene:
    """One scene's reference and extracted road lines in a metric CRS, and the options."""

    reference: list[Any]
    extraction: list[Any]
    config: Any  # EvaluateConfig
    _graphs: dict[str, Any] = field(default_factory=dict, repr=False)

    def graphs(self) -> tuple[Any, Any]:
        """Both line sets as road graphs (built once, shared by the graph metrics)."""
        if not self._graphs:
            import logging

            from roadseg.evaluation.roadgraph import build_graph

            self._graphs["gt"] = build_graph(self.reference)
            self._graphs["prop"] = build_graph(self.extraction)
            gt, prop = self._graphs["gt"], self._graphs["prop"]
            logging.getLogger(__name__).info(
                "graphs: ground truth %d nodes / %d edges, proposal %d nodes / %d edges",
                gt.n_nodes,
                len(gt.edges),
                prop.n_nodes,
                len(prop.edges),
            )
        return self._graphs["gt"], self._graphs["prop"]


@dataclass(frozen=True)
class PixelMetric:
    """A metric of the pooled pixel counts.

    Attributes:
        name: the registry name (also the ``skipped`` key when it does not apply).
        keys: the report keys it fills, in order.
        compute: the values from the pool.
        skip: why it does not apply to a pool (``None``: it does); its keys are then
            ``None`` and the reason goes under ``skipped``.
        order: its place in the report.
    """

    name: str
    keys: tuple[str, ...]
    compute: Callable[[PixelPool], Values]
    skip: Callable[[PixelPool], str | None] = lambda pool: None
    order: int = 100
    group: str = "pixel"


@dataclass(frozen=True)
class VectorMetric:
    """A metric of road lines (metres), computed per scene and pooled over scenes.

    Attributes:
        name: the registry name.
        group: the report group (``buffer``, ``graph``, ...).
        keys: the report keys it fills, in order.
        scene: one scene's partial result (anything :attr:`pool` adds up).
        pool: the values from the scenes' partial results (one scene: its own values).
        order: its place in the report.
    """

    name: str
    group: str
    keys: tuple[str, ...]
    scene: Callable[[VectorScene], Any]
    pool: Callable[[list[Any]], Values]
    order: int = 200


Metric = PixelMetric | VectorMetric


def nan_mean(values: list[Any]) -> float:
    """The mean of the finite values (NaN when there is none): graph metrics over scenes."""
    import math

    import numpy as np

    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan
