"""Evaluation reports: the JSON report (NaN → null), a Markdown summary, the P/R curve as CSV.

The JSON report has the groups ``pixel``, ``buffer``, ``graph`` (those that
apply to the inputs; see :data:`REPORT_KEYS`), ``skipped`` (each metric or group that does
not apply, with the reason) and ``inputs``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.evaluation.pixel import BreakEvenResult

#: The metric groups of the report and their keys, in order.
REPORT_KEYS: dict[str, tuple[str, ...]] = {
    "pixel": (
        "relaxed_precision",
        "relaxed_recall",
        "breakeven",
        "breakeven_threshold",
        "iou",
        "precision",
        "recall",
        "f1",
    ),
    "buffer": ("completeness", "correctness", "quality"),
    "graph": (
        "apls",
        "apls_gt_to_prop",
        "apls_prop_to_gt",
        "topo_precision",
        "topo_recall",
        "topo_f1",
    ),
}


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
    for group, keys in REPORT_KEYS.items():
        if group not in report:
            continue
        lines += [f"## {titles[group]}", "", "| metric | value |", "|---|---|"]
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
