"""``roadseg data``: prepare datasets in the tile layout the trainer reads.

Subcommands:

* ``massachusetts`` -- download the Massachusetts Roads manifest's files (resume,
  retries, sha256), or ingest local PNG/TIFF/JPEG copies with ``--from-local``;
* ``generic`` -- GeoTIFF scenes + road vectors (OSM or other) -> labels on the scene grid;
* ``manifest`` -- (re)build the Massachusetts manifest from the official file list;
* ``verify`` -- re-hash every file recorded in ``ROOT/checksums.sha256``.

Layout written: ``ROOT/<split>/sat/<tile>.<ext>``, ``ROOT/<split>/map/<tile>.<ext>``,
``ROOT/checksums.sha256``, ``ROOT/provenance.json`` (see :mod:`roadseg.data`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from roadseg.data.layout import SPLITS


def register(sub: argparse._SubParsersAction) -> None:
    from roadseg.data.download import DownloadConfig
    from roadseg.data.generic import GenericConfig
    from roadseg.data.massachusetts import PrepareConfig
    from roadseg.tools import config_default

    p = sub.add_parser(
        "data",
        help="prepare datasets (Massachusetts Roads, your own scenes + roads)",
        description="Prepare datasets in the layout the trainer reads: "
        "ROOT/<split>/sat/<tile>.<ext> and ROOT/<split>/map/<tile>.<ext>, with sha256 records "
        "in ROOT/checksums.sha256 and sources in ROOT/provenance.json.",
    )
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="DATASET")

    m = dsub.add_parser(
        "massachusetts",
        help="download (or ingest local copies of) Massachusetts Roads",
        description="Download every image and label of the manifest's rows (resumable, retried, "
        "sha256 recorded and verified), or ingest local PNG/TIFF/JPEG copies (--from-local); tiles go to "
        "their official split. Data: V. Mnih, Machine Learning for Aerial Image Labeling, PhD thesis, "
        "U. Toronto 2013; labels derived from OpenStreetMap (ODbL).",
    )
    m.add_argument("-o", "--output", "--root", dest="root", required=True, type=Path, help="dataset root to fill")
    m.add_argument(
        "--manifest",
        type=Path,
        help="manifest CSV (default: data_manifests/massachusetts_roads.csv)",
    )
    m.add_argument(
        "--split",
        nargs="+",
        choices=SPLITS,
        default=list(config_default(PrepareConfig, "splits")),
        help="splits to prepare",
    )
    m.add_argument(
        "--from-local",
        nargs=2,
        type=Path,
        metavar=("IMAGES_DIR", "MASKS_DIR"),
        help="ingest local copies (<tile>.png|tif|tiff|jpg|jpeg in each folder) instead of downloading",
    )
    m.add_argument(
        "--link", action="store_true", help="with --from-local: symbolic links instead of copies"
    )
    m.add_argument(
        "--georeference",
        action="store_true",
        help="attach georeferencing derived from the tile name (EPSG:26986, 1 m, reported rule) "
        "to files that have none; recorded as georeferencing=derived-from-tile-name",
    )
    m.add_argument("--limit", type=int, help="at most N tiles per split (first by name)")
    m.add_argument(
        "--retries",
        type=int,
        default=config_default(DownloadConfig, "retries"),
        help="retries per file on network errors",
    )
    m.add_argument(
        "--timeout",
        type=float,
        default=config_default(DownloadConfig, "timeout_s"),
        help="socket timeout in seconds",
    )
    m.add_argument("--no-progress", action="store_true", help="no progress bars")
    m.set_defaults(func=main_massachusetts)

    g = dsub.add_parser(
        "generic",
        help="GeoTIFF scenes + road vectors -> image/label pairs",
        description="Rasterise road lines (OSM .pbf/.osm, GeoJSON, GeoPackage, ...) onto each scene's "
        "grid with the evaluation stage's rasteriser and write image/label pairs.",
    )
    g.add_argument(
        "--scenes", nargs="+", required=True, type=Path, help="georeferenced scenes (GeoTIFF)"
    )
    g.add_argument(
        "--roads",
        nargs="+",
        required=True,
        type=Path,
        help="one roads file for all scenes, or one per scene (same order)",
    )
    g.add_argument("-o", "--output", "--root", dest="root", required=True, type=Path, help="dataset root to fill")
    g.add_argument(
        "--split", choices=SPLITS, default=config_default(GenericConfig, "split"), help="split the pairs go to"
    )
    g.add_argument("--highways", help="OSM class filter: massachusetts | all | comma list")
    g.add_argument(
        "--width-m", type=float, default=config_default(GenericConfig, "width_m"), help="label width in metres"
    )
    g.add_argument("--tile-px", type=int, help="cut scenes into square windows of N pixels")
    g.add_argument("--link", action="store_true", help="symbolic links to whole GeoTIFF scenes")
    g.add_argument("--no-empty", action="store_true", help="fail on a scene with no road pixel")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.set_defaults(func=main_generic)

    b = dsub.add_parser(
        "manifest",
        help="build the Massachusetts manifest from the official file list",
        description="Build data_manifests/massachusetts_roads.csv from official_split.csv "
        "(tile,split,image_url,label_url); checks the 1108/14/49 split sizes.",
    )
    b.add_argument("official_split", type=Path, help="official_split.csv")
    b.add_argument("-o", "--output", "--out", dest="out", type=Path, required=True, help="manifest CSV to write")
    b.set_defaults(func=main_manifest)

    v = dsub.add_parser("verify", help="re-hash the files recorded in ROOT/checksums.sha256")
    v.add_argument("--root", required=True, type=Path)
    v.set_defaults(func=main_verify)


def main_massachusetts(args: argparse.Namespace) -> int:
    from roadseg.data.download import DownloadConfig
    from roadseg.data.massachusetts import PrepareConfig, prepare_massachusetts
    from roadseg.tools import on_terminal

    if args.link and not args.from_local:
        from roadseg.errors import InputError

        raise InputError("--link: only meaningful with --from-local")
    cfg = PrepareConfig(
        root=args.root,
        manifest=args.manifest,
        splits=tuple(dict.fromkeys(args.split)),
        from_local=tuple(args.from_local) if args.from_local else None,
        georeference=args.georeference,
        copy_mode="link" if args.link else "copy",
        limit=args.limit,
        download=DownloadConfig(
            retries=args.retries, timeout_s=args.timeout, progress=not args.no_progress and on_terminal()
        ),
    )
    prepare_massachusetts(cfg)
    return 0


def main_generic(args: argparse.Namespace) -> int:
    from roadseg.data.generic import GenericConfig, prepare_generic
    from roadseg.tools import on_terminal

    prepare_generic(
        GenericConfig(
            scenes=args.scenes,
            roads=args.roads,
            root=args.root,
            split=args.split,
            highways=args.highways,
            width_m=args.width_m,
            tile_px=args.tile_px,
            copy_mode="link" if args.link else "copy",
            allow_empty=not args.no_empty,
            progress=not args.no_progress and on_terminal(),
        )
    )
    return 0


def main_manifest(args: argparse.Namespace) -> int:
    import logging

    from roadseg.data.manifest import build_manifest, split_counts
    from roadseg.io_guard import check_paths

    check_paths([("-o", args.out)], [("official_split", args.official_split)])

    rows = build_manifest(args.official_split, args.out)
    logging.getLogger("roadseg").info("%s: %d tiles %s", args.out, len(rows), split_counts(rows))
    return 0


def main_verify(args: argparse.Namespace) -> int:
    import logging

    from roadseg.data.checksums import ChecksumStore, verify_root

    log = logging.getLogger("roadseg")
    problems = verify_root(args.root)
    for p in problems:
        log.error("%s", p)
    n = len(ChecksumStore(args.root).records)
    log.info("%s: %d of %d recorded files verified", args.root, n - len(problems), n)
    return 1 if problems else 0
