#!/usr/bin/env python
"""What each training choice buys on CPU: equal-step runs scored on the held-out tiles.

Variants differ from the reference (lite ResUNet, 2 m GSD, no-imagery crops
redrawn, BCE + Dice, D4) in one choice each. All use the same seed, steps and
batch size; the table reports held-out relaxed break-even (rho = 3, white
excluded) with the training CPU time, so each choice reads as break-even per
CPU-hour.

    python benchmarks/training_ablation.py --images DIR --masks DIR --steps 300 \
        --out benchmarks/results/training_ablation
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from roadseg.training.experiments import (
    markdown_table,
    read_results,
    rescore,
    run_variant,
    short_run_config,
    write_results,
)

VARIANTS: dict[str, dict] = {
    "reference (lite, 2 m, skip white, bce+dice)": {},
    "1 m training GSD": {"gsd_m": 1.0},
    "uniform crops (white kept)": {"max_invalid_fraction": 1.0},
    "MSE loss (paper)": {"loss": "mse"},
    "tiny width 8-16-32-64": {"arch_args": {"filters": [8, 16, 32, 64]}},
    "reference, seed 1 (run-to-run noise)": {"seed": 1},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True)
    ap.add_argument("--masks", required=True)
    ap.add_argument("--holdout-csv", default="data_manifests/massachusetts_holdout.csv")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="run only variants whose name contains one of these")
    ap.add_argument("--out", default="benchmarks/results/training_ablation")
    ap.add_argument("--rescore", action="store_true", help="score the saved checkpoints again, no training")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = Path(args.out)
    base = short_run_config(args.images, args.masks, args.holdout_csv, args.steps, args.threads)
    if args.rescore:
        results = rescore(read_results(out / "results.json"), base)
        write_results(results, out / "results.json")
        (out / "results.md").write_text(markdown_table(results) + "\n")
    else:
        # with --only, the other variants' earlier results are kept
        earlier = read_results(out / "results.json") if args.only and (out / "results.json").is_file() else []
        results = [r for r in earlier if not any(s in r.name for s in args.only or [])]
        for name, change in VARIANTS.items():
            if args.only and not any(s in name for s in args.only):
                continue
            slug = "".join(ch if ch.isalnum() else "_" for ch in name)[:40]
            config = dataclasses.replace(base, out_dir=str(out / slug), **change)
            results.append(run_variant(name, config))
            write_results(results, out / "results.json")
            (out / "results.md").write_text(markdown_table(results) + "\n")
    print(markdown_table(results))


if __name__ == "__main__":
    main()
