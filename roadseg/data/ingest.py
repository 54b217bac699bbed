"""Ingest local image/label copies (PNG, TIFF or JPEG; each decoded in full first) into the tile layout.

Massachusetts Roads copies circulate as PNG (images and masks) or as the
original ``.tiff``/``.tif`` files; :func:`ingest_local` pairs them by file stem
and puts them under ``ROOT/<split>/sat|map/`` (see :mod:`roadseg.data.layout`).

Georeferencing:

* a file that carries georeferencing keeps it (it is copied byte for byte);
* without ``georeference`` every file is kept as it is (copied or linked);
* with ``georeference`` an image without georeferencing is rewritten as a
  GeoTIFF with the transform derived from its tile name
  (:func:`roadseg.data.georef.tile_transform`, EPSG:26986, 1 m, north-up) and
  the tag ``georeferencing=derived-from-tile-name``; its label gets the same
  grid. A label without georeferencing whose image has its own gets the
  image's grid (``georeferencing=copied-from-image``). Every file's mode is
  also recorded in ``ROOT/provenance.json``. A tile whose name is off the
  grid (two official train tiles, ``9923....``) is kept as it is with a
  warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from roadseg.atomic import atomic_path
from roadseg.data.checksums import ChecksumStore, Provenance
from roadseg.data.georef import (
    DERIVED,
    MASSACHUSETTS_EPSG,
    RULE_TEXT,
    tile_transform,
)
from roadseg.data.layout import (
    TilePair,
    check_split,
    make_split_dirs,
    tile_files,
)
from roadseg.data.verify import check_decodes
from roadseg.errors import InputError
from roadseg.hashing import file_sha256
from roadseg.raster.suffixes import TILE_SUFFIXES

log = logging.getLogger(__name__)

CopyMode = Literal["copy", "link"]
#: ``georeferencing`` values recorded in provenance.json and GeoTIFF tags.
FROM_FILE = "from-file"
COPIED_FROM_IMAGE = "copied-from-image"
NONE = "none"


@dataclass
class IngestConfig:
    """What :func:`run_ingest` does.

    Attributes:
        src_images: folder of images ``<tile>.png|tif|tiff|jpg|jpeg``.
        src_masks: folder of labels with the same stems (1 band, 0/255).
        root: dataset root to write.
        split: ``train`` | ``valid`` | ``test``.
        georeference: attach the georeferencing derived from the tile name to
            files that have none (written as GeoTIFF); see the module docstring.
        copy_mode: ``copy`` the bytes, or ``link`` (symbolic link to the
            absolute source path; files rewritten as GeoTIFF are always new files).
        tiles: only these tile names (None: all).
        limit: only the first N tiles by name (None: all).
        progress: show a tqdm progress bar.
    """

    src_images: Path
    src_masks: Path
    root: Path
    split: str = "train"
    georeference: bool = False
    copy_mode: CopyMode = "copy"
    tiles: tuple[str, ...] | None = None
    limit: int | None = None
    progress: bool = True


@dataclass
class IngestReport:
    """Outcome of an ingest: the pairs now in the layout and what was done."""

    pairs: list[TilePair] = field(default_factory=list)
    written: int = 0
    skipped: int = 0
    georeferencing: dict[str, int] = field(default_factory=dict)


def ingest_local(
    src_images_dir: str | os.PathLike[str],
    src_masks_dir: str | os.PathLike[str],
    root: str | os.PathLike[str],
    split: str = "train",
    georeference: bool = False,
    copy_mode: CopyMode = "copy",
    *,
    tiles: tuple[str, ...] | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> IngestReport:
    """Ingest local image/mask copies into ``ROOT/<split>/sat|map/``; see :class:`IngestConfig`.

    Reruns skip files already written from the same source (recorded in
    ``checksums.sha256`` and ``provenance.json``).
    """
    return run_ingest(
        IngestConfig(
            src_images=Path(src_images_dir),
            src_masks=Path(src_masks_dir),
            root=Path(root),
            split=split,
            georeference=georeference,
            copy_mode=copy_mode,
            tiles=tiles,
            limit=limit,
            progress=progress,
        )
    )


def run_ingest(cfg: IngestConfig) -> IngestReport:
    """Run an ingest described by ``cfg``; returns an :class:`IngestReport`."""
    from tqdm import tqdm

    check_split(cfg.split)
    if cfg.copy_mode not in ("copy", "link"):
        raise InputError(f"{cfg.copy_mode}: unknown copy mode; expected 'copy' or 'link'")
    pairs = source_pairs(cfg.src_images, cfg.src_masks)
    if cfg.tiles is not None:
        wanted = set(cfg.tiles)
        missing = sorted(wanted - {p.tile for p in pairs})
        if missing:
            raise InputError(f"{cfg.src_images}: tiles not found: {', '.join(missing[:5])}")
        pairs = [p for p in pairs if p.tile in wanted]
    if cfg.limit is not None:
        pairs = pairs[: max(cfg.limit, 0)]
    img_out, lab_out = make_split_dirs(cfg.root, cfg.split)
    store, prov = ChecksumStore(cfg.root), Provenance(cfg.root)
    report = IngestReport()
    for pair in tqdm(pairs, desc=f"ingest {cfg.split}", unit="tile", disable=not cfg.progress):
        done = _ingest_pair(pair, cfg, img_out, lab_out, store, prov)
        report.pairs.append(done.pair)
        report.written += done.written
        report.skipped += 2 - done.written
        report.georeferencing[done.mode] = report.georeferencing.get(done.mode, 0) + 1
        # saved after every tile so that an interrupted run resumes where it stopped
        store.save()
        prov.save()
    log.info(
        "ingested %d tiles into %s (%d files written, %d already there; georeferencing: %s)",
        len(report.pairs),
        Path(cfg.root) / cfg.split,
        report.written,
        report.skipped,
        ", ".join(f"{k}={v}" for k, v in sorted(report.georeferencing.items())),
    )
    return report


def source_pairs(src_images: Path, src_masks: Path) -> list[TilePair]:
    """Pair ``src_images/<tile>.*`` with ``src_masks/<tile>.*``; every file must have a partner."""
    for d in (src_images, src_masks):
        if not Path(d).is_dir():
            raise InputError(f"{d}: no such folder")
    images, masks = tile_files(Path(src_images)), tile_files(Path(src_masks))
    if not images:
        raise InputError(f"{src_images}: no images ({', '.join(TILE_SUFFIXES)})")
    unpaired = sorted(set(images) ^ set(masks))
    if unpaired:
        names = [str(images.get(t) or masks.get(t)) for t in unpaired[:5]]
        raise InputError(
            f"{names[0]}: {len(unpaired)} file(s) without a partner: {', '.join(names)}"
        )
    return [TilePair(t, images[t], masks[t]) for t in sorted(images)]


@dataclass
class RasterHeader:
    width: int
    height: int
    count: int
    dtype: str
    crs: Any
    transform: Any
    tag: str | None = None  # a ``georeferencing`` tag written by roadseg, if any

    @property
    def georeferenced(self) -> bool:
        from affine import Affine

        return self.crs is not None and self.transform != Affine.identity()

    @property
    def mode(self) -> str:
        """How this file is georeferenced, as recorded in provenance.json."""
        if not self.georeferenced:
            return NONE
        return self.tag or FROM_FILE


@contextlib.contextmanager
def _quiet_open(path: Path) -> Iterator[Any]:
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    from roadseg.raster.io import open_raster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            ds = open_raster(path)
        except RasterioIOError as exc:
            raise InputError(f"{path}: not a readable raster ({exc})") from exc
        with ds:
            yield ds


def read_header(path: Path) -> RasterHeader:
    """Size, bands, dtype and georeferencing of a raster (no pixels read)."""
    with _quiet_open(path) as ds:
        return RasterHeader(
            ds.width,
            ds.height,
            ds.count,
            ds.dtypes[0],
            ds.crs,
            ds.transform,
            ds.tags().get("georeferencing"),
        )


@dataclass
class _Done:
    pair: TilePair
    written: int
    mode: str


def _ingest_pair(
    src: TilePair,
    cfg: IngestConfig,
    img_out: Path,
    lab_out: Path,
    store: ChecksumStore,
    prov: Provenance,
) -> _Done:
    img_h, lab_h = read_header(src.image), read_header(src.label)
    if (img_h.width, img_h.height) != (lab_h.width, lab_h.height):
        raise InputError(
            f"{src.label}: label is {lab_h.width}x{lab_h.height} px but its image "
            f"{src.image} is {img_h.width}x{img_h.height} px"
        )
    if lab_h.count != 1:
        raise InputError(f"{src.label}: label has {lab_h.count} bands, expected 1")

    # Decide per file: keep as is, or write a GeoTIFF on a given grid.
    img_grid = lab_grid = None  # (crs, transform, mode) to write, None: keep the file as is
    img_mode, lab_mode = img_h.mode, lab_h.mode
    offset_m = rule_offset(src.tile, img_h)
    if cfg.georeference:
        if img_h.georeferenced:
            if not lab_h.georeferenced:
                lab_grid, lab_mode = (img_h.crs, img_h.transform), COPIED_FROM_IMAGE
        else:
            try:
                t = tile_transform(src.tile)
            except InputError as exc:
                log.warning("%s: kept without georeferencing: %s", src.image, exc)
            else:
                from rasterio.crs import CRS

                crs = CRS.from_epsg(MASSACHUSETTS_EPSG)
                img_grid, img_mode = (crs, t), DERIVED
                if not lab_h.georeferenced:
                    lab_grid, lab_mode = (crs, t), DERIVED
    img_dest = img_out / (src.tile + (".tif" if img_grid else src.image.suffix.lower()))
    lab_dest = lab_out / (src.tile + (".tif" if lab_grid else src.label.suffix.lower()))
    jobs = [
        (s, dest, grid, mode, "geotiff" if grid else cfg.copy_mode)
        for s, dest, grid, mode in (
            (src.image, img_dest, img_grid, img_mode),
            (src.label, lab_dest, lab_grid, lab_mode),
        )
    ]
    if not all(_recorded(s, dest, mode, how, store, prov) for s, dest, _, mode, how in jobs):
        # a truncated file opens fine and fails only when training reads it: decode both
        # in full before either is copied
        check_decodes(src.image)
        check_decodes(src.label)
    written = 0
    for s, dest, grid, mode, how in jobs:
        written += _place(s, dest, grid, mode, how, cfg, store, prov, src.tile, offset_m)
    return _Done(TilePair(src.tile, img_dest, lab_dest), written, img_mode)


def rule_offset(tile: str, h: RasterHeader) -> float | None:
    """Distance (m) between a georeferenced file's corner and the name rule's, if both exist.

    Logged so that the reported rule gets checked whenever an original
    GeoTIFF passes through here.
    """
    if not h.georeferenced or h.mode != FROM_FILE or h.crs.to_epsg() != MASSACHUSETTS_EPSG:
        return None
    try:
        t = tile_transform(tile)
    except InputError:
        return None
    d = float(((h.transform.c - t.c) ** 2 + (h.transform.f - t.f) ** 2) ** 0.5)
    log.info("%s: corner is %.3f m from the tile-name rule's", tile, d)
    return d


def _recorded(src: Path, dest: Path, mode: str, how: str, store: ChecksumStore, prov: Provenance) -> bool:
    """True when ``dest`` was already written from ``src`` the same way (a rerun skips it)."""
    info = prov.files.get(store.key(dest), {})
    return (
        dest.exists()
        and store.get(dest) is not None
        and info.get("source") == str(src.resolve())
        and info.get("georeferencing") == mode
        and info.get("how") == how
    )


def _place(
    src: Path,
    dest: Path,
    grid: tuple[Any, Any] | None,
    mode: str,
    how: str,
    cfg: IngestConfig,
    store: ChecksumStore,
    prov: Provenance,
    tile: str,
    rule_offset: float | None,
) -> int:
    """Write one file into the layout; returns 1 if written, 0 if already there."""
    rel = store.key(dest)
    source = str(src.resolve())
    if _recorded(src, dest, mode, how, store, prov):
        return 0
    # another extension of the same tile (e.g. a .png from an earlier run without
    # --georeference) would make the tile ambiguous for list_pairs
    for other in dest.parent.glob(tile + ".*"):
        if other != dest and other.suffix.lower() in TILE_SUFFIXES:
            log.info("%s: replaced by %s", other, dest.name)
            other.unlink()
            store.discard(other)
            prov.discard(store.key(other))
    if how == "geotiff":
        _write_geotiff(src, dest, grid, mode)
    elif how == "link":
        with atomic_path(dest) as tmp:
            os.symlink(source, tmp)
    else:
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
    store.set(dest, file_sha256(dest))
    prov.set(
        rel,
        source=source,
        how=how,
        georeferencing=mode,
        crs=f"EPSG:{MASSACHUSETTS_EPSG}" if mode == DERIVED else None,
        rule=RULE_TEXT if mode == DERIVED else None,
        rule_offset_m=rule_offset,
    )
    return 1


def _write_geotiff(src: Path, dest: Path, grid: tuple[Any, Any] | None, mode: str) -> None:
    """Rewrite ``src`` as a tiled, deflate-compressed GeoTIFF on ``grid`` (crs, transform)."""
    from roadseg.raster.io import open_raster

    assert grid is not None
    crs, transform = grid
    with _quiet_open(src) as ds:
        data = ds.read()
        profile = {
            "driver": "GTiff",
            "width": ds.width,
            "height": ds.height,
            "count": ds.count,
            "dtype": ds.dtypes[0],
            "crs": crs,
            "transform": transform,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "compress": "deflate",
            "predictor": 2,
            "interleave": "pixel",
        }
        if ds.count == 3 and ds.dtypes[0] == "uint8":
            profile["photometric"] = "RGB"
    tags = {"georeferencing": mode, "source_file": src.name}
    if mode == DERIVED:
        tags["georeferencing_rule"] = RULE_TEXT
    with atomic_path(dest) as tmp, open_raster(tmp, "w", **profile) as out:
        out.write(data)
        out.update_tags(**tags)
