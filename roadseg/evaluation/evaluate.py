"""Evaluate predictions against labels: the high-level entry point behind ``roadseg evaluate``.

Inputs, per scene (the i-th entry of each list; a single label file is shared
by every scene):

* predictions: a probability raster (uint8 0..255, or float 0..1), a binary
  mask ({0,1} or {0,255}), and/or a road network (GeoJSON, GeoPackage, ...);
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
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.errors import InputError
from roadseg.evaluation.buffer import DEFAULT_BUFFER_M, buffer_lengths, buffer_ratios
from roadseg.evaluation.graph import APLSConfig, TOPOConfig, graph_metrics
from roadseg.evaluation.nodata import no_imagery
from roadseg.evaluation.pixel import (
    BreakEvenResult,
    PixelCounts,
    breakeven,
    level_for_threshold,
    pool,
    relaxed_counts,
    to_levels,
)
from roadseg.evaluation.slack import (
    DEFAULT_LABEL_WIDTH_M,
    DEFAULT_SLACK_M,
    PAPER_RHO_PX,
    slack_px,
)
from roadseg.osm.load import RoadLoadConfig, is_osm_file, is_vector_file, load_roads
from roadseg.osm.rasterize import rasterize_roads
from roadseg.postprocess.config import DEFAULT_THRESHOLD
from roadseg.raster.georef import SceneGrid, same_grid
from roadseg.raster.suffixes import is_raster_file
from roadseg.uri import RemotePath, gdal_name, is_remote, open_error, scene_path

log = logging.getLogger(__name__)

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


@dataclass
class _Raster:
    data: np.ndarray  # bands × H × W
    grid: SceneGrid
    path: Path


def _read_raster(path: Path) -> _Raster:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(gdal_name(path)) as ds:
                data = ds.read()
                grid = SceneGrid(ds.width, ds.height, ds.transform, ds.crs)
    except rasterio.errors.RasterioIOError as exc:
        if is_remote(path):
            raise InputError(open_error(RemotePath(str(path)), exc)) from exc
        raise InputError(f"{path}: cannot read as a raster ({exc})") from exc
    return _Raster(data, grid, path)


def _grid_text(g: SceneGrid) -> str:
    crs = g.crs.to_string() if g.crs is not None else "no CRS"
    return f"{g.width}x{g.height}, {crs}, origin ({g.transform.c:.6f}, {g.transform.f:.6f})"


def _check_on_grid(r: _Raster, ref: SceneGrid, ref_path: Path, what: str) -> None:
    if not same_grid(r.grid, ref):
        raise InputError(
            f"{r.path}: {what} is on another grid ({_grid_text(r.grid)}) than {ref_path} "
            f"({_grid_text(ref)})"
        )
    if (r.grid.crs is None) != (ref.crs is None):
        log.warning(
            "%s and %s: one has no CRS; same size, so taken as the same pixel grid",
            r.path,
            ref_path,
        )


def _prediction_levels(r: _Raster, ref: SceneGrid, ref_path: Path, resample: bool) -> np.ndarray:
    """Band 1 of a prediction raster as uint8 levels on the reference grid."""
    if r.data.shape[0] != 1:
        raise InputError(
            f"{r.path}: a prediction raster must have 1 band, it has {r.data.shape[0]}"
        )
    band = r.data[0]
    if band.dtype != np.uint8 and np.issubdtype(band.dtype, np.integer):
        if band.size and (band.min() < 0 or band.max() > 255):
            raise InputError(f"{r.path}: integer prediction values must lie in 0..255")
        band = band.astype(np.uint8)
    binary01 = band.dtype == np.uint8 and band.size > 0 and band.max() <= 1
    if binary01:
        band = band * np.uint8(255)  # a {0,1} mask
    elif np.issubdtype(band.dtype, np.floating) and band.size and np.nanmax(band) > 1.0:
        raise InputError(f"{r.path}: float probabilities must lie in [0, 1]")
    levels = to_levels(band)
    if same_grid(r.grid, ref):
        _check_on_grid(r, ref, ref_path, "the prediction")
        return levels
    if not resample or r.grid.crs is None or ref.crs is None:
        _check_on_grid(r, ref, ref_path, "the prediction")  # raises
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    is_binary = set(np.unique(levels[:: max(1, levels.shape[0] // 64)]).tolist()) <= {0, 255}
    out = np.zeros(ref.shape, np.uint8)
    reproject(
        levels,
        out,
        src_transform=r.grid.transform,
        src_crs=r.grid.crs,
        dst_transform=ref.transform,
        dst_crs=ref.crs,
        src_nodata=None,
        dst_nodata=0,
        resampling=Resampling.nearest if is_binary else Resampling.bilinear,
    )
    log.warning("%s: prediction resampled onto the grid of %s", r.path, ref_path)
    return out


def _label_mask_from_raster(r: _Raster) -> np.ndarray:
    band = r.data[0]
    if band.size == 0:
        return np.zeros(band.shape, bool)
    # {0,1} masks: > 0; {0,255} masks (maybe with resampling noise): >= 128
    return band > 0 if band.max() <= 1 else band >= 128


def _metric_crs(gdf: Any) -> Any:
    """A metric CRS for vector metrics: the data's own if projected in metres, else local UTM."""
    if gdf.crs is not None and gdf.crs.is_projected:
        unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else "metre"
        if unit in ("metre", "meter", "m"):
            return gdf.crs
    return gdf.estimate_utm_crs()


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []  # URLs as RemotePath, which answers what is asked of a Path here
    for given in paths:
        p = scene_path(given)  # a URL stays a URL (read through GDAL)
        if isinstance(p, Path) and p.is_dir():
            files = sorted(
                f
                for f in p.iterdir()
                if f.is_file() and (is_raster_file(f) or is_vector_file(f) or is_osm_file(f))
            )
            if not files:
                raise InputError(f"{p}: the folder holds no raster or vector file")
            out += files
        else:
            out.append(p)  # type: ignore[arg-type]
    return out


