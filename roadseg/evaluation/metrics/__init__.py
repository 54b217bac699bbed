"""The metrics of an evaluation, each looked up by name in one registry.

Every module of this package that defines ``METRIC`` is a metric: a
:class:`~roadseg.evaluation.metrics.base.PixelMetric` (computed from the pixel
counts pooled over scenes, at the run's level) or a
:class:`~roadseg.evaluation.metrics.base.VectorMetric` (computed per scene from
road lines in metres, then pooled). Each names its report group and the keys it
fills; the report's groups and keys (:func:`report_keys`) are the registry's, in
``order``. Adding a metric is one new module here plus its test.

>>> metric_names()
['relaxed', 'breakeven', 'strict', 'buffer', 'apls', 'topo']
>>> report_keys()["buffer"]
('completeness', 'correctness', 'quality')
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from roadseg.errors import InputError
from roadseg.evaluation.metrics.base import Metric, PixelMetric, VectorMetric

__all__ = [
    "Metric",
    "PixelMetric",
    "VectorMetric",
    "metric_named",
    "metric_names",
    "metrics",
    "pixel_metrics",
    "report_keys",
    "vector_metrics",
]


@cache
def _registry() -> tuple[Metric, ...]:
    found: list[Metric] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        metric = getattr(module, "METRIC", None)
        if isinstance(metric, (PixelMetric, VectorMetric)):
            found.append(metric)
    return tuple(sorted(found, key=lambda m: (m.order, m.name)))


def metrics() -> list[Metric]:
    """Every registered metric, in report order."""
    return list(_registry())


def metric_names() -> list[str]:
    return [m.name for m in _registry()]


def metric_named(name: str) -> Metric:
    """The metric called ``name``.

    Raises:
        InputError: no such metric.
    """
    for m in _registry():
        if m.name == name:
            return m
    raise InputError(f"unknown metric {name!r}; use one of {metric_names()}")


def pixel_metrics() -> list[PixelMetric]:
    return [m for m in _registry() if isinstance(m, PixelMetric)]


def vector_metrics() -> list[VectorMetric]:
    return [m for m in _registry() if isinstance(m, VectorMetric)]


@cache
def report_keys() -> dict[str, tuple[str, ...]]:
    """The report's metric groups and their keys, in order (the one list of report keys)."""
    groups: dict[str, tuple[str, ...]] = {}
    for m in _registry():
        groups[m.group] = groups.get(m.group, ()) + m.keys
    return groups
