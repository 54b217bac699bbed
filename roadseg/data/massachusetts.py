"""Prepare Massachusetts Roads (Mnih 2013) in the tile layout: download or ingest local copies.

Two sources, one result (``ROOT/<split>/sat|map/<tile>.<ext>``, see
:mod:`roadseg.data.layout`):

* **download** (default): every image and label URL of the manifest rows in
  the chosen splits, with resume, retries and sha256 recording/verification
  (:mod:`roadseg.data.download`). The files are kept byte for byte as served
  (``.tiff`` images, ``.tif`` labels).
* **local copies** (``from_local=(images_dir, masks_dir)``): PNG, TIFF or JPEG pairs
  named ``<tile>.<ext>``; each tile goes to its official split as listed in
  the manifest (:func:`roadseg.data.ingest.run_ingest`). Tiles the manifest
  does not list are skipped with a warning.

Georeferencing (``georeference=True``): files that carry their own keep it.
Local copies without it are rewritten as GeoTIFFs with the transform derived
from the tile name. Downloaded files are never rewritten (their sha256 must
keep matching): a GDAL side-car ``<file>.aux.xml`` attaches the derived
transform, which GDAL/rasterio read as the file's georeferencing, with the
metadata item ``georeferencing=derived-from-tile-name``. A label without
georeferencing whose image has its own gets the image's grid
(``copied-from-image``). Every file's mode is recorded in ``ROOT/provenance.json``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from roadseg.atomic import atomic_path
from roadseg.data.checksums import Provenance, relative_key
from roadseg.data.download import DownloadConfig, DownloadJob, DownloadResult, download_many
from roadseg.data.georef import DERIVED, RULE_TEXT, pam_sidecar_xml, pam_xml
from roadseg.data.ingest import (
    COPIED_FROM_IMAGE,
    CopyMode,
    IngestConfig,
    IngestReport,
    read_header,
    rule_offset,
    run_ingest,
    source_pairs,
)
from roadseg.data.layout import SPLITS, check_split, image_dir, label_dir
from roadseg.data.manifest import ManifestRow, default_manifest_path, read_manifest
from roadseg.errors import InputError
from roadseg.raster.suffixes import TILE_SUFFIXES

log = logging.getLogger(__name__)


@dataclass
class PrepareConfig:
    """What :func:`prepare_massachusetts` does.

    Attributes:
        root: dataset root to fill.
        manifest: manifest CSV (default ``data_manifests/massachusetts_roads.csv``).
        splits: splits to prepare.
        from_local: ``(images_dir, masks_dir)`` of local copies to ingest instead of downloading.
        georeference: attach georeferencing derived from tile names where a file has none.
        copy_mode: for local copies: ``copy`` or ``link`` (symbolic links).
        limit: at most this many tiles per split (first by name); None: all.
        download: download behaviour (retries, timeouts, progress).
    """

    root: Path
    manifest: Path | None = None
    splits: tuple[str, ...] = SPLITS
    from_local: tuple[Path, Path] | None = None
    georeference: bool = False
    copy_mode: CopyMode = "copy"
    limit: int | None = None
    download: DownloadConfig = field(default_factory=DownloadConfig)


@dataclass
class PrepareReport:
    """Tiles prepared per split, and the per-file results of downloads or ingests."""

    tiles: dict[str, int] = field(default_factory=dict)
    downloads: list[DownloadResult] = field(default_factory=list)
    ingests: dict[str, IngestReport] = field(default_factory=dict)


def prepare_massachusetts(cfg: PrepareConfig) -> PrepareReport:
    """Download (or ingest local copies of) the manifest's tiles into ``cfg.root``."""
    for s in cfg.splits:
        check_split(s)
    manifest = Path(cfg.manifest) if cfg.manifest else default_manifest_path()
    rows = read_manifest(manifest)
    Path(cfg.root).mkdir(parents=True, exist_ok=True)
    if cfg.from_local is not None:
        return _from_local(rows, manifest, cfg)
    chosen = select_rows(rows, cfg.splits, cfg.limit)
    jobs: list[DownloadJob] = []
    for r in chosen:
        jobs.append(
            DownloadJob(
                r.image_url,
                image_dir(cfg.root, r.split) / (r.tile + _ext(r.image_url)),
                r.image_sha256,
            )
        )
        jobs.append(
            DownloadJob(
                r.label_url,
                label_dir(cfg.root, r.split) / (r.tile + _ext(r.label_url)),
                r.label_sha256,
            )
        )
    results = download_many(jobs, cfg.root, cfg.download)
    _record_downloads(chosen, jobs, cfg)
    report = PrepareReport(downloads=results)
    for r in chosen:
        report.tiles[r.split] = report.tiles.get(r.split, 0) + 1
    n_new = sum(r.status == "downloaded" for r in results)
    log.info(
        "%s: %d files downloaded, %d already present; tiles per split: %s",
        cfg.root,
        n_new,
        len(results) - n_new,
        report.tiles,
    )
    return report


