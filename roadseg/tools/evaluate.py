"""``roadseg evaluate``: score predictions against OSM / vector / raster labels.

Examples::

    roadseg evaluate --pred prob.tif --labels roads.osm.pbf --scene scene.tif \\
        --json report.json --plot overlay.png
    roadseg evaluate --pred a_prob.tif b_prob.tif --labels a_mask.png b_mask.png \\
        --scene a.png b.png --exclude-nodata         # pooled, white no-imagery areas left out
    roadseg evaluate --pred network.geojson --labels osm_roads.geojson   # buffer + graph metrics
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from roadseg.uri import scene_path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The evaluation options (shared with ``pipelines/evaluate.py``); defaults are
    EvaluateConfig's."""
    from roadseg.evaluation.evaluate import EvaluateConfig
    from roadseg.evaluation.graph import APLSConfig, TOPOConfig
    from roadseg.tools import config_default

    def default(name: str) -> Any:
        return config_default(EvaluateConfig, name)

    p.add_argument(
        "--pred",
        nargs="+",
        type=scene_path,  # files or URLs (roadseg.uri)
        required=True,
        metavar="PRED",
        help="probability raster(s) / binary mask(s) and/or road network(s) "
        "(GeoJSON, GPKG); one per scene; folders are expanded in sorted order",
    )
    p.add_argument(
        "--labels",
        nargs="+",
        type=scene_path,  # files or URLs (roadseg.uri)
        required=True,
        metavar="LABELS",
        help="OSM file (.osm.pbf/.osm), vector file or label raster; one per scene or one for all",
    )
    p.add_argument(
        "--scene",
        nargs="+",
        type=scene_path,  # files or URLs (roadseg.uri)
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
        "--exclude-nodata",
        "--exclude-white",
        dest="exclude_nodata",
        action="store_true",
        default=default("exclude_nodata"),
        help="leave out the scene's no-imagery pixels: its declared no-data mask, or, where it "
        "declares none (Massachusetts tiles), its pure-white pixels (--exclude-white: the same)",
    )
    slack = p.add_mutually_exclusive_group()
    slack.add_argument(
        "--slack-m",
        type=float,
        default=default("slack_m"),
        metavar="METRES",
        help="relaxed slack in metres, converted with each scene's GSD (3 m: the paper's "
        "3 px at 1 m, 10 px at 0.3 m)",
    )
    slack.add_argument(
        "--rho",
        type=int,
        default=default("rho"),
        metavar="PX",
        help="the relaxed slack in pixels instead (an override; default: from --slack-m)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="probability threshold for relaxed/strict metrics and the overlay (default: the "
        "level stored in the probability raster by predict, else 0.5 with a warning)",
    )
    p.add_argument(
        "--highways",
        default=default("highways"),
        help="OSM highway classes: 'massachusetts' (default where a highway tag "
        "exists), 'all', or a comma-separated list",
    )
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--label-width-m",
        type=float,
        default=default("label_width_m"),
        metavar="METRES",
        help="rasterise vector labels this wide in metres (7 m: the Massachusetts masks' 7 px at 1 m)",
    )
    w.add_argument(
        "--label-width-px",
        type=float,
        default=default("label_width_px"),
        metavar="PX",
        help="that width in pixels instead (an override; default: from --label-width-m)",
    )
    p.add_argument(
        "--buffer-m",
        type=float,
        default=default("buffer_m"),
        help="buffer half-width for completeness/correctness/quality (m)",
    )
    p.add_argument(
        "--resample-pred",
        action="store_true",
        default=default("resample_pred"),
        help="warp a prediction raster on another grid onto the scene grid "
        "(default: that is an error)",
    )
    p.add_argument(
        "--bbox",
        metavar="W,S,E,N",
        help="score only inside this box (WGS 84 degrees; --bbox=-71.1,42.3,-71.0,42.4 when "
        "west is negative): the rasters are read on their window inside it, as extract --bbox "
        "predicts",
    )
    p.add_argument(
        "--apls-max-points",
        type=int,
        default=config_default(APLSConfig, "max_control_points"),
        help="APLS: sample this many control points above it",
    )
    p.add_argument(
        "--topo-seeds",
        type=int,
        default=config_default(TOPOConfig, "n_seeds"),
        help="TOPO: seed locations",
    )
    p.add_argument(
        "-o",
        "--output",
        "--json",
        type=Path,
        default=None,
        dest="json_path",
        help="write the JSON report here (--json: the same; the Markdown report goes to stdout)",
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
    """The EvaluateConfig of the parsed arguments; options not given keep the config's defaults."""
    from roadseg.evaluation.evaluate import EvaluateConfig
    from roadseg.evaluation.graph import APLSConfig, TOPOConfig
    from roadseg.postprocess.level import threshold_of_rasters

    return EvaluateConfig(
        pred=list(args.pred),
        labels=list(args.labels),
        scene=list(args.scene),
        valid_mask=list(args.valid_mask),
        threshold=threshold_of_rasters(args.threshold, args.pred).evaluation_level(),
        exclude_nodata=args.exclude_nodata,
        slack_m=args.slack_m,
        rho=args.rho,
        highways=args.highways,
        label_width_px=args.label_width_px,
        label_width_m=args.label_width_m,
        buffer_m=args.buffer_m,
        resample_pred=args.resample_pred,
        bbox=args.bbox,
        apls=APLSConfig(max_control_points=args.apls_max_points),
        topo=TOPOConfig(n_seeds=args.topo_seeds),
        json_path=args.json_path,
        plot_path=args.plot_path,
        curve_csv=args.curve_csv,
    )


def plot_paths(args: argparse.Namespace) -> list[Path]:
    """The overlay files ``--plot`` writes: one, or ``<stem>_<i>_<name>.png`` per scene."""
    if args.plot_path is None:
        return []
    from roadseg.evaluation.inputs import expand
    from roadseg.evaluation.overlay import overlay_path
    from roadseg.raster.suffixes import is_raster_file

    try:
        preds = expand(list(args.pred))
    except Exception:  # an unusable --pred is reported by the evaluation itself
        preds = list(args.pred)
    rasters = [p for p in preds if is_raster_file(p)]
    vectors = [p for p in preds if not is_raster_file(p)]
    n = max(len(rasters), len(vectors), len(args.scene), len(args.labels), 1)
    out = []
    for i in range(n):
        src = next((lst[i] for lst in (args.scene, rasters, vectors) if i < len(lst)), None)
        if src is not None:
            out.append(overlay_path(args.plot_path, i, n, src))
    return out


def check_args_paths(args: argparse.Namespace) -> None:
    """No report file may overwrite a prediction, label, scene or mask (one line, exit 2)."""
    from roadseg.io_guard import check_paths

    check_paths(
        [("--json", args.json_path), ("--curve-csv", args.curve_csv)]
        + [("--plot", p) for p in plot_paths(args)],
        [("--pred", p) for p in args.pred]
        + [("--labels", p) for p in args.labels]
        + [("--scene", p) for p in args.scene]
        + [("--valid-mask", p) for p in args.valid_mask],
    )


def main(args: argparse.Namespace) -> int:
    import sys

    from roadseg.evaluation.evaluate import run_evaluation
    from roadseg.evaluation.report import to_markdown

    check_args_paths(args)
    result = run_evaluation(config_from_args(args))
    sys.stdout.write(to_markdown(result.report, result.breakeven))
    return 0
