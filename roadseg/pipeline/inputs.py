"""Which scenes to process: files, folders and VRT mosaics expanded to a list.

* a raster file is one scene;
* a folder stands for the rasters directly inside it (``*.tif``, ``*.tiff``,
  ``*.vrt``, ``*.jp2``, ``*.img``), sorted by name;
* a VRT mosaic (``.vrt``) given among several inputs, or with ``expand_vrt``,
  stands for its source rasters, so each tile of the mosaic becomes a scene of
  its own (the per-scene work then runs in parallel and the networks are
  merged across the tile borders).

Duplicates (the same file reached twice) are dropped, keeping the first.
Missing paths are not dropped here: they are reported per scene later, so one
bad path does not stop the others.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from roadseg.errors import InputError
from roadseg.raster.suffixes import SCENE_SUFFIXES
from roadseg.uri import RemotePath, gdal_name, scene_path

log = logging.getLogger(__name__)


def vrt_sources(vrt: str | os.PathLike[str]) -> list[Path | RemotePath]:
    """The source rasters a VRT mosaic reads, in the VRT's order (URLs kept as URLs)."""
    from rasterio.errors import RasterioIOError

    from roadseg.raster.io import open_raster

    vrt = scene_path(vrt)
    try:
        with open_raster(gdal_name(vrt)) as ds:
            files = [scene_path(f) for f in ds.files]
    except RasterioIOError as exc:
        raise InputError(f"{vrt}: not a readable VRT ({exc})") from exc
    sources = [f for f in files if f.resolve() != vrt.resolve()]
    if not sources:
        raise InputError(f"{vrt}: the VRT lists no source rasters")
    return sources


def expand_scenes(
    inputs: Iterable[str | os.PathLike[str]], expand_vrt: bool | None = None
) -> list[Path | RemotePath]:
    """Expand files, folders and VRT mosaics into the list of scenes to process.

    Args:
        inputs: paths as given by the user.
        expand_vrt: replace each VRT by its sources; ``None`` means "when there is
            more than one input or the input is a folder", i.e. a single VRT given
            alone is processed as one scene unless asked otherwise.
    """
    given = [scene_path(p) for p in inputs]  # URLs stay URLs (opened later, per scene)
    if not given:
        raise InputError("no input scenes given")
    out: list[Path | RemotePath] = []
    for path in given:
        if isinstance(path, Path) and path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SCENE_SUFFIXES)
            if not found:
                raise InputError(f"{path}: folder holds no rasters ({', '.join(SCENE_SUFFIXES)})")
            out.extend(found)
        else:
            out.append(path)
    expand = expand_vrt if expand_vrt is not None else len(out) > 1 or given[0].is_dir()
    if expand_vrt is None and len(given) == 1 and given[0].suffix.lower() == ".vrt":
        expand = False
    scenes: list[Path | RemotePath] = []
    for path in out:
        if expand and path.suffix.lower() == ".vrt" and path.is_file():
            scenes.extend(vrt_sources(path))
        else:
            scenes.append(path)
    seen: set[str] = set()
    unique = []
    for s in scenes:
        key = os.fspath(s.resolve()) if s.exists() else str(s)
        if key in seen:
            log.warning("%s: given twice; processed once", s)
            continue
        seen.add(key)
        unique.append(s)
    return unique


def outside_bbox(scenes: Sequence[str], bbox: Sequence[float] | str | None) -> list[int]:
    """The indices of the georeferenced ``scenes`` that do not overlap ``bbox`` (WGS 84
    W,S,E,N, as :func:`roadseg.raster.scene.parse_bbox` reads it;
    :func:`roadseg.raster.scene.bbox_window`): a many-scene run skips them before any work.
    A scene that cannot be opened, or has no CRS, is left to its own stage, which says
    what is wrong with it in one line."""
    from roadseg.raster.io import open_raster
    from roadseg.raster.scene import bbox_window, parse_bbox

    try:
        box = parse_bbox(bbox)
    except ValueError:  # each scene's stage refuses it in one line
        return []
    if box is None:
        return []
    out = []
    for i, s in enumerate(scenes):
        try:
            with open_raster(scene_path(s)) as ds:
                if ds.crs is not None and bbox_window(ds, box) is None:
                    out.append(i)
        except Exception as exc:  # noqa: BLE001 - the scene's stage reports it
            log.debug("%s: not checked against --bbox (%s)", s, exc)
    return out
