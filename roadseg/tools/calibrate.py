"""``roadseg calibrate``: pick a run's best checkpoint on held-out tiles and store its threshold."""

from __future__ import annotations

import argparse

from roadseg.tools.train import add_data_arguments, data_overrides


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
    add_data_arguments(p)
    p.add_argument("--source-gsd", type=float, default=1.0, help="GSD of images without georeferencing (m)")
    p.add_argument("--device", default="auto")
    p.add_argument("--rho", type=int, default=3, help="relaxation of the break-even point, px (default 3)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import logging

    from roadseg.errors import InputError
    from roadseg.io_guard import check_paths
    from roadseg.training import TrainConfig
    from roadseg.training.calibrate import calibrate

    if args.rho < 0:
        raise InputError(f"--rho {args.rho}: must be >= 0")
    check_paths(
        [("-o", args.out)],
        [("checkpoint", c) for c in args.checkpoints]
        + [("--holdout-csv", args.holdout_csv), ("--tiles-csv", args.tiles_csv),
           ("--exclude-csv", args.exclude_csv)],
    )
    config = TrainConfig(source_gsd_m=args.source_gsd, **data_overrides(args))
    result = calibrate(args.checkpoints, config, args.out, device=args.device, rho=args.rho)
    best = result.scores[result.best.name]
    logging.getLogger("roadseg").info(
        "best: %s (validation break-even %.4f at p = %.4f) -> %s",
        result.best, best["breakeven"], best["breakeven_threshold"], result.out,
    )
    return 0
