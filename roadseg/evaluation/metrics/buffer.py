"""Completeness, correctness and quality within a buffer (Wiedemann 1998); lengths pooled."""

from __future__ import annotations

from typing import Any

import numpy as np

from roadseg.evaluation.buffer import buffer_lengths, buffer_ratios
from roadseg.evaluation.metrics.base import Values, VectorMetric, VectorScene


def scene(s: VectorScene) -> Any:
    return buffer_lengths(s.reference, s.extraction, s.config.buffer_m)


def pool(rows: list[Any]) -> Values:
    return dict(buffer_ratios(np.sum(rows, axis=0) if rows else np.zeros(4)))


METRIC = VectorMetric(
    name="buffer",
    group="buffer",
    keys=("completeness", "correctness", "quality"),
    scene=scene,
    pool=pool,
    order=110,
)
