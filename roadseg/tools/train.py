"""``roadseg train``: train a road model from a recipe (see roadseg.training.config)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roadseg.training.config import TrainConfig


def register(sub: argparse._SubParsersAction) -> None:
    from roadseg.training.config import DEFAULT_RECIPE

    p = sub.add_parser(
        "train",
        help="train a road segmentation model",
        description="Train a model from a recipe (paper | modern | cpu_lite | a YAML file). "
        "Re-running with the same --out resumes an interrupted run. Options not given keep the "
        "recipe's values.",
    )
    p.add_argument(
        "--recipe", default=DEFAULT_RECIPE, help="bundled recipe name (paper, modern, cpu_lite) or YAML path"
    )
    p.add_argument("--data-root", help="prepared dataset root (ROOT/<split>/sat|map, see `roadseg data`)")
    add_data_arguments(p)
    p.add_argument(
        "-o", "--output", "--out", dest="out", required=True,
        help="run folder: checkpoints, logs, resume state",
    )
    p.add_argument("--time-budget-min", type=float, help="stop after this many minutes (schedule completes)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out holds a run")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any recipe field (YAML value), e.g. --set epochs=5 --set 'arch_args={filters: lite}'",
    )
    p.set_defaults(func=main)


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """The data options shared by ``train`` and ``calibrate`` (see roadseg.training.pairs)."""
    p.add_argument(
        "--images", action="append",
        help="folder of images (PNG, TIFF, JPEG); repeat with --masks for several folders",
    )
    p.add_argument("--masks", action="append", help="folder of road masks with the same file stems (one per --images)")
    p.add_argument(
        "--tiles-csv",
        help="CSV with columns image, mask, split (train|valid): the valid tiles select checkpoints",
    )
    p.add_argument("--tiles-root", help="folder the CSV's paths are relative to (default: the CSV's folder)")
    p.add_argument("--holdout-csv", help="CSV with a 'tile' column: training tiles moved to validation")
    p.add_argument("--exclude-csv", help="CSV with a 'tile' column: tiles used neither to train nor to validate")


def data_overrides(args: argparse.Namespace) -> dict:
    """TrainConfig fields from the data options that were given."""
    out: dict = {}
    for key, value in (
        ("images_dir", args.images),
        ("masks_dir", args.masks),
        ("tiles_csv", args.tiles_csv),
        ("tiles_root", args.tiles_root),
        ("holdout_csv", args.holdout_csv),
        ("exclude_csv", args.exclude_csv),
        ("data_root", args.data_root),
    ):
        if value is not None:
            out[key] = value
    return out


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of the parsed arguments: the recipe, then --set, then the flags given."""
    from roadseg.training import load_recipe, parse_overrides

    overrides = parse_overrides(args.overrides)
    overrides.update(data_overrides(args))
    for key, value in (
        ("time_budget_min", args.time_budget_min),
        ("device", args.device),
        ("threads", args.threads),
    ):
        if value is not None:
            overrides[key] = value
    overrides["out_dir"] = args.out
    if args.no_resume:
        overrides["resume"] = False
    return load_recipe(args.recipe, overrides)


def main(args: argparse.Namespace) -> int:
    import logging

    from roadseg.training import train

    config = config_from_args(args)
    config.validate()
    result = train(config)
    logging.getLogger("roadseg").info(
        "trained %d epochs (%d steps) in %.1f min; last: %s; best: %s",
        result.epochs_done, result.steps_done, result.wall_s / 60, result.last, result.best,
    )
    return 0
