"""``roadseg vectorize``: probability/mask GeoTIFF → road network (every export format)."""

from __future__ import annotations

import argparse
from pathlib import Path

_DEFAULTS_NOTE = (
    "Lengths are in metres (areas in m²) and scale with the raster's GSD; the defaults suit "
    "1 m Massachusetts imagery. Threshold rule: road <=> v/255 >= t for uint8 probabilities."
)


def register(sub: argparse._SubParsersAction) -> None:
    from roadseg.vector.config import VectorizeConfig

    d = VectorizeConfig.__dataclass_fields__
    p = sub.add_parser(
        "vectorize",
        help="probability or mask raster -> georeferenced road network",
        description="Threshold, clean, skeletonise (by block, exact), build the road graph, clean it "
        "in metres and write it. " + _DEFAULTS_NOTE,
    )
    p.add_argument(
        "raster", help="probability GeoTIFF (uint8 0..255 or float 0..1) or mask ({0,255} / {0,1})"
    )
    from roadseg.vector.formats import format_names, writable_suffixes

    p.add_argument(
        "-o",
        "--output",
        "--out",
        dest="out",
        required=True,
        help=f"output network; its suffix names the format ({', '.join(writable_suffixes())})",
    )
    p.add_argument(
        "--format",
        action="append",
        dest="formats",
        choices=format_names(),
        help="also write this format, beside -o with its own suffix (repeatable; -o's own "
        "format is always written)",
    )
    p.add_argument(
        "--threshold",
        default=None,
        help="0.5 | otsu | hysteresis:0.3,0.6 (default: the level predict stored in the raster, "
        "else 0.5 with a warning)",
    )
    p.add_argument(
        "--probability", help="probability raster on the same grid, for mean_prob along edges"
    )
    p.add_argument(
        "--min-object-m2", type=float, default=d["min_object_m2"].default,
        help="remove mask blobs smaller than this (m²)",
    )
    p.add_argument(
        "--max-hole-m2", type=float, default=d["max_hole_m2"].default,
        help="fill mask holes smaller than this (m²)",
    )
    p.add_argument(
        "--min-spur-m", type=float, default=d["min_spur_m"].default,
        help="prune dead-end spurs shorter than this (m)",
    )
    p.add_argument(
        "--bridge-m",
        type=float,
        default=d["bridge_m"].default,
        help="always bridge end points closer than this (m)",
    )
    p.add_argument(
        "--bridge-collinear-m",
        type=float,
        default=d["bridge_collinear_m"].default,
        help="bridge up to this distance when the two ends are collinear (m)",
    )
    p.add_argument(
        "--bridge-angle-deg", type=float, default=d["bridge_angle_deg"].default,
        help="largest angle between two ends that still counts as collinear (degrees)",
    )
    p.add_argument(
        "--min-component-m", type=float, default=d["min_component_m"].default,
        help="drop networks shorter than this (m)",
    )
    p.add_argument(
        "--simplify-m", type=float, default=d["simplify_m"].default,
        help="Douglas-Peucker tolerance (m)",
    )
    p.add_argument(
        "--junction-merge-m", type=float, default=d["junction_merge_m"].default,
        help="merge junctions closer than this (m)",
    )
    p.add_argument(
        "--keep-border-components",
        action="store_true",
        help="keep short components that touch the raster border",
    )
    p.add_argument(
        "--block-size", type=int, default=d["block_size"].default, help="block size (px)"
    )
    p.add_argument("--halo", type=int, default=d["halo"].default, help="initial block halo (px)")
    p.add_argument(
        "--border", choices=["extend", "none"], default=d["border"].default,
        help="extend: roads crossing the raster edge keep reaching it; none: outside is background",
    )
    p.add_argument(
        "--band", type=int, help="band holding the probabilities (required for multi-band rasters)"
    )
    p.add_argument(
        "--gsd",
        type=float,
        metavar="METRES",
        help="pixel size of a raster without georeferencing (required for one)",
    )
    p.add_argument("--mask-out", help="also write the cleaned mask GeoTIFF")
    p.add_argument("--skeleton-out", help="also write the skeleton GeoTIFF")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import logging

    from roadseg.io_guard import check_paths
    from roadseg.pipeline.extract import export_all_or_nothing
    from roadseg.postprocess.level import threshold_of_rasters
    from roadseg.prechecks import check_lonlat_crs, check_single_band
    from roadseg.raster.georef import check_georeferenced, warn_gsd_ignored
    from roadseg.tools import on_terminal
    from roadseg.vector import vectorize_raster
    from roadseg.vector.config import VectorizeConfig
    from roadseg.vector.export import export_paths

    check_paths(
        [("-o", p) for p in export_paths(args.out, args.formats)]
        + [("--mask-out", args.mask_out), ("--skeleton-out", args.skeleton_out)],
        [("raster", args.raster), ("--probability", args.probability)],
    )
    check_single_band(args.raster, args.band)
    check_georeferenced(args.raster, args.gsd)
    warn_gsd_ignored(args.raster, args.gsd)
    check_lonlat_crs(args.raster, args.out, args.formats)
    chosen = threshold_of_rasters(args.threshold, [args.raster])
    config = VectorizeConfig(
        threshold=chosen.spec,
        min_object_m2=args.min_object_m2,
        max_hole_m2=args.max_hole_m2,
        min_spur_m=args.min_spur_m,
        bridge_m=args.bridge_m,
        bridge_collinear_m=args.bridge_collinear_m,
        bridge_angle_deg=args.bridge_angle_deg,
        min_component_m=args.min_component_m,
        simplify_m=args.simplify_m,
        junction_merge_m=args.junction_merge_m,
        keep_border_components=args.keep_border_components,
        block_size=args.block_size,
        halo=args.halo,
        border=args.border,
        band=args.band,
        gsd_m=args.gsd,
        show_progress=logging.getLogger("roadseg").isEnabledFor(logging.INFO) and on_terminal(),
    )
    net = vectorize_raster(args.raster, config, args.probability, args.mask_out, args.skeleton_out)
    net.metadata["threshold_from"] = chosen.origin
    if len(net.edges) == 0:  # as extract says it: an empty file is a result, not an error
        logging.getLogger("roadseg.vectorize").warning(
            "%s: no roads found (threshold %s); writing an empty network", args.raster, chosen.spec
        )
    # staged, then moved into place together: a failure leaves none of the files
    written = export_all_or_nothing(net, Path(args.out), args.formats)
    logging.getLogger("roadseg.vectorize").info("%r -> %s", net, ", ".join(map(str, written)))
    return 0
