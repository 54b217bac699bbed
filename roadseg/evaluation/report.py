"""Evaluation reports: the report of the pooled metrics (:func:`build_report`), written as
JSON (NaN → null), a Markdown summary, the P/R curve as CSV.

The JSON report has the groups ``pixel``, ``buffer``, ``graph`` (those that
apply to the inputs; see :data:`REPORT_KEYS`), ``skipped`` (each metric or group that does
not apply, with the reason) and ``inputs``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.evaluation.metrics import metrics, report_keys, vector_metrics
from roadseg.evaluation.metrics.base import PixelPool, Values
from roadseg.evaluation.pixel import BreakEvenResult
from roadseg.evaluation.scoring import Totals, pixel_values, vector_values

#: The metric groups of the report and their keys, in order: the metric registry's.
REPORT_KEYS: dict[str, tuple[str, ...]] = report_keys()


def json_safe(obj: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python numbers, recursively."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, os.PathLike):  # a Path, or a URL (roadseg.uri.RemotePath) as given
        return str(obj)
    return obj


def write_json(report: dict, path: str | Path) -> None:
    """Write the report as strict JSON (no NaN), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")


def write_curve_csv(be: BreakEvenResult, path: str | Path) -> None:
    """The relaxed precision/recall curve: level, threshold, precision, recall (empty = undefined)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["level", "threshold", "relaxed_precision", "relaxed_recall"])
        for k, (t, p, r) in enumerate(zip(be.thresholds, be.precision, be.recall)):
            w.writerow(
                [
                    k,
                    f"{t:.6f}",
                    "" if math.isnan(p) else f"{p:.6f}",
                    "" if math.isnan(r) else f"{r:.6f}",
                ]
            )


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def to_markdown(report: dict, breakeven: BreakEvenResult | None = None) -> str:
    """A short Markdown summary of a report."""
    lines = ["# roadseg evaluation", ""]
    params = report.get("inputs", {}).get("parameters", {})
    scenes = report.get("inputs", {}).get("scenes", [])
    lines.append(
        f"{len(scenes)} scene(s); "
        + ", ".join(f"{k}={_fmt(v)}" for k, v in params.items() if not isinstance(v, (dict, list)))
    )
    lines.append("")
    titles = {
        "pixel": "Pixel (relaxed: ρ-px slack, pooled over scenes)",
        "buffer": "Buffer (Wiedemann et al. 1998)",
        "graph": "Graph (APLS, TOPO)",
    }
    for group, keys in report_keys().items():
        if group not in report:
            continue
        lines += [f"## {titles.get(group, group)}", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(report[group].get(k))} |" for k in keys]
        lines.append("")
    if breakeven is not None and breakeven.level >= 0:
        how = (
            f"interpolated crossing at p={breakeven.crossing_threshold:.4f}"
            if breakeven.crossed
            else "P and R never cross: min(P, R) at that level"
        )
        lines.append(
            f"Break-even: level {breakeven.level} (p={breakeven.breakeven_threshold:.4f}), "
            f"P={breakeven.precision_at_level:.4f}, R={breakeven.recall_at_level:.4f}; {how}."
        )
        lines.append("")
    skipped = report.get("skipped") or {}
    if skipped:
        lines += ["## Not computed", ""]
        lines += [f"- {k}: {why}" for k, why in skipped.items()]
        lines.append("")
    for s in scenes:
        lines.append("- " + ", ".join(f"{k}: {_fmt(v)}" for k, v in s.items() if v is not None))
    return "\n".join(lines).rstrip() + "\n"


def build_report(
    totals: Totals, level: int, cfg: Any, preds: list[Path]
) -> tuple[dict, PixelPool | None]:
    """The report of the pooled metrics and the parameters they were computed with.

    Raises:
        InputError: no metric applies to the inputs.
    """
    pooled, pixel, skipped = pixel_values(totals, level)
    report: dict = {}
    if pooled is not None:
        report["pixel"] = _grouped(pixel)["pixel"]
    else:
        skipped["pixel"] = (
            "no pixel grid with both a prediction and labels (pixel metrics need a raster "
            "prediction, or a network prediction with a georeferenced scene)"
        )
    vector = vector_values(totals)
    if vector:
        report.update(_grouped(vector))
    else:
        for group in {m.group for m in vector_metrics()}:
            skipped[group] = f"no vector metrics: {totals.why_not_vector}"
    if pooled is None and not vector:
        raise InputError(
            f"{preds[0] if preds else 'the prediction'}: no metric applies: pixel metrics need a "
            "prediction and labels on a pixel grid, buffer/graph metrics a network prediction "
            "and vector labels"
        )
    report["skipped"] = dict(sorted(skipped.items(), key=lambda kv: _skip_order(kv[0])))
    shown = pooled.curve if pooled is not None and "breakeven" not in skipped else None
    report["inputs"] = {"scenes": totals.per_scene, "parameters": _parameters(cfg, level, shown)}
    return report, pooled


def _grouped(values: dict[str, Values]) -> dict[str, dict[str, Any]]:
    """Metric values by report group, in the registry's key order."""
    flat = {k: v for vals in values.values() for k, v in vals.items()}
    return {
        group: {k: flat[k] for k in keys if k in flat}
        for group, keys in report_keys().items()
        if any(k in flat for k in keys)
    }


def _skip_order(name: str) -> int:
    names = [m.name for m in metrics()] + list(report_keys())
    return names.index(name) if name in names else len(names)


def _parameters(cfg: Any, level: int, be: BreakEvenResult | None) -> dict:
    params: dict = {
        "rho": cfg.rho,
        "slack_m": cfg.slack_m if cfg.rho is None else None,
        "threshold": cfg.threshold,
        "threshold_level": level,
        "exclude_nodata": cfg.exclude_nodata,
        "highways": cfg.highways if cfg.highways is not None else "auto",
        "label_width_px": cfg.label_width_px,
        "label_width_m": cfg.label_width_m if cfg.label_width_px is None else None,
        "buffer_m": cfg.buffer_m,
        "resample_pred": cfg.resample_pred,
        "apls": asdict(cfg.apls),
        "topo": asdict(cfg.topo),
    }
    if be is not None:
        params["breakeven_detail"] = {
            "level": be.level,
            "crossed": be.crossed,
            "crossing_threshold": be.crossing_threshold,
            "precision_at_level": be.precision_at_level,
            "recall_at_level": be.recall_at_level,
        }
    return params
