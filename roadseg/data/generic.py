"""A dataset from any GeoTIFF scenes and road vectors (OSM or other), in the tile layout.

For each scene: its road lines (``.osm.pbf``/``.osm``, GeoJSON, GeoPackage,
Shapefile, GeoParquet; :func:`roadseg.osm.load_roads`) are reprojected to the
scene's CRS, clipped to its footprint and burnt onto its pixel grid with the
evaluation stage's rasteriser (:func:`roadseg.osm.rasterize_roads`: pixels whose
centre lies within ``width_m / 2`` of a centreline). The result goes to the
layout the trainer reads (:mod:`roadseg.data.layout`)::

    ROOT/<split>/sat/<name>.tif    the scene (copied, linked, or a window of it)
    ROOT/<split>/map/<name>.tif    uint8 label, 0 = background, 255 = road, same grid

With ``tile_px`` a scene is cut into ``tile_px``-square windows named
``<scene>_r<row0>_c<col0>`` (the last row/column of windows is pulled back
inside the scene, so every window is full size and windows may overlap),
which keeps memory bounded for large scenes.

Roads files: one file for every scene (e.g. an OSM extract of the whole area),
or one per scene, paired in the order given.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.data.checksums import ChecksumStore, Provenance
from roadseg.data.ingest import CopyMode
from roadseg.data.layout import TilePair, check_split, make_split_dirs
from roadseg.data.verify import check_decodes
from roadseg.errors import InputError
from roadseg.evaluation.slack import DEFAULT_LABEL_WIDTH_M
from roadseg.hashing import file_sha256

log = logging.getLogger(__name__)

#: Default label width in metres: the evaluation's (the Massachusetts labels' 7 px at 1 m/px).
DEFAULT_WIDTH_M = DEFAULT_LABEL_WIDTH_M


@dataclass
class GenericConfig:
    """What :func:`prepare_generic` does.

    Attributes:
        scenes: GeoTIFF scenes (must be georeferenced).
        roads: one roads file for all scenes, or one per scene (same order).
        root: dataset root to write.
        split: ``train`` | ``valid`` | ``test``.
        highways: OSM class filter (preset ``massachusetts`` | ``all`` | comma list);
            None: the loader's default (``massachusetts`` when the data has a
            ``highway`` attribute, else every line).
        width_m: label width in metres (road centreline buffered by width/2).
        tile_px: cut scenes into square windows of this many pixels (None: whole scenes).
        copy_mode: whole GeoTIFF scenes are ``copy``-ed or ``link``-ed (symbolic
            link); windows and non-TIFF scenes are always written as new GeoTIFFs.
        allow_empty: write all-background labels for scenes with no road
            (else :class:`InputError`, usually a sign of mismatched files).
        progress: show a tqdm progress bar.
    """

    scenes: Sequence[Path]
    roads: Sequence[Path]
    root: Path
    split: str = "train"
    highways: str | None = None
    width_m: float = DEFAULT_WIDTH_M
    tile_px: int | None = None
    copy_mode: CopyMode = "copy"
    allow_empty: bool = True
    progress: bool = True


@dataclass
class GenericReport:
    """Pairs now in the layout, and road pixel fraction per written label."""

    pairs: list[TilePair] = field(default_factory=list)
    road_fraction: dict[str, float] = field(default_factory=dict)
    skipped: int = 0


def prepare_generic(cfg: GenericConfig) -> GenericReport:
    """Rasterise road vectors onto each scene's grid and write image/label pairs (see module doc)."""
    from tqdm import tqdm

    check_split(cfg.split)
    scenes, roads = [Path(s) for s in cfg.scenes], [Path(r) for r in cfg.roads]
    if not scenes:
        raise InputError("no scenes given")
    if len(roads) not in (1, len(scenes)):
        raise InputError(
            f"{roads[0] if roads else '--roads'}: give one roads file for all scenes or one per "
            f"scene ({len(scenes)} scenes, {len(roads)} roads files)"
        )
    if cfg.width_m <= 0:
        raise InputError(f"width_m={cfg.width_m}: the label width must be positive")
    if cfg.tile_px is not None and cfg.tile_px < 8:
        raise InputError(f"tile_px={cfg.tile_px}: windows must be at least 8 px")
    if cfg.copy_mode not in ("copy", "link"):
        raise InputError(f"{cfg.copy_mode}: unknown copy mode; expected 'copy' or 'link'")
    stems = [s.stem for s in scenes]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise InputError(f"{scenes[stems.index(dupes[0])]}: two scenes share the name {dupes[0]}")
    img_out, lab_out = make_split_dirs(cfg.root, cfg.split)
    store, prov = ChecksumStore(cfg.root), Provenance(cfg.root)
    report = GenericReport()
    pairs = list(zip(scenes, roads if len(roads) == len(scenes) else roads * len(scenes)))
    for scene, road_file in tqdm(
        pairs, desc=f"rasterise {cfg.split}", unit="scene", disable=not cfg.progress
    ):
        _one_scene(scene, road_file, cfg, img_out, lab_out, store, prov, report)
        store.save()
        prov.save()
    log.info(
        "%s: %d image/label pairs (%d already there)",
        Path(cfg.root) / cfg.split,
        len(report.pairs),
        report.skipped,
    )
    return report


