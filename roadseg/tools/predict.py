"""``roadseg predict SCENE.tif -o PROB.tif``: road probability GeoTIFF for one scene."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roadseg.inference.config import PredictConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    from roadseg.inference.config import PredictConfig  # not the predictor: no torch for --help
    from roadseg.tools import config_default, weights_help

    def default(name: str) -> object:
        return config_default(PredictConfig, name)

    p = subparsers.add_parser(
        "predict",
        help="road probability GeoTIFF (uint8 0..255) for a scene",
        description=(
            "Tile the scene (overlapping model-size tiles), run the model in batches, blend the "
            "overlaps and write a probability GeoTIFF (uint8, p = value / 255) on the scene's grid. "
            "Nodata pixels of the input are flagged in the output's internal mask."
        ),
    )
    p.add_argument("scene", help="input raster (GeoTIFF or any GDAL-readable file, 1-4 bands)")
    p.add_argument("-o", "--output", required=True, help="output probability GeoTIFF")
    p.add_argument("--weights", default=default("weights"), help=weights_help())
    add_backend_arguments(p)
    p.add_argument(
        "--tile", type=int, default=default("tile"), help="tile size in px (default: the model's)"
    )
    p.add_argument("--overlap", type=int, default=default("overlap"), help="tile overlap in px")
    p.add_argument(
        "--blend",
        default=str(getattr(default("blend"), "value", default("blend"))),
        choices=["mean", "linear", "cosine", "spline"],
        help="blending of overlapping tiles (mean is the paper's)",
    )
    p.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=default("tta"),
        help="D4 test-time augmentation (8x slower)",
    )
    p.add_argument("--device", default=default("device"), help="auto | cpu | cuda[:N]")
    p.add_argument(
        "--amp",
        default=default("amp"),
        choices=["auto", "bf16", "fp16", "off"],
        help="mixed precision on CUDA (auto: bf16 if supported)",
    )
    p.add_argument(
        "--batch-size", type=int, default=default("batch_size"), help="tiles per forward pass"
    )
    p.add_argument(
        "--prefetch", type=int, default=default("prefetch"), help="tile-row strips read ahead"
    )
    p.add_argument("--bands", default=default("bands"), help="1-based input bands in model order, e.g. 1,2,3")
    p.add_argument(
        "--gsd-tolerance",
        type=float,
        default=default("gsd_tolerance"),
        help="resample when the scene GSD differs from the model's by more than this fraction",
    )
    p.add_argument(
        "--gsd",
        type=float,
        metavar="METRES",
        default=default("gsd_m"),
        help="pixel size of a scene without georeferencing (required for one)",
    )
    p.add_argument(
        "--bbox",
        metavar="W,S,E,N",
        help="predict only inside this box (WGS 84 degrees; write --bbox=-71.1,42.3,-71.0,42.4 "
        "when west is negative): the output is that window, only its blocks are read",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def add_backend_arguments(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, defaults: bool = True
) -> None:
    """``--backend``, ``--precision`` and ``--quality`` (also ``extract``'s, without defaults
    there so that a config file is not overridden); defaults and choices from their homes."""
    from roadseg.inference.backend_names import PRECISIONS, backend_choices
    from roadseg.inference.config import PredictConfig
    from roadseg.inference.quality import QUALITY
    from roadseg.tools import config_default

    def default(name: str) -> object:
        return config_default(PredictConfig, name) if defaults else None

    def named(name: str) -> str:
        return "" if defaults else f" (default: {config_default(PredictConfig, name)})"

    p.add_argument(
        "--backend",
        choices=backend_choices(),
        default=default("backend"),
        help="inference backend; auto: onnxruntime on the CPU, torch on CUDA" + named("backend"),
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=default("precision"),
        help="numeric precision; reduced ones only where measured to keep quality "
        "(docs/backends.md)" + named("precision"),
    )
    p.add_argument(
        "--quality",
        choices=tuple(QUALITY),
        default=default("quality"),
        help="models and TTA when no --weights are given (docs/backends.md)" + named("quality"),
    )


def config_from_args(args: argparse.Namespace) -> PredictConfig:
    """The PredictConfig of the parsed arguments (every default is PredictConfig's own)."""
    from roadseg.inference.predictor import PredictConfig
    from roadseg.tools import on_terminal

    return PredictConfig(
        weights=args.weights,
        tile=args.tile,
        overlap=args.overlap,
        blend=args.blend,
        tta=args.tta,
        device=args.device,
        amp=args.amp,
        channels_last=not args.no_channels_last,
        compile=args.compile,
        batch_size=args.batch_size,
        prefetch=args.prefetch,
        bands=args.bands,
        gsd_tolerance=args.gsd_tolerance,
        progress=not args.no_progress and on_terminal(),
        gsd_m=args.gsd,
        bbox=args.bbox,
        backend=args.backend,
        precision=args.precision,
        quality=args.quality,
    )


def main(args: argparse.Namespace) -> int:
    from roadseg.inference.ensemble import split_weights
    from roadseg.inference.predictor import predict_scene
    from roadseg.io_guard import check_paths
    from roadseg.models import resolve_weights
    from roadseg.raster.georef import check_georeferenced, warn_gsd_ignored

    check_paths(
        [("-o", args.output)],
        [("scene", args.scene)]
        + [("--weights", resolve_weights(w)) for w in split_weights(args.weights)],
    )
    check_georeferenced(args.scene, args.gsd)
    warn_gsd_ignored(args.scene, args.gsd)
    predict_scene(args.scene, args.output, config_from_args(args))  # logs what it wrote (the path once)
    return 0
