"""Evaluate predictions against labels: the high-level entry point behind ``roadseg evaluate``.

The steps live in modules by concern: :mod:`~roadseg.evaluation.inputs` (reading each
scene's inputs onto one grid), :mod:`~roadseg.evaluation.scoring` (counts and vector
results, pooled), :mod:`~roadseg.evaluation.metrics` (the metric registry),
:mod:`~roadseg.evaluation.report` (the report and its files) and
:mod:`~roadseg.evaluation.overlay` (the per-scene PNG).

Inputs, per scene (the i-th entry of each list; a single label file is shared
by every scene):

* predictions: a probability raster (uint8 0..255, or float 0..1), a binary
  mask ({0,1} or {0,255}), and/or a road network (a file in any export format, or
  in memory: ``networks`` of :func:`run_evaluation`);
* labels: an OSM file (.osm.pbf, .osm), a vector file, or a label raster
  ({0,255} or {0,1}, such as the Massachusetts ``map/*.tif`` masks);
* optionally the scene imagery (its grid is the reference grid, and it is the
  background of the overlay), a valid-data mask (0 = excluded) and
  ``exclude_nodata``: exclude the scene's no-imagery pixels, its declared no-data
  mask or, where it declares none (the Massachusetts tiles), its pure-white pixels
  (:mod:`roadseg.evaluation.nodata`).

The relaxed slack is ``slack_m`` metres at each scene's GSD (default 3 m: the paper's ρ = 3 on
1 m imagery, ρ = 10 on 0.3 m imagery), or ``rho`` pixels when that is given
(:mod:`roadseg.evaluation.slack`).

Which metrics apply:

* ``pixel`` whenever a pixel grid exists (scene, raster prediction or raster
  labels): vector labels are rasterised ``label_width_m`` (default 7 m, the
  Massachusetts masks' 7 px at 1 m) or, when given, ``label_width_px`` wide, and a vector prediction
  without a raster prediction the same way. The counts of all scenes are pooled
  (the paper's way of scoring a set), the break-even point comes from the
  pooled curve, and the relaxed and strict metrics are taken at ``threshold``.
  A binary prediction has no curve to sweep: its break-even is left out.
* ``buffer`` and ``graph`` when both the prediction and the labels are vectors;
  buffer lengths are pooled over scenes, APLS and TOPO are averaged over scenes
  (as SpaceNet averages APLS over chips).

What does not apply is listed, with the reason, under ``skipped`` in the report.

Grids: every raster of a scene must be on the reference grid (same size and,
when both are georeferenced, same CRS and transform). A prediction raster on
another georeferenced grid is an error unless ``resample_pred`` is set; it is
then warped onto the reference grid (bilinear for probabilities, nearest for
binary masks). Rasters without CRS (Massachusetts PNGs) are accepted when the
sizes match (pixel coordinates; logged as a warning). Vector labels in another
CRS are reprojected to the scene's CRS and clipped to its footprint; labels
that miss the footprint are an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from roadseg.errors import InputError
from roadseg.evaluation.apls import APLSConfig
from roadseg.evaluation.buffer import DEFAULT_BUFFER_M
from roadseg.evaluation.graph import TOPOConfig
from roadseg.evaluation.inputs import (
    NetworkInput,
    SceneFiles,
    SceneInputs,
    read_scene,
    scene_files,
)
from roadseg.evaluation.pixel import BreakEvenResult, PixelCounts, level_for_threshold
from roadseg.evaluation.scoring import Totals, score_scene
from roadseg.evaluation.slack import DEFAULT_LABEL_WIDTH_M, DEFAULT_SLACK_M
from roadseg.postprocess.config import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)

__all__ = [
    "EvaluateConfig",
    "EvaluationResult",
    "NetworkInput",
    "evaluate",
    "run_evaluation",
]


@dataclass
class EvaluateConfig:
    """Everything ``roadseg evaluate`` needs.

    Attributes:
        pred: prediction files; rasters (probability/binary) and/or vector networks.
            Rasters, if any, are one per scene; vector networks likewise.
        labels: label files, one per scene or one shared by all.
        scene: imagery, one per scene (optional).
        valid_mask: valid-data rasters, one per scene (optional; 0 = excluded).
        exclude_nodata: exclude the scene's no-imagery pixels (its declared no-data mask, or
            its pure-white pixels where it declares none: the Massachusetts tiles).
        slack_m: relaxed-metric slack in metres, converted with each scene's GSD.
        rho: the slack in pixels instead ((2ρ+1)² window); ``None``: ``slack_m``.
        threshold: probability threshold for the relaxed and strict metrics at one level.
        highways: OSM class filter for the labels (preset, comma list or list; None: preset
            ``massachusetts`` where a highway attribute exists).
        label_width_m: width in metres to rasterise vector labels with.
        label_width_px: that width in pixels instead; ``None``: ``label_width_m``.
        buffer_m: buffer half-width for completeness/correctness/quality.
        resample_pred: warp a prediction raster on another grid onto the reference grid.
        apls, topo: graph-metric parameters.
        json_path, plot_path, curve_csv: optional outputs (written atomically). With several
            scenes, the overlay of scene i goes to ``<plot stem>_<i>_<scene name>.png``.
        report_paths: the paths the report names instead of those read or written, for a
            caller that publishes outputs elsewhere afterwards (a staged file → its final
            place) or removes an input (→ None: the report does not name it).
        bbox: score only inside this box (WGS 84 W,S,E,N, as ``--bbox``): the rasters are
            read on their window inside it (:func:`roadseg.raster.scene.open_in_bbox`).
    """

    pred: list[Path]
    labels: list[Path]
    scene: list[Path] = field(default_factory=list)
    valid_mask: list[Path] = field(default_factory=list)
    exclude_nodata: bool = False
    rho: int | None = None
    slack_m: float = DEFAULT_SLACK_M
    threshold: float = DEFAULT_THRESHOLD
    highways: str | list[str] | None = None
    label_width_px: float | None = None
    label_width_m: float = DEFAULT_LABEL_WIDTH_M
    buffer_m: float = DEFAULT_BUFFER_M
    resample_pred: bool = False
    apls: APLSConfig = field(default_factory=APLSConfig)
    topo: TOPOConfig = field(default_factory=TOPOConfig)
    json_path: Path | None = None
    plot_path: Path | None = None
    curve_csv: Path | None = None
    report_paths: dict[Path, Path | None] = field(default_factory=dict)
    bbox: tuple[float, float, float, float] | str | None = None

    def __post_init__(self) -> None:
        from roadseg.validate import check_number  # the library refuses what the CLI refuses

        check_number("rho", self.rho, minimum=0, integer=True, optional=True)
        check_number("slack_m", self.slack_m, minimum=0.0)
        check_number("threshold", self.threshold, minimum=0.0, maximum=1.0)
        check_number("buffer_m", self.buffer_m, minimum=0.0, inclusive=False)
        check_number("label_width_px", self.label_width_px, minimum=0.0, inclusive=False, optional=True)
        check_number("label_width_m", self.label_width_m, minimum=0.0, inclusive=False)

    def label_width(self) -> tuple[float | None, float | None]:
        """``(width_px, width_m)`` for :func:`~roadseg.osm.rasterize.rasterize_roads`: the
        pixels when given, else the metres (exactly one is set)."""
        if self.label_width_px is not None:
            return self.label_width_px, None
        return None, self.label_width_m


@dataclass
class EvaluationResult:
    """The report plus what it was computed from."""

    report: dict
    counts: PixelCounts | None = None
    breakeven: BreakEvenResult | None = None
    per_scene: list[dict] = field(default_factory=list)


def run_evaluation(
    cfg: EvaluateConfig, networks: list[NetworkInput] | None = None
) -> EvaluationResult:
    """Evaluate and write the requested outputs; returns the report and its ingredients.

    ``networks``: predicted networks in memory (one per scene, or one for every scene,
    each scene scoring the part inside its footprint) instead of network files.
    """
    from roadseg.evaluation.report import build_report, write_curve_csv, write_json

    preds, scenes = scene_files(cfg, networks)
    totals = Totals()
    level = level_for_threshold(cfg.threshold)
    for files in scenes:
        _evaluate_scene(files, len(scenes), cfg, level, totals)
    report, pooled = build_report(totals, level, cfg, preds)
    if cfg.json_path is not None:
        write_json(report, cfg.json_path)
    if cfg.curve_csv is not None:
        if pooled is None:
            raise InputError(f"{cfg.curve_csv}: no pixel metrics, so no precision/recall curve")
        write_curve_csv(pooled.curve, cfg.curve_csv)
    shown_be = pooled.curve if pooled is not None and "breakeven" not in report["skipped"] else None
    return EvaluationResult(
        report=report,
        counts=pooled.counts if pooled is not None else None,
        breakeven=shown_be,
        per_scene=totals.per_scene,
    )


def _evaluate_scene(f: SceneFiles, n: int, cfg: EvaluateConfig, level: int, totals: Totals) -> None:
    """Read scene ``f``'s inputs, score them into ``totals``, draw its overlay."""
    info: dict = {
        "pred": f.pred,
        "pred_network": f.network_name,
        "labels": f.labels,
        "scene": f.scene,
        "valid_mask": f.valid_mask,
    }
    s = read_scene(f, cfg, info)
    counts = score_scene(s, cfg, totals, info)
    if cfg.plot_path is not None and counts is not None:
        info["overlay"] = _overlay(s, n, counts, level, cfg, info)
    info.pop("scene_metrics", None)  # the caption's per-scene values; pooled ones are reported
    totals.per_scene.append(_named(info, cfg.report_paths))