def select_rows(
    rows: list[ManifestRow], splits: tuple[str, ...], limit: int | None
) -> list[ManifestRow]:
    """Rows of the given splits, at most ``limit`` per split (first by tile name)."""
    out: list[ManifestRow] = []
    for s in splits:
        in_split = sorted((r for r in rows if r.split == s), key=lambda r: r.tile)
        out.extend(in_split if limit is None else in_split[: max(limit, 0)])
    return out


def _ext(url: str) -> str:
    suffix = PurePosixPath(unquote(urlparse(url).path)).suffix.lower()
    if suffix not in TILE_SUFFIXES:
        raise InputError(f"{url}: URL does not end in one of {', '.join(TILE_SUFFIXES)}")
    return suffix


def _from_local(rows: list[ManifestRow], manifest: Path, cfg: PrepareConfig) -> PrepareReport:
    assert cfg.from_local is not None
    images, masks = (Path(p) for p in cfg.from_local)
    split_of = {r.tile: r.split for r in rows}
    by_split: dict[str, list[str]] = defaultdict(list)
    unknown = []
    for pair in source_pairs(images, masks):
        if pair.tile in split_of:
            by_split[split_of[pair.tile]].append(pair.tile)
        else:
            unknown.append(pair.tile)
    if unknown:
        log.warning(
            "%s: %d tile(s) not in %s, skipped: %s",
            images,
            len(unknown),
            manifest,
            ", ".join(unknown[:5]),
        )
    report = PrepareReport()
    for s in cfg.splits:
        tiles = by_split.get(s, [])
        if not tiles:
            continue
        rep = run_ingest(
            IngestConfig(
                src_images=images,
                src_masks=masks,
                root=Path(cfg.root),
                split=s,
                georeference=cfg.georeference,
                copy_mode=cfg.copy_mode,
                tiles=tuple(tiles),
                limit=cfg.limit,
                progress=cfg.download.progress,
            )
        )
        report.ingests[s] = rep
        report.tiles[s] = len(rep.pairs)
    if not report.tiles:
        raise InputError(f"{images}: no tile of split(s) {', '.join(cfg.splits)} found")
    return report


def _record_downloads(rows: list[ManifestRow], jobs: list[DownloadJob], cfg: PrepareConfig) -> None:
    """Record source URL and georeferencing of each downloaded file; add side-cars if asked."""
    prov = Provenance(cfg.root)
    for i, r in enumerate(rows):
        img_job, lab_job = jobs[2 * i], jobs[2 * i + 1]
        img_h, lab_h = read_header(img_job.dest), read_header(lab_job.dest)
        modes = {img_job: img_h.mode, lab_job: lab_h.mode}
        if cfg.georeference:
            if not img_h.georeferenced:
                try:
                    xml = pam_sidecar_xml(r.tile)
                except InputError as exc:
                    log.warning("%s: kept without georeferencing: %s", img_job.dest, exc)
                else:
                    _write_sidecar(img_job.dest, xml)
                    modes[img_job] = DERIVED
                    if not lab_h.georeferenced:
                        _write_sidecar(lab_job.dest, xml)
                        modes[lab_job] = DERIVED
            elif not lab_h.georeferenced:
                xml = pam_xml(
                    img_h.crs.to_wkt(), img_h.transform, {"georeferencing": COPIED_FROM_IMAGE}
                )
                _write_sidecar(lab_job.dest, xml)
                modes[lab_job] = COPIED_FROM_IMAGE
        for job, mode in modes.items():
            prov.set(
                relative_key(cfg.root, job.dest),
                source=job.url,
                how="download",
                georeferencing=mode,
                sidecar=job.dest.name + ".aux.xml"
                if mode in (DERIVED, COPIED_FROM_IMAGE)
                else None,
                rule=RULE_TEXT if mode == DERIVED else None,
            )
        offset = rule_offset(r.tile, img_h)  # an original GeoTIFF: check the name rule
        if offset is not None:
            prov.files[relative_key(cfg.root, img_job.dest)]["rule_offset_m"] = offset
    prov.save()


def _write_sidecar(path: Path, xml: str) -> None:
    with atomic_path(path.with_name(path.name + ".aux.xml")) as tmp:
        tmp.write_text(xml)
