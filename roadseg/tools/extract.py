"""``roadseg extract SCENE.tif -o roads.geojson``: the whole job, image to road network.

Runs every stage on each scene: open and validate, resample to the model's GSD,
blended tiled inference, threshold, skeleton, graph cleaning, georeferencing,
export. Several scenes (files, a folder, or a VRT mosaic with --split-vrt) run
on Dask (a LocalCluster by default, --scheduler for an existing one) and their
networks are merged across scene borders into one output.

Options come from --config (YAML or TOML; see configs/extract_example.yaml) and
the flags below, which override the file; --set section.field=value reaches
every other option. Exit status: 0 when everything was written; 2 for a bad
input, option or output (nothing written); with several scenes, 3 when some
scenes failed (the others' network was written) and 4 when all failed; 130/143
when interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from roadseg.pipeline.config import ExtractConfig
    from roadseg.uri import RemotePath
import argparse
import dataclasses
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: argparse ``dest`` -> dotted ExtractConfig key (flags left unset do not override the file).
FLAG_KEYS = {
    "weights": "predict.weights",
    "device": "predict.device",
    "tile": "predict.tile",
    "overlap": "predict.overlap",
    "blend": "predict.blend",
    "tta": "predict.tta",
    "amp": "predict.amp",
    "batch_size": "predict.batch_size",
    "bands": "predict.bands",
    "gsd": "predict.gsd_m",
    "bbox": "predict.bbox",
    "backend": "predict.backend",
    "precision": "predict.precision",
    "quality": "predict.quality",
    "exclude_nodata": "evaluation.exclude_nodata",
    "slack_m": "evaluation.slack_m",
    "label_width_m": "evaluation.label_width_m",
    "rho": "evaluation.rho",
    "label_width_px": "evaluation.label_width_px",
    "highways": "evaluation.highways",
    "buffer_m": "evaluation.buffer_m",
    "threshold": "threshold",
    "min_object_m2": "vectorize.min_object_m2",
    "max_hole_m2": "vectorize.max_hole_m2",
    "min_spur_m": "vectorize.min_spur_m",
    "bridge_m": "vectorize.bridge_m",
    "min_component_m": "vectorize.min_component_m",
    "simplify_m": "vectorize.simplify_m",
    "junction_merge_m": "vectorize.junction_merge_m",
    "formats": "output.formats",
    "keep_intermediates": "output.keep_intermediates",
    "evaluate": "output.evaluate",
    "cache_dir": "output.cache_dir",
    "resume": "output.resume",
    "keep_cache": "output.keep_cache",
    "summary_json": "output.summary_json",
    "quicklook": "output.quicklook",
    "conflate": "output.conflate",
    "scheduler": "cluster.scheduler",
    "workers": "cluster.n_workers",
    "threads_per_worker": "cluster.threads_per_worker",
    "gpu_workers": "cluster.gpu",
    "seam_m": "cluster.seam_m",
    "context": "cluster.context",
    "progress": "progress",
}


def _default(key: str) -> str:
    """The default of a dotted ExtractConfig key, as help text shows it (read from the dataclasses)."""
    from roadseg.pipeline.config import ExtractConfig
    from roadseg.tools import config_default, default_text

    return default_text(config_default(ExtractConfig, key))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenes",
        nargs="*",
        metavar="SCENE",
        help="raster(s), folder(s) or a VRT mosaic; files or URLs (http(s)://, s3://, gs://, "
        "az://, /vsi...)",
    )
    p.add_argument(
        "--stac",
        metavar="ITEMS",
        help="scenes from STAC: an item, an ItemCollection (a saved search) or a static "
        "catalogue (file or URL), instead of SCENE arguments",
    )
    p.add_argument(
        "--asset",
        metavar="NAME",
        help="the STAC imagery asset (default: the visual/RGB one, by roles and eo:bands)",
    )
    from roadseg.vector.formats import writable_suffixes

    p.add_argument(
        "-o",
        "--output",
        required=True,
        help=f"output network; its suffix names the format ({', '.join(writable_suffixes())})",
    )
    p.add_argument("-c", "--config", help="YAML or TOML file of options (flags override it)")
    _inference_arguments(p)
    _vectorize_arguments(p)
    _output_arguments(p)
    _evaluation_arguments(p)
    _cluster_arguments(p)
    p.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other option, e.g. --set vectorize.border=none (repeatable)",
    )
    p.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bars"
    )


def _inference_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of PredictConfig."""
    from roadseg.tools import weights_help

    g = p.add_argument_group("inference")
    g.add_argument("--weights", help=weights_help())
    from roadseg.tools.predict import add_backend_arguments

    add_backend_arguments(g, defaults=False)  # unset flags do not override a config file
    g.add_argument("--device", help=f"auto | cpu | cuda[:N] (default {_default('predict.device')})")
    g.add_argument("--tile", type=int, help="tile size in px (default: the model's)")
    g.add_argument(
        "--overlap", type=int, help=f"tile overlap in px (default {_default('predict.overlap')})"
    )
    g.add_argument(
        "--blend",
        choices=["mean", "linear", "cosine", "spline"],
        help=f"tile blending (default {_default('predict.blend')})",
    )
    g.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"D4 test-time augmentation (8x slower) (default: {_default('predict.tta')})",
    )
    g.add_argument(
        "--amp",
        choices=["auto", "bf16", "fp16", "off"],
        help=f"mixed precision on CUDA (default {_default('predict.amp')})",
    )
    g.add_argument(
        "--batch-size",
        type=int,
        help=f"tiles per forward pass (default {_default('predict.batch_size')})",
    )
    g.add_argument("--bands", help="1-based input bands in model order, e.g. 1,2,3")
    g.add_argument(
        "--gsd",
        type=float,
        metavar="METRES",
        help="pixel size of scenes without georeferencing (required for them; used by every stage)",
    )
    g.add_argument(
        "--bbox",
        metavar="W,S,E,N",
        help="work only inside this box (WGS 84 degrees; --bbox=-71.1,42.3,-71.0,42.4 when west "
        "is negative): only the windows of the scenes inside it are read",
    )


