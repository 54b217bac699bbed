"""``roadseg train``: train a road model from a recipe (see roadseg.training.config)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a road segmentation model",
        description="Train a model from a recipe (paper | modern | cpu_lite | a YAML file). "
        "Re-running with the same --out resumes an interrupted run.",
    )
    p.add_argument("--recipe", default="cpu_lite", help="bundled recipe name or YAML path (default: cpu_lite)")
    p.add_argument("--data-root", help="prepared dataset root (ROOT/<split>/sat|map, see `roadseg data`)")
    p.add_argument("--images", help="folder of training images (instead of --data-root)")
    p.add_argument("--masks", help="folder of road masks with the same file stems")
    p.add_argument("--out", required=True, help="run folder: checkpoints, logs, resume state")
    p.add_argument("--holdout-csv", help="CSV with a 'tile' column: tiles never trained on, used for validation")
    p.add_argument("--time-budget-min", type=float, help="stop after this many minutes (schedule completes)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out holds a run")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any recipe field (YAML value), e.g. --set epochs=5 --set 'arch_args={filters: lite}'",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import logging

    from roadseg.training import load_recipe, parse_overrides, train

    overrides = parse_overrides(args.overrides)
    for key, value in (
        ("data_root", args.data_root),
        ("images_dir", args.images),
        ("masks_dir", args.masks),
        ("holdout_csv", args.holdout_csv),
        ("time_budget_min", args.time_budget_min),
        ("device", args.device),
        ("threads", args.threads),
    ):
        if value is not None:
            overrides[key] = value
    overrides["out_dir"] = args.out
    if args.no_resume:
        overrides["resume"] = False
    config = load_recipe(args.recipe, overrides)
    result = train(config)
    logging.getLogger("roadseg").info(
        "trained %d epochs (%d steps) in %.1f min; last: %s; best: %s",
        result.epochs_done, result.steps_done, result.wall_s / 60, result.last, result.best,
    )
    return 0