def _overlay(
    s: SceneInputs, n: int, counts: PixelCounts, level: int, cfg: EvaluateConfig, info: dict
) -> Path:
    """Write the scene's overlay PNG, captioned with the scene's metric values."""
    from roadseg.evaluation.overlay import overlay_caption, overlay_path, overlay_rgb, write_overlay

    assert cfg.plot_path is not None and s.levels is not None and s.label_mask is not None
    f = s.files
    src = f.scene or f.pred or f.network_name  # levels come from a raster or network prediction
    assert src is not None
    out = overlay_path(cfg.plot_path, f.index, n, src)
    scene_data = s.scene.data if s.scene is not None else None
    rgb = overlay_rgb(s.levels >= level, s.label_mask, scene_data, s.rho, s.valid)
    gsd = s.grid.gsd_m() if s.grid is not None else None
    caption = overlay_caption(src, cfg.threshold, s.rho, gsd, counts, level, info)
    write_overlay(rgb, out, caption)
    return out


def _named(info: dict, names: dict[Path, Path | None]) -> dict:
    """The scene's entry with the paths the caller wants named (``report_paths``)."""
    if not names:
        return info
    table = {Path(k): v for k, v in names.items()}
    return {k: (table.get(v, v) if isinstance(v, Path) else v) for k, v in info.items()}


def evaluate(cfg: EvaluateConfig) -> dict:
    """Evaluate and return the report dict (groups pixel/buffer/graph/inputs)."""
    return run_evaluation(cfg).report
