"""``roadseg predict SCENE.tif -o PROB.tif``: road probability GeoTIFF for one scene."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
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
    p.add_argument("--weights", help="checkpoint .safetensors or a shipped model's name (default: resunet_w32_massachusetts)")
    p.add_argument(
        "--tile", type=int, default=None, help="tile size in px (default: the model's, 224)"
    )
    p.add_argument(
        "--overlap", type=int, default=14, help="tile overlap in px (default 14, the paper)"
    )
    p.add_argument(
        "--blend",
        default="cosine",
        choices=["mean", "linear", "cosine", "spline"],
        help="blending of overlapping tiles (default cosine; mean is the paper)",
    )
    p.add_argument("--tta", action="store_true", help="D4 test-time augmentation (8x slower)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] (default auto)")
    p.add_argument(
        "--amp",
        default="auto",
        choices=["auto", "bf16", "fp16", "off"],
        help="mixed precision on CUDA (default auto: bf16 if supported)",
    )
    p.add_argument("--batch-size", type=int, default=8, help="tiles per forward pass (default 8)")
    p.add_argument("--prefetch", type=int, default=2, help="tile-row strips read ahead (default 2)")
    p.add_argument("--bands", default=None, help="1-based input bands in model order, e.g. 1,2,3")
    p.add_argument(
        "--gsd-tolerance",
        type=float,
        default=0.05,
        help="resample when the scene GSD differs from the model's by more (default 0.05)",
    )
    p.add_argument(
        "--gsd",
        type=float,
        metavar="METRES",
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


def main(args: argparse.Namespace) -> int:
    from roadseg.inference.predictor import PredictConfig, predict_scene
    from roadseg.io_guard import check_paths
    from roadseg.models import resolve_weights
    from roadseg.raster.georef import check_georeferenced
    from roadseg.tools import on_terminal

    check_paths(
        [("-o", args.output)],
        [("scene", args.scene), ("--weights", resolve_weights(args.weights))],
    )
    check_georeferenced(args.scene, args.gsd)
    config = PredictConfig(
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
    )
    predict_scene(args.scene, args.output, config)  # logs what it wrote (the path once)
    return 0