def _params(cfg: GenericConfig, road_file: Path) -> dict[str, Any]:
    return {
        "roads": str(road_file.resolve()),
        "highways": cfg.highways,
        "width_m": cfg.width_m,
        "tile_px": cfg.tile_px,
        "rasteriser": "roadseg.osm.rasterize_roads",
    }


def _one_scene(
    scene: Path,
    road_file: Path,
    cfg: GenericConfig,
    img_out: Path,
    lab_out: Path,
    store: ChecksumStore,
    prov: Provenance,
    report: GenericReport,
) -> None:
    import numpy as np

    from roadseg.osm import RoadLoadConfig, SceneGrid, load_roads, rasterize_roads

    if not scene.exists():
        raise InputError(f"{scene}: file not found")
    grid = SceneGrid.from_raster(scene)
    if grid.crs is None:
        raise InputError(f"{scene}: the scene has no CRS, so road vectors cannot be placed on it")
    params = _params(cfg, road_file)
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    windows = _windows(grid.width, grid.height, cfg.tile_px)
    names = [scene.stem if w is None else f"{scene.stem}_r{w[0]}_c{w[1]}" for w in windows]
    exts = [
        scene.suffix.lower() if w is None and scene.suffix.lower() in (".tif", ".tiff") else ".tif"
        for w in windows
    ]
    # resume: every output of this scene already written from the same inputs and parameters
    if all(
        _done(img_out / (n + e), store, prov, scene, key)
        and _done(lab_out / (n + ".tif"), store, prov, scene, key)
        for n, e in zip(names, exts)
    ):
        report.skipped += len(names)
        report.pairs.extend(
            TilePair(n, img_out / (n + e), lab_out / (n + ".tif")) for n, e in zip(names, exts)
        )
        return
    check_decodes(scene)  # a truncated scene opens fine and would fail only in training
    try:
        lines = load_roads(
            road_file, RoadLoadConfig(highways=cfg.highways, crs=grid.crs, clip=grid.footprint())
        )
    except InputError as exc:
        # the loader's message for a scene outside the roads' extent; other errors propagate
        if not cfg.allow_empty or "no road overlaps" not in str(exc):
            raise
        log.warning("%s: %s; writing an all-background label", scene, exc)
        lines = []
    try:
        mask = rasterize_roads(lines, grid, width_px=None, width_m=cfg.width_m)
    except ValueError as exc:
        raise InputError(f"{scene}: cannot rasterise roads on this grid ({exc})") from exc
    if not mask.any():
        msg = f"{scene}: no road pixel on this scene from {road_file}"
        if not cfg.allow_empty:
            raise InputError(msg)
        log.warning("%s; the label is all background", msg)
    label = mask.astype(np.uint8) * 255
    _remove_stale(
        scene,
        {img_out / (n + e) for n, e in zip(names, exts)} | {lab_out / (n + ".tif") for n in names},
        store,
        prov,
    )
    for win, name, ext in zip(windows, names, exts):
        img_dest, lab_dest = img_out / (name + ext), lab_out / (name + ".tif")
        info = {"source": str(scene.resolve()), "params_key": key, **params}
        if win is None:
            if ext == scene.suffix.lower():
                _copy_or_link(scene, img_dest, cfg.copy_mode)
                info["how"] = cfg.copy_mode
            else:
                _write_window(scene, img_dest, None)
                info["how"] = "geotiff"
            lab = label
        else:
            r0, c0, h, w = win
            _write_window(scene, img_dest, win)
            info["how"] = "window"
            info["window"] = {"row_off": r0, "col_off": c0, "height": h, "width": w}
            lab = label[r0 : r0 + h, c0 : c0 + w]
        _write_label(lab, scene, lab_dest, win, road_file, cfg)
        for dest in (img_dest, lab_dest):
            store.set(dest, file_sha256(dest))
            prov.set(store.key(dest), **info, georeferencing="from-file")
        report.pairs.append(TilePair(name, img_dest, lab_dest))
        report.road_fraction[name] = float((lab > 0).mean())


