#!/usr/bin/env python
"""The paper's Table II with what a CPU allows: every 2-D architecture, same budget, same tiles.

Each registered 2-D model is trained at its ``lite`` width with the same recipe
(``cpu_lite``: AdamW, BCE + Dice, D4, 2 m GSD, no-imagery crops redrawn), the
same seed, crops and number of steps, on the Massachusetts tiles minus the
held-out ones, then scored on the held-out tiles (relaxed break-even, rho = 3,
white no-imagery pixels excluded). Costs (parameters, GFLOPs per megapixel, CPU
inference MPix/s) come from ``benchmarks/model_costs.py`` in the same run.

    python benchmarks/compare_models.py --images DIR --masks DIR --steps 150 \
        --out benchmarks/results/compare_models
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model_costs import CostConfig, run  # noqa: E402

from roadseg.training.experiments import (  # noqa: E402
    read_results,
    rescore,
    run_variant,
    short_run_config,
    write_results,
)

MODELS = ["resunet", "resunet_keras", "unet", "resunet_maxpool", "res_unet", "resunet2d"]
PAPER = [
    ("Mnih-CNN", 0.8873),
    ("Mnih-CNN+CRF", 0.8904),
    ("Mnih-CNN+post-processing", 0.9006),
    ("Saito-CNN", 0.9047),
    ("U-Net", 0.9053),
    ("ResUNet", 0.9187),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True)
    ap.add_argument("--masks", required=True)
    ap.add_argument("--holdout-csv", default="data_manifests/massachusetts_holdout.csv")
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/compare_models")
    ap.add_argument("--rescore", action="store_true", help="score the saved checkpoints again, no training")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = Path(args.out)
    base = short_run_config(args.images, args.masks, args.holdout_csv, args.steps, args.threads)
    if args.rescore:
        results = rescore(read_results(out / "results.json"), base)
        write_results(results, out / "results.json")
    else:
        results = []
        for name in args.models:
            config = dataclasses.replace(
                base, architecture=name, arch_args={"filters": "lite"}, out_dir=str(out / name)
            )
            results.append(run_variant(name, config))
            write_results(results, out / "results.json")
    names = [r.name for r in results]
    costs = {c.model: c for c in run(CostConfig(models=names, widths=["lite"], threads=args.threads))}
    lines = [
        f"Held-out relaxed break-even (rho = 3, white excluded) after {results[0].steps} steps of batch 8 "
        f"({results[0].steps * 8} crops), lite widths, 2 m GSD, CPU ({args.threads} threads).",
        "",
        "| model | params | GFLOPs/MPix | CPU MPix/s | train wall min | held-out break-even |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        c = costs[r.name]
        lines.append(
            f"| {r.name} | {c.params:,} | {c.gflops_per_mpix:.1f} | {c.mpix_per_s:.3f} | "
            f"{r.train_wall_s / 60:.1f} | {r.breakeven:.4f} |"
        )
    lines += ["", "Paper (Table II, full width, 1 m, full training, official test set):", ""]
    lines += ["| model | break-even |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in PAPER]
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    (out / "costs.json").write_text(json.dumps([dataclasses.asdict(c) for c in costs.values()], indent=1))
    print(text)


if __name__ == "__main__":
    main()
