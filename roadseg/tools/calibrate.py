"""``roadseg calibrate``: pick a run's best checkpoint on held-out tiles and store its threshold."""

from __future__ import annotations

import argparse

from roadseg.tools.train import add_data_arguments, data_overrides


def register(sub: argparse._SubParsersAction) -> None:
    from roadseg.evaluation.slack import DEFAULT_SLACK_M
    from roadseg.tools import config_default
    from roadseg.training.config import TrainConfig

    p = sub.add_parser(
        "calibrate",
        help="score checkpoints on held-out tiles; save the best with its break-even threshold",
        description="Measure the held-out relaxed break-even point (3 m of slack, the paper's "
        "3 px at 1 m) of each checkpoint with the tiled predictor, keep the best and store its "
        "break-even threshold in its metadata.",
    )
    p.add_argument("checkpoints", nargs="+", help="checkpoint files (e.g. runs/x/epoch_*.safetensors)")
    p.add_argument("-o", "--output", "--out", dest="out", required=True, help="output checkpoint (.safetensors)")
    p.add_argument("--data-root", help="prepared dataset root (see `roadseg data`)")
    add_data_arguments(p)
    p.add_argument(
        "--source-gsd",
        type=float,
        default=config_default(TrainConfig, "source_gsd_m"),
        help="GSD of images without georeferencing (m)",
    )
    p.add_argument("--device", default=config_default(TrainConfig, "device"), help="auto | cpu | cuda[:N]")
    slack = p.add_mutually_exclusive_group()
    slack.add_argument(
        "--slack-m",
        type=float,
        default=DEFAULT_SLACK_M,
        metavar="METRES",
        help="relaxed slack of the break-even point in metres at the tiles' GSD",
    )
    slack.add_argument(
        "--rho", type=int, default=None, metavar="PX", help="the slack in pixels instead (an override)"
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import logging

    from roadseg.errors import InputError
    from roadseg.io_guard import check_paths
    from roadseg.training import TrainConfig
    from roadseg.training.calibrate import calibrate

    if args.rho is not None and args.rho < 0:
        raise InputError(f"--rho {args.rho}: must be >= 0")
    if args.slack_m < 0:
        raise InputError(f"--slack-m {args.slack_m}: must be >= 0")
    check_paths(
        [("-o", args.out)],
        [("checkpoint", c) for c in args.checkpoints]
        + [("--holdout-csv", args.holdout_csv), ("--tiles-csv", args.tiles_csv),
           ("--exclude-csv", args.exclude_csv)],
    )
    config = TrainConfig(source_gsd_m=args.source_gsd, **data_overrides(args))
    result = calibrate(
        args.checkpoints, config, args.out, device=args.device, slack_m=args.slack_m, rho=args.rho
    )
    best = result.scores[result.best.name]
    logging.getLogger("roadseg").info(
        "best: %s (validation break-even %.4f at p = %.4f) -> %s",
        result.best, best["breakeven"], best["breakeven_threshold"], result.out,
    )
    return 0
