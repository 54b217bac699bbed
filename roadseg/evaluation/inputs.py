"""The inputs of an evaluation, scene by scene: rasters on one grid, labels, predictions.

For scene ``i`` (the i-th entry of each list; one label file may serve every
scene): the reference grid (the scene's, else the label raster's, else the
prediction raster's), the labels as a mask on it and/or as lines, the predicted
network's lines (from a file or from memory, reprojected to the grid and clipped
to its footprint), the prediction levels 0..255 on the grid and the pixels that
count. Every check here raises :class:`~roadseg.errors.InputError` with one line
naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.errors import InputError
from roadseg.evaluation.nodata import no_imagery
from roadseg.evaluation.pixel import to_levels
from roadseg.evaluation.slack import PAPER_RHO_PX, slack_px
from roadseg.osm.load import (
    RoadLoadConfig,
    is_osm_file,
    is_vector_file,
    load_roads,
    roads_from_frame,
)
from roadseg.osm.rasterize import rasterize_roads
from roadseg.raster.georef import SceneGrid, same_grid
from roadseg.raster.suffixes import is_raster_file
from roadseg.uri import RemotePath, gdal_name, is_remote, open_error, scene_path

log = logging.getLogger(__name__)


@dataclass
class NetworkInput:
    """A predicted road network held in memory (e.g. the extract job's), so that it is
    scored as it is rather than read back from a file.

    Attributes:
        edges: its edges, a GeoDataFrame of LineStrings with a CRS.
        name: the file the report names for it (e.g. the published network), or None.
    """

    edges: Any
    name: Path | None = None


@dataclass
class Raster:
    """A raster read whole: ``data`` (bands × H × W) on ``grid``."""

    data: np.ndarray
    grid: SceneGrid
    path: Path


def read_raster(path: Path, bbox: Any = None) -> Raster:
    """``path`` read whole, or its window inside ``bbox`` (see
    :func:`roadseg.raster.scene.open_in_bbox`)."""
    import rasterio

    from roadseg.raster.scene import open_in_bbox

    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        with open_in_bbox(gdal_name(path), bbox) as ds:
            data = ds.read()
            grid = SceneGrid(ds.width, ds.height, ds.transform, ds.crs)
    except rasterio.errors.RasterioIOError as exc:
        if is_remote(path):
            raise InputError(open_error(RemotePath(str(path)), exc)) from exc
        raise InputError(f"{path}: cannot read as a raster ({exc})") from exc
    return Raster(data, grid, path)


def _grid_text(g: SceneGrid) -> str:
    crs = g.crs.to_string() if g.crs is not None else "no CRS"
    return f"{g.width}x{g.height}, {crs}, origin ({g.transform.c:.6f}, {g.transform.f:.6f})"


def check_on_grid(r: Raster, ref: SceneGrid, ref_path: Path, what: str) -> None:
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


def _prediction_levels(r: Raster, ref: SceneGrid, ref_path: Path, resample: bool) -> np.ndarray:
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
        check_on_grid(r, ref, ref_path, "the prediction")
        return levels
    if not resample or r.grid.crs is None or ref.crs is None:
        check_on_grid(r, ref, ref_path, "the prediction")  # raises
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


def _label_mask_from_raster(r: Raster) -> np.ndarray:
    band = r.data[0]
    if band.size == 0:
        return np.zeros(band.shape, bool)
    # {0,1} masks: > 0; {0,255} masks (maybe with resampling noise): >= 128
    return band > 0 if band.max() <= 1 else band >= 128


def expand(paths: list[Path]) -> list[Path]:
    """The files given, a folder standing for the raster and vector files it holds."""
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


def _per_scene(lst: list[Any], n: int, what: str, shared_ok: bool = False) -> list[Any]:
    if not lst:
        return [None] * n
    out: list[Any] = list(lst)
    if len(lst) == n:
        return out
    if shared_ok and len(lst) == 1:
        return out * n
    first = lst[0].name if isinstance(lst[0], NetworkInput) else lst[0]
    raise InputError(f"{first}: {len(lst)} {what} file(s) for {n} scene(s); give one per scene")


@dataclass
class SceneFiles:
    """The inputs of scene ``index`` (``None``: not given for this scene)."""

    index: int
    scene: Path | None
    pred: Path | None
    network: Path | NetworkInput | None
    labels: Path
    valid_mask: Path | None

    @property
    def network_name(self) -> Path | None:
        """The predicted network's file as the report names it."""
        return self.network.name if isinstance(self.network, NetworkInput) else self.network


def scene_files(
    cfg: Any, networks: list[NetworkInput] | None = None
) -> tuple[list[Path], list[SceneFiles]]:
    """The prediction files, and the inputs of each scene (checked before any is read).

    ``networks``: predicted networks in memory, one per scene or one for every scene
    (each scene scores the part inside its footprint), instead of network files.
    """
    preds = expand(cfg.pred)
    labels = expand(cfg.labels)
    scenes = expand(cfg.scene)
    raster_preds = [p for p in preds if is_raster_file(p)]
    vector_preds: list[Any] = [p for p in preds if not is_raster_file(p)]
    for p in vector_preds:
        if not (is_vector_file(p) or is_osm_file(p)):  # an .osm network (roadseg's) too
            raise InputError(f"{p}: not a raster or vector prediction (unknown file type)")
    if networks and vector_preds:
        raise InputError(f"{vector_preds[0]}: give networks as files or in memory, not both")
    if not preds and not networks:
        raise InputError("no prediction given")
    if not labels:
        raise InputError("no labels given")
    n = max(len(raster_preds), len(vector_preds), len(scenes) if networks else 0, 1)
    r_preds = _per_scene(raster_preds, n, "raster prediction")
    v_preds = _per_scene(list(networks or vector_preds), n, "network prediction", bool(networks))
    lab = _per_scene(labels, n, "label", shared_ok=True)
    scn = _per_scene(scenes, n, "scene")
    vmask = _per_scene(list(cfg.valid_mask), n, "valid-mask")
    if cfg.exclude_nodata and not scenes:
        raise InputError("--exclude-nodata needs the scene imagery (--scene)")
    files = [SceneFiles(i, scn[i], r_preds[i], v_preds[i], lab[i], vmask[i]) for i in range(n)]
    named = preds + [p for p in (f.network_name for f in files[:1]) if p is not None]
    return named, files


@dataclass
class SceneInputs:
    """What one scene is scored from, read (each raster once)."""

    files: SceneFiles
    scene: Raster | None
    ref: Raster | None  # the reference grid's raster: the scene, the label raster or the prediction
    label_mask: np.ndarray | None
    label_lines: Any
    pred_lines: Any
    levels: np.ndarray | None
    valid: np.ndarray | None
    rho: int

    @property
    def grid(self) -> SceneGrid | None:
        return self.ref.grid if self.ref is not None else None


def read_scene(f: SceneFiles, cfg: Any, info: dict) -> SceneInputs:
    """Read scene ``f``'s inputs onto its reference grid; notes what it found in ``info``."""
    scene_r = read_raster(f.scene, cfg.bbox) if f.scene else None
    pred_r = read_raster(f.pred, cfg.bbox) if f.pred else None
    label_r = read_raster(f.labels, cfg.bbox) if is_raster_file(f.labels) else None
    ref_r = scene_r or label_r or pred_r
    grid = ref_r.grid if ref_r else None
    rho = PAPER_RHO_PX if cfg.rho is None else cfg.rho
    if grid is not None:
        assert ref_r is not None  # the grid is ref_r's
        info.update(
            crs=grid.crs.to_string() if grid.crs else None,
            gsd_m=grid.gsd_m(),
            shape=list(grid.shape),
        )
        if grid.crs is None:
            log.warning("%s: no CRS; evaluating in pixel coordinates", ref_r.path)
        rho = info["rho_px"] = slack_px(cfg.slack_m, cfg.rho, grid.gsd_m(), ref_r.path)
    label_mask, label_lines = _labels(f, label_r, ref_r, cfg, info)
    pred_lines = _prediction_lines(f, grid, label_lines, info, cfg.report_paths)
    levels = _levels(pred_r, pred_lines, ref_r, cfg)
    valid = _valid_pixels(f, ref_r, scene_r, cfg, info)
    return SceneInputs(f, scene_r, ref_r, label_mask, label_lines, pred_lines, levels, valid, rho)


def _labels(
    f: SceneFiles, label_r: Raster | None, ref_r: Raster | None, cfg: Any, info: dict
) -> tuple[np.ndarray | None, Any]:
    """The labels of a scene: a mask on the grid and/or lines."""
    grid = ref_r.grid if ref_r else None
    if label_r is not None:
        if grid is not None and label_r is not ref_r:
            assert ref_r is not None  # the grid is ref_r's
            check_on_grid(label_r, grid, ref_r.path, "the label raster")
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
    f: SceneFiles,
    grid: SceneGrid | None,
    label_lines: Any,
    info: dict,
    names: dict[Path, Path | None],
) -> Any:
    """The predicted network's lines in the grid's (else the labels') CRS, or None."""
    if f.network is None:
        return None
    shown = f.network_name
    pcfg = RoadLoadConfig(
        highways="all",
        allow_empty=True,
        crs=grid.crs
        if grid is not None and grid.crs is not None
        else (label_lines.crs if label_lines is not None else None),
        clip=grid.footprint() if grid is not None and grid.crs is not None else None,
        # a staged file: its final name
        name=str(names.get(shown) or shown) if shown is not None else "the network",
    )
    if isinstance(f.network, NetworkInput):
        pred_lines = roads_from_frame(f.network.edges, pcfg)
    else:
        pred_lines = load_roads(f.network, pcfg)
    info["pred_lines"] = len(pred_lines)
    return pred_lines