def _remove_stale(scene: Path, keep: set[Path], store: ChecksumStore, prov: Provenance) -> None:
    """Remove earlier outputs of ``scene`` (e.g. with another ``tile_px``) not in ``keep``.

    Otherwise a re-run with other windows would leave overlapping tiles of the
    same scene in the split.
    """
    source = str(scene.resolve())
    keep_keys = {store.key(p) for p in keep}
    split = next(iter(keep_keys)).split("/")[0]
    for rel, info in list(prov.files.items()):
        if info.get("source") != source or rel in keep_keys:
            continue
        if rel.split("/")[0] != split:
            log.warning(
                "%s is also in split %s (%s): tiles of one scene in two splits leak",
                scene,
                rel.split("/")[0],
                rel,
            )
        else:
            path = store.root / rel
            log.info("%s: removed (an earlier output of %s)", path, scene)
            path.unlink(missing_ok=True)
            store.discard(rel)
            prov.discard(rel)


def _done(dest: Path, store: ChecksumStore, prov: Provenance, scene: Path, key: str) -> bool:
    info = prov.files.get(store.key(dest), {})
    return (
        dest.exists()
        and store.get(dest) is not None
        and info.get("source") == str(scene.resolve())
        and info.get("params_key") == key
    )


def _windows(
    width: int, height: int, tile_px: int | None
) -> list[tuple[int, int, int, int] | None]:
    """``(row_off, col_off, h, w)`` windows covering the scene, or ``[None]`` for the whole scene.

    Steps of ``tile_px``; the last row/column is pulled back inside the scene so
    that every window is ``tile_px`` square (a scene smaller than ``tile_px``
    along an axis gives one window of the scene's size on that axis).
    """
    if tile_px is None:
        return [None]

    def starts(n: int) -> list[int]:
        if n <= tile_px:
            return [0]
        s = list(range(0, n - tile_px, tile_px))
        return s + [n - tile_px]

    return [
        (r, c, min(tile_px, height), min(tile_px, width))
        for r in starts(height)
        for c in starts(width)
    ]


def _copy_or_link(src: Path, dest: Path, mode: str) -> None:
    with atomic_path(dest) as tmp:
        if mode == "link":
            os.symlink(src.resolve(), tmp)
        else:
            shutil.copyfile(src, tmp)


def _profile(
    ds: Any, width: int, height: int, transform: Any, count: int, dtype: str
) -> dict[str, Any]:
    block = 256 if min(width, height) >= 256 else None
    p: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype,
        "crs": ds.crs,
        "transform": transform,
        "compress": "deflate",
    }
    if block:
        p.update(tiled=True, blockxsize=block, blockysize=block)
    return p


def _write_window(scene: Path, dest: Path, win: tuple[int, int, int, int] | None) -> None:
    """Write the scene (or a window of it) as a GeoTIFF keeping CRS, bands, dtype and nodata."""
    from rasterio.windows import Window

    from roadseg.raster.io import open_raster

    with open_raster(scene) as ds:
        window = None if win is None else Window(win[1], win[0], win[3], win[2])
        data = ds.read(window=window)
        transform = ds.transform if window is None else ds.window_transform(window)
        profile = _profile(ds, data.shape[2], data.shape[1], transform, ds.count, ds.dtypes[0])
        if ds.nodata is not None:
            profile["nodata"] = ds.nodata
        tags = ds.tags()
    with atomic_path(dest) as tmp, open_raster(tmp, "w", **profile) as out:
        out.write(data)
        out.update_tags(**tags, source_file=scene.name)


def _write_label(
    label: Any,
    scene: Path,
    dest: Path,
    win: tuple[int, int, int, int] | None,
    road_file: Path,
    cfg: GenericConfig,
) -> None:
    from rasterio.windows import Window

    from roadseg.raster.io import open_raster

    with open_raster(scene) as ds:
        transform = (
            ds.transform
            if win is None
            else ds.window_transform(Window(win[1], win[0], win[3], win[2]))
        )
        profile = _profile(ds, label.shape[1], label.shape[0], transform, 1, "uint8")
    with atomic_path(dest) as tmp, open_raster(tmp, "w", **profile) as out:
        out.write(label[None])
        out.update_tags(
            label="road centrelines buffered by width_m/2; 0 = background, 255 = road",
            roads_file=road_file.name,
            width_m=str(cfg.width_m),
            highways=str(cfg.highways),
            rasteriser="roadseg.osm.rasterize_roads",
            source_file=scene.name,
        )
