"""Scoring: each scene's pixel counts and vector-metric results, pooled over scenes.

Pixel counts need a prediction and labels on a pixel grid; the vector metrics of
the registry (:mod:`roadseg.evaluation.metrics`) need both as lines, and are
computed in a metric CRS (the labels' own when projected in metres, else local UTM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from roadseg.errors import InputError
from roadseg.evaluation.inputs import SceneInputs, metric_crs
from roadseg.evaluation.metrics import PixelMetric, pixel_metrics, vector_metrics
from roadseg.evaluation.metrics.base import PixelPool, Values, VectorScene
from roadseg.evaluation.pixel import PixelCounts, pool, relaxed_counts


@dataclass
class Totals:
    """What is pooled over scenes."""

    counts: list[PixelCounts] = field(default_factory=list)
    vector_rows: dict[str, list[Any]] = field(default_factory=dict)  # metric name -> per scene
    per_scene: list[dict] = field(default_factory=list)
    # the prediction levels present over all scenes (a binary prediction has no curve)
    levels_seen: np.ndarray = field(default_factory=lambda: np.zeros(256, bool))
    why_not_vector: str | None = None  # why buffer/graph metrics do not apply

    @property
    def has_vector(self) -> bool:
        return any(self.vector_rows.values())


def score_scene(s: SceneInputs, cfg: Any, totals: Totals, info: dict) -> PixelCounts | None:
    """Add scene ``s``'s pixel counts and vector-metric results to ``totals``; returns its
    counts (None when pixel metrics do not apply). Its own vector values go to
    ``info["scene_metrics"]`` (for the overlay's caption)."""
    counts = None
    if s.levels is not None and s.label_mask is not None:
        counts = relaxed_counts(s.levels, s.label_mask, s.valid, s.rho)
        totals.counts.append(counts)
        info["valid_pixels"] = counts.valid
        totals.levels_seen |= np.bincount(s.levels.ravel(), minlength=256) > 0
    totals.why_not_vector = totals.why_not_vector or _why_not_vector(s)
    if s.pred_lines is not None and s.label_lines is not None:
        info["scene_metrics"] = _vector_scene(s, cfg, totals, info)
    return counts


def _why_not_vector(s: SceneInputs) -> str | None:
    """Why buffer/graph metrics do not apply to a scene (``None``: they do)."""
    if s.label_lines is None:
        return f"the labels ({s.files.labels.name}) are a raster: they need road lines"
    if s.pred_lines is None:
        return "no road network (GeoJSON, GPKG) among the predictions"
    return None


def _vector_scene(s: SceneInputs, cfg: Any, totals: Totals, info: dict) -> Values:
    """Every vector metric of one scene, in a metric CRS; returns the scene's own values."""
    if s.label_lines.crs is None:
        raise InputError(f"{s.files.labels}: labels have no CRS")
    mcrs = metric_crs(s.label_lines)
    ref_m = list(s.label_lines.to_crs(mcrs).geometry)
    ext_m = list(s.pred_lines.to_crs(mcrs).geometry) if len(s.pred_lines) else []
    scene = VectorScene(ref_m, ext_m, cfg)
    own: Values = {}
    for m in vector_metrics():
        row = m.scene(scene)
        totals.vector_rows.setdefault(m.name, []).append(row)
        own.update(m.pool([row]))
    info["metric_crs"] = mcrs.to_string()
    return own


def pixel_values(
    totals: Totals, level: int
) -> tuple[PixelPool | None, dict[str, Values], dict[str, str]]:
    """The pooled pixel metrics: the pool, each metric's values and what was skipped."""
    if not totals.counts:
        return None, {}, {}
    pooled = PixelPool(pool(totals.counts), level, bool(totals.levels_seen.sum() > 2))
    values: dict[str, Values] = {}
    skipped: dict[str, str] = {}
    for m in pixel_metrics():
        why = m.skip(pooled)
        values[m.name] = _skipped_values(m) if why else m.compute(pooled)
        if why:
            skipped[m.name] = why
    return pooled, values, skipped


def _skipped_values(m: PixelMetric) -> Values:
    return dict.fromkeys(m.keys)


def vector_values(totals: Totals) -> dict[str, Values]:
    """The pooled vector metrics, by metric name (those with at least one scene)."""
    return {
        m.name: m.pool(totals.vector_rows[m.name])
        for m in vector_metrics()
        if totals.vector_rows.get(m.name)
    }