def _per_scene(lst: list[Path], n: int, what: str, shared_ok: bool = False) -> list[Path | None]:
    if not lst:
        return [None] * n
    out: list[Path | None] = list(lst)
    if len(lst) == n:
        return out
    if shared_ok and len(lst) == 1:
        return out * n
    raise InputError(f"{lst[0]}: {len(lst)} {what} file(s) for {n} scene(s); give one per scene")


def overlay_caption(
    src: Path,
    cfg: EvaluateConfig,
    rho: int,
    grid: SceneGrid | None,
    counts: PixelCounts,
    level: int,
    info: dict,
) -> list[str]:
    """The overlay's caption: this scene's metric values and what they were measured with."""
    gsd = grid.gsd_m() if grid is not None else None
    slack = f"ρ = {rho} px" + (f" ({rho * gsd:.1f} m)" if gsd else "")
    relaxed, strict = counts.relaxed_at(level), counts.strict_at(level)
    lines = [
        f"{src.name}: threshold {cfg.threshold:g}, {slack}",
        f"relaxed precision {_f(relaxed['relaxed_precision'])}, "
        f"recall {_f(relaxed['relaxed_recall'])}; IoU {_f(strict['iou'])}, F1 {_f(strict['f1'])}",
    ]
    m = info.get("scene_metrics")
    if m:
        lines.append(
            f"APLS {_f(m['apls'])}, TOPO F1 {_f(m['topo_f1'])}, buffer quality {_f(m['quality'])}"
        )
    if "excluded_fraction" in info:
        lines.append(
            f"left out as no imagery: {info['excluded_fraction']:.1%} "
            f"({info['excluded_rule']}), shaded"
        )
    return lines