def _vectorize_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the threshold and VectorizeConfig."""
    g = p.add_argument_group("vectorisation (lengths in metres)")
    g.add_argument(
        "--threshold",
        help="probability threshold: a number, otsu or hysteresis:LOW,HIGH "
        "(default: the level stored with the probabilities, i.e. the model's calibrated one)",
    )
    g.add_argument(
        "--min-object-m2",
        type=float,
        help=f"remove mask blobs smaller than this (m²) (default {_default('vectorize.min_object_m2')})",
    )
    g.add_argument(
        "--max-hole-m2",
        type=float,
        help=f"fill mask holes smaller than this (m²) (default {_default('vectorize.max_hole_m2')})",
    )
    g.add_argument(
        "--min-spur-m",
        type=float,
        help=f"prune dead-end spurs shorter than this (default {_default('vectorize.min_spur_m')})",
    )
    g.add_argument(
        "--bridge-m",
        type=float,
        help=f"bridge gaps between road ends up to this (default {_default('vectorize.bridge_m')})",
    )
    g.add_argument(
        "--min-component-m",
        type=float,
        help=f"drop networks shorter than this (default {_default('vectorize.min_component_m')})",
    )
    g.add_argument(
        "--simplify-m",
        type=float,
        help=f"Douglas-Peucker tolerance (default {_default('vectorize.simplify_m')})",
    )
    g.add_argument(
        "--junction-merge-m",
        type=float,
        help=f"merge junctions closer than this (default {_default('vectorize.junction_merge_m')})",
    )


def _output_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of OutputConfig."""
    from roadseg.vector.formats import format_names

    g = p.add_argument_group("outputs")
    g.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=format_names(),
        help="also write this format, beside -o with its own suffix (repeatable; -o's own "
        "format is always written)",
    )
    g.add_argument(
        "--keep-intermediates",
        metavar="DIR",
        help="keep probability, mask and skeleton GeoTIFFs here",
    )
    g.add_argument(
        "--evaluate", metavar="LABELS", help="evaluate against these road labels; report beside -o"
    )
    g.add_argument(
        "--cache-dir", help="resumable stage outputs (default: .roadseg-cache beside -o)"
    )
    g.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reuse completed stages (default yes)",
    )
    g.add_argument(
        "--keep-cache",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the cache after success",
    )
    g.add_argument("--summary-json", help="also write the run summary as JSON")
    g.add_argument(
        "--quicklook",
        metavar="PNG",
        help="also write a PNG of the network over the imagery (labels too with --evaluate)",
    )
    g.add_argument(
        "--conflate",
        metavar="OSM",
        help="conflate the network against these OSM roads (.osm.pbf, .osm, vector): the "
        "roads OSM lacks go to <-o stem>.missing.geojson (.missing.osm for -o X.osm; options: "
        "--set conflate.FIELD=V)",
    )