def _levels(
    pred_r: Raster | None, pred_lines: Any, ref_r: Raster | None, cfg: Any
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
    f: SceneFiles, ref_r: Raster | None, scene_r: Raster | None, cfg: Any, info: dict
) -> np.ndarray | None:
    """The pixels that count: the valid mask's non-zero ones, without no-imagery ones if asked."""
    valid = None
    if f.valid_mask is not None:
        if ref_r is None:
            raise InputError(
                f"{f.valid_mask}: a valid mask needs a pixel grid "
                "(a scene, a raster prediction or raster labels)"
            )
        vr = read_raster(f.valid_mask, cfg.bbox)
        check_on_grid(vr, ref_r.grid, ref_r.path, "the valid mask")
        valid = vr.data[0] != 0
    if cfg.exclude_nodata:
        # --exclude-nodata without --scene was refused above
        assert scene_r is not None and f.scene is not None
        nodata = no_imagery(f.scene, scene_r.data)
        info["excluded_fraction"] = nodata.fraction
        info["excluded_rule"] = nodata.rule
        valid = ~nodata.mask if valid is None else valid & ~nodata.mask
    return valid


def metric_crs(gdf: Any) -> Any:
    """A metric CRS for vector metrics: the data's own if projected in metres, else local UTM."""
    if gdf.crs is not None and gdf.crs.is_projected:
        unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else "metre"
        if unit in ("metre", "meter", "m"):
            return gdf.crs
    return gdf.estimate_utm_crs()