def _f(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"


def _named(info: dict, names: dict[Path, Path | None]) -> dict:
    """The scene's entry with the paths the caller wants named (``report_paths``)."""
    if not names:
        return info
    table = {Path(k): v for k, v in names.items()}
    return {k: (table.get(v, v) if isinstance(v, Path) else v) for k, v in info.items()}


def _nan_mean(values: list[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


@dataclass
class _SceneFiles:
    """The input files of scene ``i`` (``None``: not given for this scene)."""

    index: int
    scene: Path | None
    pred: Path | None
    network: Path | None
    labels: Path
    valid_mask: Path | None


@dataclass
class _Totals:
    """What is pooled over scenes."""

    counts: list[PixelCounts] = field(default_factory=list)
    buffer: np.ndarray = field(default_factory=lambda: np.zeros(4))  # m_ref, ref, m_ext, ext
    graph_rows: list[dict] = field(default_factory=list)
    per_scene: list[dict] = field(default_factory=list)
    # the prediction levels present over all scenes (a binary prediction has no curve)
    levels_seen: np.ndarray = field(default_factory=lambda: np.zeros(256, bool))
    why_not_vector: str | None = None  # why buffer/graph metrics do not apply


def run_evaluation(cfg: EvaluateConfig) -> EvaluationResult:
    """Evaluate and write the requested outputs; returns the report and its ingredients."""
    from roadseg.evaluation.report import write_curve_csv, write_json

    preds, scenes = _scene_files(cfg)
    totals = _Totals()
    level = level_for_threshold(cfg.threshold)
    for files in scenes:
        _evaluate_scene(files, len(scenes), cfg, level, totals)
    report, be, pooled = _report(totals, level, cfg, preds)
    if cfg.json_path is not None:
        write_json(report, cfg.json_path)
    if cfg.curve_csv is not None:
        if be is None:
            raise InputError(f"{cfg.curve_csv}: no pixel metrics, so no precision/recall curve")
        write_curve_csv(be, cfg.curve_csv)
    shown_be = be if "breakeven" not in report["skipped"] else None
    return EvaluationResult(
        report=report, counts=pooled, breakeven=shown_be, per_scene=totals.per_scene
    )


def _scene_files(cfg: EvaluateConfig) -> tuple[list[Path], list[_SceneFiles]]:
    """The prediction files, and the files of each scene (checked before any is read)."""
    preds = _expand(cfg.pred)
    labels = _expand(cfg.labels)
    scenes = _expand(cfg.scene)
    raster_preds = [p for p in preds if is_raster_file(p)]
    vector_preds = [p for p in preds if not is_raster_file(p)]
    for p in vector_preds:
        if not is_vector_file(p):
            raise InputError(f"{p}: not a raster or vector prediction (unknown file type)")
    if not preds:
        raise InputError("no prediction given")
    if not labels:
        raise InputError("no labels given")
    n = max(len(raster_preds), len(vector_preds))
    r_preds = _per_scene(raster_preds, n, "raster prediction")
    v_preds = _per_scene(vector_preds, n, "network prediction")
    lab = _per_scene(labels, n, "label", shared_ok=True)
    scn = _per_scene(scenes, n, "scene")
    vmask = _per_scene(list(cfg.valid_mask), n, "valid-mask")
    if cfg.exclude_nodata and not scenes:
        raise InputError("--exclude-nodata needs the scene imagery (--scene)")
    files = []
    for i in range(n):
        lab_p = lab[i]
        assert lab_p is not None  # labels were given: one per scene, or one shared
        files.append(_SceneFiles(i, scn[i], r_preds[i], v_preds[i], lab_p, vmask[i]))
    return preds, files


def _evaluate_scene(
    f: _SceneFiles, n: int, cfg: EvaluateConfig, level: int, totals: _Totals
) -> None:
    """Read scene ``f``'s inputs, add its pixel counts and vector lengths to ``totals``."""
    info: dict = {
        "pred": f.pred,
        "pred_network": f.network,
        "labels": f.labels,
        "scene": f.scene,
        "valid_mask": f.valid_mask,
    }
    scene_r = _read_raster(f.scene) if f.scene else None
    pred_r = _read_raster(f.pred) if f.pred else None
    label_r = _read_raster(f.labels) if is_raster_file(f.labels) else None
    ref_r = scene_r or label_r or pred_r
    grid = ref_r.grid if ref_r else None
    if grid is not None:
        assert ref_r is not None  # the grid is ref_r's
        info.update(
            crs=grid.crs.to_string() if grid.crs else None,
            gsd_m=grid.gsd_m(),
            shape=list(grid.shape),
        )
        if grid.crs is None:
            log.warning("%s: no CRS; evaluating in pixel coordinates", ref_r.path)
        info["rho_px"] = slack_px(cfg.slack_m, cfg.rho, grid.gsd_m(), ref_r.path)
    rho = info.get("rho_px", PAPER_RHO_PX if cfg.rho is None else cfg.rho)
    label_mask, label_lines = _labels(f, label_r, ref_r, cfg, info)
    pred_lines = _prediction_lines(f, grid, label_lines, info, cfg.report_paths)
    levels = _levels(pred_r, pred_lines, ref_r, cfg)
    valid = _valid_pixels(f, ref_r, scene_r, cfg, info)
    counts = None
    if levels is not None and label_mask is not None:
        counts = relaxed_counts(levels, label_mask, valid, rho)
        totals.counts.append(counts)
        info["valid_pixels"] = counts.valid
        totals.levels_seen |= np.bincount(levels.ravel(), minlength=256) > 0
    totals.why_not_vector = totals.why_not_vector or _why_not_vector(f, label_lines, pred_lines)
    if pred_lines is not None and label_lines is not None:
        _vector_metrics(f, label_lines, pred_lines, cfg, totals, info)
    if cfg.plot_path is not None and levels is not None and label_mask is not None:
        assert counts is not None  # counted above whenever levels and labels exist
        overlay = _Overlay(levels >= level, label_mask, scene_r, valid, rho, counts, level)
        info["overlay"] = _overlay(f, n, overlay, grid, cfg, info)
    info.pop("scene_metrics", None)  # the caption's per-scene values; pooled ones are reported
    totals.per_scene.append(_named(info, cfg.report_paths))


def _why_not_vector(f: _SceneFiles, label_lines: Any, pred_lines: Any) -> str | None:
    """Why buffer/graph metrics do not apply to a scene (``None``: they do)."""
    if label_lines is None:
        return f"the labels ({f.labels.name}) are a raster: they need road lines"
    if pred_lines is None:
        return "no road network (GeoJSON, GPKG) among the predictions"
    return None


def _labels(
    f: _SceneFiles, label_r: _Raster | None, ref_r: _Raster | None, cfg: EvaluateConfig, info: dict
) -> tuple[np.ndarray | None, Any]:
    """The labels of a scene: a mask on the grid and/or lines."""
    grid = ref_r.grid if ref_r else None
    if label_r is not None:
        if grid is not None and label_r is not ref_r:
            assert ref_r is not None  # the grid is ref_r's
            _check_on_grid(label_r, grid, ref_r.path, "the label raster")
        return _label_mask_from_raster(label_r), None
    if grid is not None and grid.crs is None:
        assert ref_r is not None  # the grid is ref_r's
        raise InputError(
            f"{f.labels}: vector labels need a georeferenced grid, and {ref_r.path} has no CRS"
        )
    load_cfg = RoadLoadConfig(
        highways=cfg.highways,
        crs=grid.crs if grid is not None else None,
        clip=grid.footprint() if grid is not None else None,
    )
    label_lines = load_roads(f.labels, load_cfg)
    info["label_lines"] = len(label_lines)
    label_mask = None
    if grid is not None:
        label_mask = rasterize_roads(label_lines, grid, *cfg.label_width())
    return label_mask, label_lines


def _prediction_lines(
    f: _SceneFiles,
    grid: SceneGrid | None,
    label_lines: Any,
    info: dict,
    names: dict[Path, Path | None],
) -> Any:
    """The predicted network's lines in the grid's (else the labels') CRS, or None."""
    if f.network is None:
        return None
    pcfg = RoadLoadConfig(
        highways="all",
        allow_empty=True,
        crs=grid.crs
        if grid is not None and grid.crs is not None
        else (label_lines.crs if label_lines is not None else None),
        clip=grid.footprint() if grid is not None and grid.crs is not None else None,
        name=str(names.get(f.network) or f.network),  # a staged file: its final name
    )
    pred_lines = load_roads(f.network, pcfg)
    info["pred_lines"] = len(pred_lines)
    return pred_lines


def _levels(
    pred_r: _Raster | None, pred_lines: Any, ref_r: _Raster | None, cfg: EvaluateConfig
) -> np.ndarray | None:
    """Prediction levels 0..255 on the grid: the raster prediction, else the rasterised network."""
    grid = ref_r.grid if ref_r else None
    if pred_r is not None:
        # ref_r is the scene, the label raster or pred_r itself, so it and its grid exist
        assert ref_r is not None and grid is not None
        return _prediction_levels(pred_r, grid, ref_r.path, cfg.resample_pred)
    if pred_lines is not None and grid is not None and grid.crs is not None:
        levels = rasterize_roads(pred_lines, grid, *cfg.label_width())
        return levels.astype(np.uint8) * np.uint8(255)
    return None


def _valid_pixels(
    f: _SceneFiles,
    ref_r: _Raster | None,
    scene_r: _Raster | None,
    cfg: EvaluateConfig,
    info: dict,
) -> np.ndarray | None:
    """The pixels that count: the valid mask's non-zero ones, without no-imagery ones if asked."""
    valid = None
    if f.valid_mask is not None:
        if ref_r is None:
            raise InputError(
                f"{f.valid_mask}: a valid mask needs a pixel grid "
                "(a scene, a raster prediction or raster labels)"
            )
        vr = _read_raster(f.valid_mask)
        _check_on_grid(vr, ref_r.grid, ref_r.path, "the valid mask")
        valid = vr.data[0] != 0
    if cfg.exclude_nodata:
        # --exclude-nodata without --scene was refused above
        assert scene_r is not None and f.scene is not None
        nodata = no_imagery(f.scene, scene_r.data)
        info["excluded_fraction"] = nodata.fraction
        info["excluded_rule"] = nodata.rule
        valid = ~nodata.mask if valid is None else valid & ~nodata.mask
    return valid


@dataclass
class _Overlay:
    """What one scene's overlay shows, and the values its caption carries."""

    pred_mask: np.ndarray
    label_mask: np.ndarray
    scene_r: _Raster | None
    valid: np.ndarray | None
    rho: int
    counts: PixelCounts
    level: int


def _overlay(
    f: _SceneFiles, n: int, ov: _Overlay, grid: SceneGrid | None, cfg: EvaluateConfig, info: dict
) -> Path:
    """Write the scene's overlay PNG (one per scene when there are several), captioned with
    the scene's metric values."""
    from roadseg.evaluation.overlay import overlay_path, overlay_rgb, write_overlay

    assert cfg.plot_path is not None
    src = f.scene or f.pred or f.network  # levels come from a raster or network prediction
    assert src is not None
    out = overlay_path(cfg.plot_path, f.index, n, src)
    scene_data = ov.scene_r.data if ov.scene_r else None
    rgb = overlay_rgb(ov.pred_mask, ov.label_mask, scene_data, ov.rho, ov.valid)
    caption = overlay_caption(src, cfg, ov.rho, grid, ov.counts, ov.level, info)
    write_overlay(rgb, out, caption)
    return out


def _vector_metrics(
    f: _SceneFiles,
    label_lines: Any,
    pred_lines: Any,
    cfg: EvaluateConfig,
    totals: _Totals,
    info: dict,
) -> None:
    """Buffer lengths and graph metrics of one scene, in a metric CRS."""
    if label_lines.crs is None:
        raise InputError(f"{f.labels}: labels have no CRS")
    mcrs = _metric_crs(label_lines)
    ref_m = list(label_lines.to_crs(mcrs).geometry)
    ext_m = list(pred_lines.to_crs(mcrs).geometry) if len(pred_lines) else []
    scene_buf = buffer_lengths(ref_m, ext_m, cfg.buffer_m)
    totals.buffer += scene_buf
    totals.graph_rows.append(graph_metrics(ref_m, ext_m, cfg.apls, cfg.topo))
    info["metric_crs"] = mcrs.to_string()
    info["scene_metrics"] = {**totals.graph_rows[-1], **buffer_ratios(scene_buf)}


def _report(
    totals: _Totals, level: int, cfg: EvaluateConfig, preds: list[Path]
) -> tuple[dict, BreakEvenResult | None, PixelCounts | None]:
    """The report of the pooled metrics and the parameters they were computed with."""
    report: dict = {}
    skipped: dict[str, str] = {}
    be = pooled = None
    if totals.counts:
        pooled = pool(totals.counts)
        be = breakeven(pooled)
        relaxed = pooled.relaxed_at(level)
        strict = pooled.strict_at(level)
        sweep = totals.levels_seen.sum() > 2  # a binary prediction has one point, not a curve
        if not sweep:
            skipped["breakeven"] = (
                "the prediction is binary (two levels only): there is no precision/recall "
                "curve to find the break-even point on"
            )
        report["pixel"] = {
            "relaxed_precision": relaxed["relaxed_precision"],
            "relaxed_recall": relaxed["relaxed_recall"],
            "breakeven": be.breakeven if sweep else None,
            "breakeven_threshold": be.breakeven_threshold if sweep else None,
            "iou": strict["iou"],
            "precision": strict["precision"],
            "recall": strict["recall"],
            "f1": strict["f1"],
        }
    if totals.graph_rows:
        report["buffer"] = buffer_ratios(totals.buffer)
        keys = (
            "apls",
            "apls_gt_to_prop",
            "apls_prop_to_gt",
            "topo_precision",
            "topo_recall",
            "topo_f1",
        )
        report["graph"] = {k: _nan_mean([row[k] for row in totals.graph_rows]) for k in keys}
    else:
        skipped["buffer"] = skipped["graph"] = f"no vector metrics: {totals.why_not_vector}"
    if "pixel" not in report:
        skipped["pixel"] = (
            "no pixel grid with both a prediction and labels (pixel metrics need a raster "
            "prediction, or a network prediction with a georeferenced scene)"
        )
    if not totals.graph_rows and not totals.counts:
        raise InputError(
            f"{preds[0]}: no metric applies: pixel metrics need a prediction and labels on a "
            "pixel grid, buffer/graph metrics a network prediction and vector labels"
        )
    report["skipped"] = skipped
    shown_be = be if "breakeven" not in skipped else None
    report["inputs"] = {
        "scenes": totals.per_scene,
        "parameters": _parameters(cfg, level, shown_be),
    }
    return report, be, pooled


def _parameters(cfg: EvaluateConfig, level: int, be: BreakEvenResult | None) -> dict:
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


def evaluate(cfg: EvaluateConfig) -> dict:
    """Evaluate and return the report dict (groups pixel/buffer/graph/inputs)."""
    return run_evaluation(cfg).report