def _evaluation_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of EvaluationConfig (how --evaluate scores); not given: the config's values."""
    g = p.add_argument_group("evaluation (with --evaluate)")
    g.add_argument(
        "--exclude-nodata",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="leave out the scene's no-imagery pixels: its declared no-data mask, or where it "
        f"declares none its pure-white pixels (default {_default('evaluation.exclude_nodata')})",
    )
    slack = g.add_mutually_exclusive_group()
    slack.add_argument(
        "--slack-m",
        type=float,
        metavar="METRES",
        help="relaxed slack in metres at each scene's GSD "
        f"(default {_default('evaluation.slack_m')}: the paper's 3 px at 1 m)",
    )
    slack.add_argument(
        "--rho", type=int, metavar="PX", help="the relaxed slack in pixels instead (an override)"
    )
    width = g.add_mutually_exclusive_group()
    width.add_argument(
        "--label-width-m",
        type=float,
        metavar="METRES",
        help="width vector labels are drawn with "
        f"(default {_default('evaluation.label_width_m')}: the Massachusetts masks' 7 px at 1 m)",
    )
    width.add_argument(
        "--label-width-px", type=float, metavar="PX", help="that width in pixels instead"
    )
    g.add_argument(
        "--highways",
        help="OSM highway classes of the labels: massachusetts, all or a comma list "
        "(default: massachusetts where a highway tag exists)",
    )
    g.add_argument(
        "--buffer-m",
        type=float,
        metavar="METRES",
        help="buffer half-width of completeness/correctness/quality "
        f"(default {_default('evaluation.buffer_m')})",
    )


