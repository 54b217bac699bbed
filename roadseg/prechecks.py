"""What can be known about a run's inputs before inference, checked before it.

Each check raises :class:`~roadseg.errors.InputError` or
:class:`~roadseg.errors.OutputError` with one line naming the file, and creates
nothing, so a refused run leaves the folders as they were:

* :func:`~roadseg.raster.georef.check_georeferenced` -- a raster without a CRS is refused unless a GSD
  is given (``--gsd METRES``): without one, inference would assume the model's GSD
  and lengths would be in pixels, two different scales in one result;
* :func:`check_labels` -- evaluation labels: a label raster must be on the
  scene's grid (size, CRS, transform); vector/OSM labels must hold a road
  inside the scene's footprint;
* :func:`check_extract` -- all of the above for an ``extract`` run plus its
  folders: ``--keep-intermediates``, ``--summary-json`` and the cache folder
  must be writable or creatable.

Rasters without CRS given a GSD: the pixel grid is taken as a local metric
grid, x = column · gsd and y = row · gsd (origin at the top-left corner, y
downwards, no CRS). Inference resamples with that GSD, lengths and areas use
it, and outputs say so (``georeferencing`` in the network's metadata).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roadseg.errors import InputError
from roadseg.io_guard import check_creatable_dir, check_writable
from roadseg.raster.georef import (
    check_georeferenced,
    raster_crs,
    warn_gsd_ignored,
)
from roadseg.uri import RemotePath, is_remote, scene_path

log = logging.getLogger(__name__)


def check_lonlat_crs(
    raster: str | os.PathLike[str], out: str | os.PathLike[str], formats: Sequence[str] | None
) -> None:
    """Refuse a lon/lat-only output format (GeoJSON, OSM XML) of a raster without CRS."""
    from roadseg.vector.export import export_targets
    from roadseg.vector.formats.common import check_lonlat_crs as refuse

    if raster_crs(raster) is not None:
        return  # georeferenced, or unreadable (reported by the stage that opens it)
    for fmt, target in export_targets(Path(out), list(formats) if formats else None):
        refuse(fmt, None, target, raster)


def check_single_band(path: str | os.PathLike[str], band: int | None) -> None:
    """Refuse a multi-band raster as a probability/mask unless ``band`` picks one."""
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    from roadseg.raster.io import open_raster

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with open_raster(path) as ds:
                count = ds.count
    except (RasterioIOError, OSError):
        return  # reported by the stage that opens it
    if band is not None:
        if not 1 <= band <= count:
            raise InputError(f"{path}: --band {band} does not exist (bands are 1..{count})")
    elif count > 1:
        raise InputError(
            f"{path}: has {count} bands, expected one probability or mask band; "
            "say which with --band N (is this the imagery rather than a probability raster?)"
        )


def check_labels(labels: str | os.PathLike[str], scenes: Sequence[str | os.PathLike[str]]) -> None:
    """Refuse labels that cannot score ``scenes``: a raster on another grid, or vector/OSM
    labels without a road inside the scenes' footprint (their union)."""
    from roadseg.raster.georef import SceneGrid, same_grid
    from roadseg.raster.suffixes import is_raster_file

    labels = scene_path(labels)
    if not labels.exists():
        raise InputError(f"{labels}: labels file not found")
    # remote scenes of a many-scene run are opened on the workers only (checked there)
    local = [s for s in map(scene_path, scenes) if len(scenes) == 1 or not is_remote(s)]
    grids = [SceneGrid.from_raster(s) for s in local if s.is_file()]
    if not grids:
        return
    if is_raster_file(labels):
        if len(grids) > 1:
            return  # one label raster for several scenes: checked per scene by the evaluation
        lab, ref = SceneGrid.from_raster(labels), grids[0]
        if not same_grid(lab, ref):
            raise InputError(
                f"{labels}: the label raster is not on the scene's grid ({_describe(lab)} vs "
                f"{_describe(ref)} of {scenes[0]})"
            )
        return
    _check_vector_labels(labels, grids)


def _describe(grid: Any) -> str:
    crs = grid.crs.to_string() if grid.crs is not None else "no CRS"
    return f"{grid.width}x{grid.height} px, {crs}, origin {grid.transform.c:g},{grid.transform.f:g}"


def _check_vector_labels(labels: Path | RemotePath, grids: list[Any]) -> None:
    from shapely.ops import unary_union

    from roadseg.osm.load import RoadLoadConfig, load_roads

    georef = [g for g in grids if g.crs is not None]
    if not georef:
        return  # vector labels cannot be placed on pixel grids; the evaluation says so
    crs = georef[0].crs
    import geopandas as gpd

    shapes = [gpd.GeoSeries([g.footprint()], crs=g.crs).to_crs(crs).iloc[0] for g in georef]
    area = unary_union(shapes)
    try:
        roads = load_roads(labels, RoadLoadConfig(crs=crs, clip=area, allow_empty=True))
    except InputError:
        raise
    except Exception as exc:  # a reader's own error on a damaged file
        raise InputError(f"{labels}: cannot read the labels ({exc})") from exc
    if len(roads) == 0:
        where = "scene's" if len(georef) == 1 else "scenes'"
        raise InputError(f"{labels}: no road inside the {where} area; wrong file or wrong place?")


def check_extract(scenes: Sequence[Path | RemotePath], out: Path, config: Any) -> None:
    """Everything an ``extract`` run can be refused for before inference (see the module doc)."""
    from roadseg.pipeline.cache import check_cache_dir
    from roadseg.pipeline.extract import CACHE_FOLDER, output_targets

    o = config.output
    gsd = getattr(config.predict, "gsd_m", None)
    if len(scenes) == 1 and scene_path(scenes[0]).is_file() and config.cluster.scheduler:
        # one scene on a cluster: refused here, before any work; without a scheduler
        # extract_scene checks it first thing, and with several scenes a scene without
        # CRS fails alone (checked per scene before its inference)
        check_georeferenced(scenes[0], gsd)
    if len(scenes) == 1 and scene_path(scenes[0]).is_file():
        warn_gsd_ignored(scenes[0], gsd)
        if gsd is not None:  # without one the missing --gsd is the first thing to say
            check_lonlat_crs(scenes[0], out, o.formats)  # lon/lat cannot hold a local grid
    if o.summary_json:
        check_writable(Path(o.summary_json), "--summary-json output")
    if o.quicklook:
        check_writable(Path(o.quicklook), "--quicklook output")
        if len(scenes) != 1 or config.cluster.scheduler:
            raise InputError(f"{o.quicklook}: --quicklook draws one scene; give a single scene")
    if o.keep_intermediates:
        check_creatable_dir(Path(o.keep_intermediates), "--keep-intermediates folder")
    cache = Path(o.cache_dir) if o.cache_dir else out.parent / CACHE_FOLDER
    check_creatable_dir(cache, "cache folder")
    check_cache_dir(cache, [*output_targets(out, o.formats), o.summary_json, o.quicklook])
    if not o.evaluate:
        _warn_unused_evaluation_options(config)
    if o.evaluate:
        check_labels(o.evaluate, [s for s in scenes if scene_path(s).is_file()])


def _warn_unused_evaluation_options(config: Any) -> None:
    """Evaluation options changed without ``--evaluate`` do nothing: say so, once."""
    import dataclasses

    ev = getattr(config, "evaluation", None)
    if ev is None:
        return
    changed = [
        f"--{f.name.replace('_', '-')}"
        for f in dataclasses.fields(ev)
        if getattr(ev, f.name) != f.default
    ]
    if changed:
        log.warning("%s only matter with --evaluate LABELS; ignored", ", ".join(changed))
