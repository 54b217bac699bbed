"""``roadseg evaluate``: score predictions against OSM / vector / raster labels.

Examples::

    roadseg evaluate --pred prob.tif --labels roads.osm.pbf --scene scene.tif \\
        --json report.json --plot overlay.png
    roadseg evaluate --pred a_prob.tif b_prob.tif --labels a_mask.png b_mask.png \\
        --scene a.png b.png --exclude-white          # pooled over the two tiles
    roadseg evaluate --pred network.geojson --labels osm_roads.geojson   # buffer + graph metrics
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The evaluation options (shared with ``pipelines/evaluate.py``)."""
    p.add_argument(
        "--pred",
        nargs="+",
        type=Path,
        required=True,
        metavar="PRED",
        help="probability raster(s) / binary mask(s) and/or road network(s) "
        "(GeoJSON, GPKG); one per scene; folders are expanded in sorted order",
    )
    p.add_argument(
        "--labels",
        nargs="+",
        type=Path,
        required=True,
        metavar="LABELS",
        help="OSM file (.osm.pbf/.osm), vector file or label raster; one per scene or one for all",
    )
    p.add_argument(
        "--scene",
        nargs="+",
        type=Path,
        default=[],
        metavar="SCENE",
        help="scene imagery, one per scene: the reference grid and overlay background",
    )
    p.add_argument(
        "--valid-mask",
        nargs="+",
        type=Path,
        default=[],
        metavar="M",
        help="valid-data raster(s), one per scene; pixels equal to 0 are excluded",
    )
    p.add_argument(
        "--exclude-white",
        action="store_true",
        help="exclude pixels that are white (255,255,255) in the scene imagery "
        "(Massachusetts no-imagery areas)",
    )
    p.add_argument("--rho", type=int, default=3, help="relaxed slack in pixels (default 3)")
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="probability threshold for relaxed/strict metrics and the overlay (default: the "
        "level stored in the probability raster by predict, else 0.5 with a warning)",
    )
    p.add_argument(
        "--highways",
        default=None,
        help="OSM highway classes: 'massachusetts' (default where a highway tag "
        "exists), 'all', or a comma-separated list",
    )
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--label-width-px",
        type=float,
        default=7.0,
        help="rasterise vector labels this wide in pixels (default 7, Massachusetts)",
    )
    w.add_argument(
        "--label-width-m",
        type=float,
        default=None,
        help="rasterise vector labels this wide in metres",
    )
    p.add_argument(
        "--buffer-m",
        type=float,
        default=3.0,
        help="buffer half-width for completeness/correctness/quality (default 3 m)",
    )
    p.add_argument(
        "--resample-pred",
        action="store_true",
        help="warp a prediction raster on another grid onto the scene grid "
        "(default: that is an error)",
    )
    p.add_argument(
        "--apls-max-points",
        type=int,
        default=1000,
        help="APLS: sample this many control points above it (default 1000)",
    )
    p.add_argument("--topo-seeds", type=int, default=100, help="TOPO: seed locations (default 100)")
    p.add_argument(
        "--json", type=Path, default=None, dest="json_path", help="write the JSON report"
    )
    p.add_argument(
        "--plot",
        type=Path,
        default=None,
        dest="plot_path",
        help="write a PNG overlay (TP green, FP red, misses blue)",
    )
    p.add_argument(
        "--curve-csv",
        type=Path,
        default=None,
        help="write the relaxed precision/recall curve (256 levels) as CSV",
    )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score predictions against OSM/vector/raster labels (relaxed P/R, break-even, "
        "IoU, buffer, APLS, TOPO)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=main)


def config_from_args(args: argparse.Namespace) -> Any:
    from roadseg.evaluation.evaluate import EvaluateConfig
    from roadseg.evaluation.graph import APLSConfig, TOPOConfig
    from roadseg.postprocess.level import threshold_of_rasters

    return EvaluateConfig(
        pred=list(args.pred),
        labels=list(args.labels),
        scene=list(args.scene),
        valid_mask=list(args.valid_mask),
        exclude_white=args.exclude_white,
        rho=args.rho,
        threshold=threshold_of_rasters(args.threshold, args.pred).evaluation_level(),
        highways=args.highways,
        label_width_px=args.label_width_px,
        label_width_m=args.label_width_m,
        buffer_m=args.buffer_m,
        resample_pred=args.resample_pred,
        apls=APLSConfig(max_control_points=args.apls_max_points),
        topo=TOPOConfig(n_seeds=args.topo_seeds),
        json_path=args.json_path,
        plot_path=args.plot_path,
        curve_csv=args.curve_csv,
    )


def main(args: argparse.Namespace) -> int:
    import sys

    from roadseg.evaluation.evaluate import run_evaluation
    from roadseg.evaluation.report import to_markdown

    result = run_evaluation(config_from_args(args))
    sys.stdout.write(to_markdown(result.report, result.breakeven))
    return 0