def _cluster_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ClusterConfig and how scenes are found."""
    g = p.add_argument_group("many scenes (Dask)")
    g.add_argument(
        "--scheduler", metavar="ADDRESS", help="existing Dask scheduler, e.g. tcp://host:8786"
    )
    g.add_argument(
        "--workers",
        type=int,
        help=f"LocalCluster worker processes (default {_default('cluster.n_workers')})",
    )
    g.add_argument(
        "--threads-per-worker",
        type=int,
        help=f"threads per worker (default {_default('cluster.threads_per_worker')})",
    )
    g.add_argument(
        "--gpu-workers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send inference to workers with the resource GPU=1",
    )
    g.add_argument(
        "--seam-m",
        type=float,
        help="scenes within this many metres of each other are vectorised as one mosaic "
        f"(default {_default('cluster.seam_m')})",
    )
    g.add_argument(
        "--context",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="predict scenes on one grid with their neighbours' pixels around them, as their "
        f"mosaic would be predicted whole (default {_default('cluster.context')})",
    )
    g.add_argument(
        "--split-vrt", action="store_true", help="process each source of a VRT mosaic as a scene"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "extract",
        help="scene(s) -> road network: every stage, one or many scenes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=main)


def config_from_args(args: argparse.Namespace) -> ExtractConfig:
    """The ExtractConfig of parsed arguments: file, then --set, then flags."""
    from roadseg.configfile import parse_assignments
    from roadseg.pipeline.config import load_extract_config
    from roadseg.tools import on_terminal

    overrides = parse_assignments(args.assignments)
    for dest, key in FLAG_KEYS.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides[key] = value
    config = load_extract_config(args.config, overrides)
    if args.progress is None and not on_terminal():
        config = dataclasses.replace(config, progress=False)  # bars only on a terminal
    return config


def check_run_paths(
    args: argparse.Namespace, config: ExtractConfig, scenes: Sequence[Path | RemotePath]
) -> None:
    """Every file the run writes against every file it reads, before any work (exit 2)."""
    from roadseg.io_guard import check_paths
    from roadseg.models import resolve_weights
    from roadseg.paths import intermediate_paths, intermediates_folder
    from roadseg.pipeline.evaluate import evaluation_paths
    from roadseg.vector.export import export_paths

    out = Path(args.output)
    o = config.output
    outputs: list[tuple[str, Path | str | None]] = [("-o", p) for p in export_paths(out, o.formats)]
    if o.evaluate:
        outputs += [("--evaluate report", p) for p in evaluation_paths(out).values()]
    outputs.append(("--summary-json", o.summary_json))
    outputs.append(("--quicklook", o.quicklook))
    if o.conflate:
        from roadseg.conflate.write import missing_path

        outputs.append(("--conflate", missing_path(out)))
    if o.keep_intermediates:
        for scene in scenes:
            folder = intermediates_folder(o.keep_intermediates, scene, scenes)
            outputs += [
                ("--keep-intermediates", p) for p in intermediate_paths(folder, scene).values()
            ]
    inputs: list[tuple[str, os.PathLike[str] | str | None]] = [("scene", s) for s in scenes]
    from roadseg.inference.ensemble import split_weights

    inputs += [("--weights", resolve_weights(w)) for w in split_weights(config.predict.weights)]
    inputs += [
        ("--evaluate labels", o.evaluate),
        ("--conflate OSM", o.conflate),
        ("--config", args.config),
    ]
    # intermediates go to a folder that may not exist yet: checked by the pre-flight checks
    check_paths(outputs, inputs, check_dirs=False)


def _scene_args(args: argparse.Namespace, config: ExtractConfig) -> list[str]:
    """The SCENE arguments, or the assets of the STAC items of ``--stac``."""
    from roadseg.errors import InputError

    if args.stac is None:
        if args.asset is not None:
            raise InputError("--asset chooses a STAC asset; give --stac ITEMS too")
        if not args.scenes:
            raise InputError("no input scenes given (SCENE arguments or --stac ITEMS)")
        return list(args.scenes)
    if args.scenes:
        raise InputError(f"{args.stac}: give SCENE arguments or --stac, not both")
    from roadseg.pipeline.stac import stac_scenes
    from roadseg.raster.scene import parse_bbox

    try:
        bbox = parse_bbox(config.predict.bbox)
    except ValueError as exc:
        raise InputError(f"--bbox: {exc}") from None
    return [s.href for s in stac_scenes(args.stac, args.asset, bbox)]


def _holds_entries(root: Path) -> bool:
    """Whether the cache folder still holds an entry (one that is empty is removed)."""
    from roadseg.pipeline.cache import CACHE_TAG

    try:
        return any(p.name != CACHE_TAG for p in root.iterdir())
    except OSError:
        return False


def main(args: argparse.Namespace) -> int:
    from roadseg.pipeline.extract import cache_root
    from roadseg.pipeline.inputs import expand_scenes
    from roadseg.prechecks import check_extract

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # the scheduler runs in this process; its INFO chatter is not for users
        logging.getLogger("distributed").setLevel(logging.WARNING)
    config = config_from_args(args)
    scenes = expand_scenes(_scene_args(args, config), expand_vrt=True if args.split_vrt else None)
    check_run_paths(args, config, scenes)
    check_extract(scenes, Path(args.output), config)
    # read by roadseg.cli when the run is interrupted: what was done is not lost
    again = "the same command" if config.output.resume else "it without --no-resume"
    root = cache_root(Path(args.output), config)
    args.interrupt_note = lambda: (  # asked once the run has unwound: is anything kept?
        f"the stages already done are kept in {root}: run {again} to resume from them"
        if _holds_entries(root)
        else None
    )
    if len(scenes) == 1 and not config.cluster.scheduler:
        from roadseg.pipeline.extract import extract_scene

        done = extract_scene(scenes[0], Path(args.output), config)
        if config.output.summary_json:  # the summary lists the other outputs
            log.info("wrote %s", config.output.summary_json)
        s = done.summary
        _print_result(s.road_km, s.edges, s.nodes, done.report)
        return 0
    from roadseg.errors import EXIT_ALL_SCENES_FAILED, EXIT_SOME_SCENES_FAILED
    from roadseg.pipeline.multi import AllScenesFailed, extract_scenes

    try:
        result, written = extract_scenes(scenes, Path(args.output), config)
    except AllScenesFailed as exc:
        log.error("%s", exc)
        return EXIT_ALL_SCENES_FAILED
    for path in written:
        log.info("wrote %s", path)
    net = result.network
    _print_result(
        net.total_length_m / 1000.0, len(net.edges), len(net.nodes), _written_report(written)
    )
    failed = len(result.failed)
    if failed:
        log.error("%d of %d scenes failed; see the messages above", failed, len(result.outcomes))
        return EXIT_SOME_SCENES_FAILED
    return 0


def _print_result(road_km: float, edges: int, nodes: int, report: dict | None) -> None:
    """The run's one-line result on stdout (the logs go to stderr)."""
    import sys

    from roadseg.pipeline.summary import result_line

    sys.stdout.write(result_line(road_km, edges, nodes, report) + "\n")
    sys.stdout.flush()


def _written_report(written: list[Path]) -> dict | None:
    """The evaluation report among a many-scene run's outputs (``None``: not evaluated)."""
    import json

    report = next((p for p in written if p.name.endswith(".evaluation.json")), None)
    return json.loads(report.read_text(encoding="utf-8")) if report is not None else None
