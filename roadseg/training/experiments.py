"""Short, equal-budget training runs scored on held-out tiles, for ablations and model comparisons.

Each variant is a :class:`TrainConfig`; :func:`run_variant` trains it, scores
the final checkpoint on the held-out tiles (relaxed break-even, ρ = 3, white
no-imagery excluded) and measures the wall time and the process CPU time of the
training, so that variants can be compared as held-out break-even per CPU-hour.
The benchmark scripts ``benchmarks/training_ablation.py`` and
``benchmarks/compare_models.py`` are thin loops over this function.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from roadseg.models import load_checkpoint
from roadseg.training.config import TrainConfig, load_recipe
from roadseg.training.pairs import split_pairs
from roadseg.training.trainer import (
    load_validation_tiles,
    resolve_device,
    train,
    validate,
)

log = logging.getLogger(__name__)


@dataclass
class VariantResult:
    name: str
    breakeven: float
    breakeven_threshold: float
    steps: int
    train_wall_s: float
    train_cpu_s: float
    parameters: int
    gsd_m: float
    checkpoint: str

    @property
    def cpu_hours(self) -> float:
        return self.train_cpu_s / 3600.0


def short_run_config(
    images: str, masks: str, holdout_csv: str, steps: int, threads: int, batch_size: int = 8
) -> TrainConfig:
    """The ``cpu_lite`` recipe as one epoch of exactly ``steps`` steps (no time budget).

    Every variant of an experiment starts from this, so all see the same seed,
    crops and number of steps.
    """
    return load_recipe(
        "cpu_lite",
        {
            "images_dir": images,
            "masks_dir": masks,
            "holdout_csv": holdout_csv,
            "exclude_csv": None,  # these experiments score on the holdout tiles themselves
            "threads": threads,
            "time_budget_min": None,
            "epochs": 1,
            "crops_per_epoch": steps * batch_size,
            "batch_size": batch_size,
            "plot": False,
        },
    )


def score_checkpoint(checkpoint: str | Path, config: TrainConfig) -> dict[str, float]:
    """Held-out relaxed break-even (and its threshold) of ``checkpoint``, tiles as ``config`` says."""
    device = resolve_device(config.device)
    model, meta = load_checkpoint(checkpoint, device)
    config = dataclasses.replace(config, gsd_m=meta.gsd_m)
    tiles = load_validation_tiles(split_pairs(config)[1], config)
    return validate(model, meta, tiles, device)


def rescore(results: list[VariantResult], config: TrainConfig) -> list[VariantResult]:
    """Score the saved checkpoints of earlier runs again (e.g. after a metric fix); no training."""
    out = []
    for r in results:
        scores = score_checkpoint(r.checkpoint, config)
        out.append(
            dataclasses.replace(
                r, breakeven=scores["breakeven"], breakeven_threshold=scores["breakeven_threshold"]
            )
        )
        log.info("%s: rescored break-even %.4f (was %.4f)", r.name, out[-1].breakeven, r.breakeven)
    return out


def read_results(path: str | Path) -> list[VariantResult]:
    return [VariantResult(**row) for row in json.loads(Path(path).read_text())]


def run_variant(name: str, config: TrainConfig) -> VariantResult:
    """Train ``config`` (fresh, no resume) and score its last checkpoint on the held-out tiles."""
    config.resume = False
    config.val_every = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = train(config)
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    scores = score_checkpoint(result.last, config)
    model, _ = load_checkpoint(result.last)
    out = VariantResult(
        name=name,
        breakeven=scores["breakeven"],
        breakeven_threshold=scores["breakeven_threshold"],
        steps=result.steps_done,
        train_wall_s=wall_s,
        train_cpu_s=cpu_s,
        parameters=sum(p.numel() for p in model.parameters()),
        gsd_m=config.gsd_m,
        checkpoint=str(result.last),
    )
    log.info(
        "%s: break-even %.4f after %d steps, %.1f CPU-min",
        name,
        out.breakeven,
        out.steps,
        cpu_s / 60,
    )
    return out


def write_results(results: list[VariantResult], path: str | Path) -> None:
    """Append-safe JSON record of results (one list, rewritten whole)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in results], indent=1))


def markdown_table(results: list[VariantResult]) -> str:
    lines = [
        "| variant | held-out break-even | threshold | steps | train wall min | train CPU min | params |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.breakeven:.4f} | {r.breakeven_threshold:.3f} | {r.steps} | "
            f"{r.train_wall_s / 60:.1f} | {r.train_cpu_s / 60:.1f} | {r.parameters:,} |"
        )
    return "\n".join(lines)
