"""``roadseg conflate NETWORK --osm OSM -o missing.geojson``: the roads OpenStreetMap lacks.

A detected road counts as mapped where an OSM road runs within the buffer of it and
roughly parallel to it; the rest, cut where it leaves OSM's coverage and with its ends
snapped onto the OSM roads it meets, is written as missing (GeoJSON in EPSG:4326, with
``highway=road`` and ``source`` tags an editor can use). With --scene (the imagery or
the probability raster), --unconfirmed writes the OSM roads inside the imagery's valid
area that nothing detected supports. Every length is in metres in a local metric CRS
(the UTM zone of the network). See docs/conflate.md.

Examples::

    roadseg conflate roads.geojson --osm region.osm.pbf -o roads.missing.geojson
    roadseg conflate roads.gpkg --osm region.osm.pbf -o missing.geojson \\
        --scene scene.tif --unconfirmed unconfirmed.geojson --quicklook conflation.png
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: argparse ``dest`` -> ConflateConfig field (flags left unset keep the config's default).
FLAG_FIELDS = {
    "buffer_m": "buffer_m",
    "registration_m": "registration_m",
    "road_width_m": "road_width_m",
    "max_angle": "max_angle_deg",
    "min_length_m": "min_length_m",
    "min_confidence": "min_confidence",
    "highways": "highways",
    "source": "source",
}


def _default(name: str) -> Any:
    """The default of a ConflateConfig field (written once, in the dataclass)."""
    from roadseg.conflate.config import ConflateConfig
    from roadseg.tools import config_default

    return config_default(ConflateConfig, name)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "network",
        type=Path,
        metavar="NETWORK",
        help="detected road lines: roadseg's output in any of its formats, or any line layer",
    )
    p.add_argument(
        "--osm",
        type=Path,
        required=True,
        metavar="OSM",
        help="OSM roads: .osm.pbf, .osm or a vector file of lines (highway tags)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="MISSING",
        help="the roads missing from OSM (.osm or .geojson for an editor, or .gpkg)",
    )
    m = p.add_argument_group("matching (metres)")
    m.add_argument(
        "--buffer-m",
        type=float,
        help="mapped where an OSM road runs this near (default: half the network's "
        "road width + --registration-m)",
    )
    m.add_argument(
        "--registration-m",
        type=float,
        help=f"imagery-to-OSM registration error the default buffer allows "
        f"(default {_default('registration_m'):g})",
    )
    m.add_argument(
        "--road-width-m",
        type=float,
        help=f"road width the default buffer assumes where the network has no width_m "
        f"(default {_default('road_width_m'):g})",
    )
    m.add_argument(
        "--max-angle",
        type=float,
        metavar="DEGREES",
        help=f"roughly parallel: at most this angle (default {_default('max_angle_deg'):g})",
    )
    m.add_argument(
        "--min-length-m",
        type=float,
        help=f"drop missing parts shorter than this (default {_default('min_length_m'):g})",
    )
    m.add_argument(
        "--min-confidence",
        type=float,
        help=f"drop missing parts below this confidence, 0..1 "
        f"(default {_default('min_confidence'):g})",
    )
    m.add_argument(
        "--highways",
        help="OSM highway classes: 'massachusetts' (car roads, default), 'all' or a "
        "comma-separated list",
    )
    m.add_argument("--source", help="the source tag of missing roads (default: roadseg)")
    o = p.add_argument_group("more outputs")
    o.add_argument(
        "--scene",
        type=Path,
        help="the imagery or probability raster: its valid area bounds --unconfirmed, "
        "and --quicklook draws over it",
    )
    o.add_argument(
        "--unconfirmed",
        type=Path,
        metavar="FILE",
        help="write the OSM roads in the scene's valid area that nothing detected "
        "supports (needs --scene)",
    )
    o.add_argument(
        "--quicklook",
        type=Path,
        metavar="PNG",
        help="write a picture: missing, mapped and unconfirmed roads in three colours",
    )
    o.add_argument(
        "--summary-json",
        type=Path,
        metavar="FILE",
        help="write the summary (km missing, mapped, ...) as JSON",
    )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "conflate",
        help="the roads missing from OpenStreetMap (and the OSM roads the imagery does not support)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=main)


def config_from_args(args: argparse.Namespace) -> Any:
    """The ConflateConfig of the parsed arguments; options not given keep its defaults."""
    from roadseg.conflate.config import ConflateConfig

    given = {
        f: getattr(args, d) for d, f in FLAG_FIELDS.items() if getattr(args, d, None) is not None
    }
    return ConflateConfig(**given)


def check_args(args: argparse.Namespace) -> None:
    """Everything that can be refused before any work (one line, exit 2)."""
    from roadseg.conflate.write import check_output_suffix
    from roadseg.errors import InputError
    from roadseg.io_guard import check_paths

    check_output_suffix(args.output, "-o")
    if args.unconfirmed is not None:
        if args.scene is None:
            raise InputError(
                f"{args.unconfirmed}: --unconfirmed needs --scene (the imagery's valid area)"
            )
        check_output_suffix(args.unconfirmed, "--unconfirmed", new_roads=False)
    for what, path in (("NETWORK", args.network), ("--osm", args.osm), ("--scene", args.scene)):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: {what} file not found")
    check_paths(
        [
            ("-o", args.output),
            ("--unconfirmed", args.unconfirmed),
            ("--quicklook", args.quicklook),
            ("--summary-json", args.summary_json),
        ],
        [("NETWORK", args.network), ("--osm", args.osm), ("--scene", args.scene)],
    )


def main(args: argparse.Namespace) -> int:
    import json
    import sys

    from roadseg.atomic import atomic_path
    from roadseg.conflate.conflation import conflate
    from roadseg.conflate.write import write_lines

    config = config_from_args(args)
    check_args(args)
    result = conflate(
        args.network, args.osm, config, scene=args.scene, keep_mapped=args.quicklook is not None
    )
    summary = result.summary()
    write_lines(result.missing, args.output, summary, layer="missing")
    log.info("wrote %s (%d missing parts)", args.output, len(result.missing))
    if args.unconfirmed is not None and result.unconfirmed is not None:
        write_lines(result.unconfirmed, args.unconfirmed, summary, layer="unconfirmed")
        log.info("wrote %s (%d unconfirmed parts)", args.unconfirmed, len(result.unconfirmed))
    if args.quicklook is not None:
        from roadseg.conflate.quicklook import write_conflation_quicklook

        write_conflation_quicklook(result, args.quicklook, args.scene)
        log.info("wrote %s", args.quicklook)
    if args.summary_json is not None:
        with atomic_path(args.summary_json) as tmp:
            tmp.write_text(json.dumps(summary, indent=2, default=str))
    sys.stdout.write(result.format() + "\n")
    return 0
