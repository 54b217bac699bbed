"""Cost of every registered 2-D model at the 'lite' and 'paper' widths.

For each model and width: trainable parameters, FLOPs per megapixel and CPU inference
throughput (megapixels per second), with ratios to the paper's ResUNet at the same
width (the baseline, measured in the same run).

* FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one 224 x 224
  forward pass (the paper's tile) and scaled to 1e6 pixels: ``flops * 1e6 / 224**2``.
  The counter sees convolutions and matrix products (2 FLOPs per multiply-add); BN,
  activations, pooling and additions are not counted (a few per cent at most).
* Throughput: ``--batches`` rounds, each timing one batch of ``--batch`` tiles per
  model in turn (after one warm-up batch per model), in eval mode under
  ``torch.inference_mode`` with ``torch.set_num_threads(--threads)``;
  MPix/s = tiles * 224**2 / 1e6 / (fastest batch time, seconds).

Usage::

    python benchmarks/model_costs.py                       # all 2-D models, both widths
    python benchmarks/model_costs.py --models resunet unet --widths lite --json costs.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from roadseg.atomic import atomic_path
from roadseg.models import available_models, build_model

BASELINE = "resunet"


@dataclass
class CostConfig:
    """What to measure.

    Attributes:
        models: registry names (None: every registered model; each builds in 2-D by
            default, ``res_unet`` included).
        widths: width names passed as ``filters=`` to every model.
        tile: square tile side for FLOPs and timing, pixels.
        batch: tiles per timed batch.
        batches: timed batches (after one warm-up batch).
        threads: torch CPU threads.
    """

    models: list[str] | None = None
    widths: list[str] = field(default_factory=lambda: ["lite", "paper"])
    tile: int = 224
    batch: int = 2
    batches: int = 3
    threads: int = 2


@dataclass
class ModelCost:
    model: str
    width: str
    params: int
    gflops_per_mpix: float
    mpix_per_s: float
    params_ratio: float = float("nan")
    flops_ratio: float = float("nan")
    speed_ratio: float = float("nan")


def _count(name: str, width: str, cfg: CostConfig) -> tuple[torch.nn.Module, int, float]:
    torch.manual_seed(0)
    net = build_model(name, filters=width).eval()
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        net(torch.randn(1, 3, cfg.tile, cfg.tile))
    return net, params, counter.get_total_flops() * 1e6 / cfg.tile**2 / 1e9


def run(cfg: CostConfig) -> list[ModelCost]:
    """Measure every (model, width); batches are timed round-robin over the models.

    Round-robin timing spreads any slowdown from other work on a shared machine over
    all models alike, and the reported time is the fastest of the rounds (as ``timeit``
    does): the cost of the model itself, not of whatever else ran at that moment.
    """
    torch.set_num_threads(cfg.threads)
    names = cfg.models or available_models()
    if BASELINE not in names:
        names = [BASELINE, *names]
    xb = torch.randn(cfg.batch, 3, cfg.tile, cfg.tile)
    mpix = cfg.batch * cfg.tile**2 / 1e6
    rows: list[ModelCost] = []
    for width in cfg.widths:
        nets = {}
        for name in names:
            net, params, gflops = _count(name, width, cfg)
            with torch.inference_mode():
                net(xb)  # warm-up: allocator and oneDNN primitive caches
            nets[name] = net
            rows.append(ModelCost(name, width, params, gflops, float("nan")))
        times: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(cfg.batches):
            for name, net in nets.items():
                with torch.inference_mode():
                    t0 = time.perf_counter()
                    net(xb)
                    times[name].append(time.perf_counter() - t0)
        for row in rows[-len(names) :]:
            row.mpix_per_s = mpix / min(times[row.model])
        del nets
    for row in rows:
        base = next(r for r in rows if r.model == BASELINE and r.width == row.width)
        row.params_ratio = row.params / base.params
        row.flops_ratio = row.gflops_per_mpix / base.gflops_per_mpix
        row.speed_ratio = row.mpix_per_s / base.mpix_per_s
    return rows


def markdown(rows: list[ModelCost], cfg: CostConfig) -> str:
    lines = [
        f"Tile {cfg.tile}x{cfg.tile}, batch {cfg.batch}, fastest of {cfg.batches} rounds, "
        f"{cfg.threads} CPU threads, torch {torch.__version__}; ratios vs '{BASELINE}' at the "
        "same width.",
        "",
        "| model | width | params | ×params | GFLOPs/MPix | ×FLOPs | CPU MPix/s | ×speed |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.width} | {r.params:,} | {r.params_ratio:.2f} | "
            f"{r.gflops_per_mpix:,.1f} | {r.flops_ratio:.2f} | {r.mpix_per_s:.3f} | "
            f"{r.speed_ratio:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--widths", nargs="+", default=["lite", "paper"])
    parser.add_argument("--tile", type=int, default=224)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    cfg = CostConfig(
        models=args.models,
        widths=args.widths,
        tile=args.tile,
        batch=args.batch,
        batches=args.batches,
        threads=args.threads,
    )
    rows = run(cfg)
    sys.stdout.write(markdown(rows, cfg) + "\n")
    if args.json is not None:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
