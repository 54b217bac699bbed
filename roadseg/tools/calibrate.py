"""``roadseg calibrate``: pick a run's best checkpoint on held-out tiles and store its threshold."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="score checkpoints on held-out tiles; save the best with its break-even threshold",
        description="Measure the held-out relaxed break-even point (rho = 3) of each checkpoint "
        "with the tiled predictor, keep the best and store its break-even threshold in its metadata.",
    )
    p.add_argument("checkpoints", nargs="+", help="checkpoint files (e.g. runs/x/epoch_*.safetensors)")
    p.add_argument("-o", "--out", required=True, help="output checkpoint (.safetensors)")
    p.add_argument("--data-root", help="prepared dataset root (see `roadseg data`)")
    p.add_argument("--images", help="folder of images (instead of --data-root)")
    p.add_argument("--masks", help="folder of road masks")
    p.add_argument("--holdout-csv", required=True, help="CSV with a 'tile' column: the held-out tiles")
    p.add_argument("--source-gsd", type=float, default=1.0, help="GSD of images without georeferencing (m)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import logging

    from roadseg.io_guard import check_paths
    from roadseg.training import TrainConfig
    from roadseg.training.calibrate import calibrate

    check_paths(
        [("-o", args.out)],
        [("checkpoint", c) for c in args.checkpoints] + [("--holdout-csv", args.holdout_csv)],
    )

    config = TrainConfig(
        data_root=args.data_root,
        images_dir=args.images,
        masks_dir=args.masks,
        holdout_csv=args.holdout_csv,
        source_gsd_m=args.source_gsd,
    )
    result = calibrate(args.checkpoints, config, args.out, device=args.device)
    best = result.scores[result.best.name]
    logging.getLogger("roadseg").info(
        "best: %s (held-out break-even %.4f at p = %.4f) -> %s",
        result.best, best["breakeven"], best["breakeven_threshold"], result.out,
    )
    return 0
