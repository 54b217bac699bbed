"""The training loop: random crops → model → loss, checkpoints, logs, resume, DDP.

Run with :func:`train`; ``roadseg train`` and ``pipelines/train.py`` only parse
arguments into a :class:`~roadseg.training.config.TrainConfig`.

Files written to ``out_dir`` (each atomically):

* ``last.safetensors`` and ``epoch_NNN.safetensors`` -- weights + metadata after every epoch;
* ``best.safetensors`` -- the epoch with the best validation relaxed break-even point;
* ``resume.safetensors`` -- weights, optimizer state and counters as one unit
  (:mod:`roadseg.training.state`), so a run killed at any moment resumes consistently;
* ``log.csv`` / ``log.json`` -- loss, learning rate, time, crops/s and metrics per epoch;
* ``log.png`` -- loss and break-even curves (``plot: true``).

Speed (GPU): crops are drawn by ``num_workers`` background processes
(:mod:`roadseg.training.loader`) into pinned memory and copied with
``non_blocking=True``; on CUDA the model runs channels_last under bf16 autocast
(``amp``), optionally ``torch.compile``-d; the loss is summed on the device and
read back only every ``log_every`` steps and at the end of an epoch, so the
loop never waits for the device otherwise.

Resume guarantee: batch ``b`` is a function of ``(seed, rank, b)`` alone, and the
resume unit holds exact weights, optimizer moments and the torch RNG, so a run
stopped after epoch ``k`` and resumed ends with the same weights as an
uninterrupted run (bit-exact on CPU with a fixed thread count and no time
budget; with ``time_budget_min`` the learning rate depends on wall time).

Learning-rate schedules, with progress ``f`` in [0, 1]:

* ``cosine``: ``lr · ½ (1 + cos π f)``, after a linear warm-up of ``warmup_steps``;
  with a ``time_budget_min``, ``f = max(step / total_steps, elapsed / budget)``,
  so the schedule always completes inside the budget on a busy CPU;
* ``step``: ``lr · gamma ^ ⌊epoch / step_epochs⌋`` (the paper);
* ``constant``.

Multi-GPU: launched by ``torchrun --nproc_per_node N``, each rank draws its own
crops (seed + rank) for ``crops_per_epoch / N`` crops; rank 0 validates and saves.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.evaluation.slack import DEFAULT_SLACK_M, PAPER_GSD_M, slack_px
from roadseg.inference.device import resolve_device
from roadseg.inference.engine import DEFAULT_BATCH_SIZE
from roadseg.models import (
    CheckpointMeta,
    Normalisation,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from roadseg.models.checkpoint import read_meta
from roadseg.training.config import TrainConfig
from roadseg.training.loader import CropStream, crop_loader
from roadseg.training.losses import get_loss
from roadseg.training.pairs import TilePairSpec, find_pairs, split_pairs
from roadseg.training.sampling import CropSampler
from roadseg.training.state import has_state, load_state, save_state
from roadseg.training.tiles import TrainingTile, load_tile

log = logging.getLogger(__name__)

__all__ = ["TrainResult", "ValidationTile", "find_pairs", "load_validation_tiles", "train", "validate"]

#: Normalisation of the shipped models: 8-bit RGB to roughly zero mean, unit spread.
DEFAULT_NORMALISATION = Normalisation(scale=255.0, mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])



@dataclass
class TrainResult:
    out_dir: Path
    last: Path
    best: Path | None
    epochs_done: int
    steps_done: int
    wall_s: float
    history: list[dict[str, Any]] = field(default_factory=list)


# ----------------------------------------------------------------------------- data


@dataclass
class ValidationTile:
    """A validation tile: the image at the training GSD, labels at full resolution."""

    name: str
    image: np.ndarray
    label: np.ndarray  # bool, full resolution
    valid: np.ndarray  # bool, full resolution
    gsd_m: float = PAPER_GSD_M  # of the label grid: the relaxed slack is in metres


def load_validation_tiles(pairs: list[TilePairSpec], config: TrainConfig) -> list[ValidationTile]:
    out = []
    for p in pairs:
        coarse = load_tile(p.image, p.label, config.gsd_m, config.source_gsd_m, config.bands)
        full = load_tile(p.image, p.label, config.source_gsd_m, config.source_gsd_m, config.bands)
        out.append(
            ValidationTile(p.tile, coarse.image, full.label > 0.5, full.valid, config.source_gsd_m)
        )
    return out


# ----------------------------------------------------------------------------- helpers


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def git_commit(package_dir: Path | None = None) -> str | None:
    """The commit of roadseg's own checkout, or ``None``.

    Only a work tree whose top is the folder holding the ``roadseg`` package and
    which tracks that package counts: an installed copy inside some other
    repository (a virtual environment in a project, a vendored copy) has none.
    """
    pkg = (package_dir or Path(__file__).resolve().parents[1]).resolve()
    root = pkg.parent
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root:
        return None
    if _git(root, "ls-files", "--", f"{pkg.name}/__init__.py") is None:
        return None
    return _git(root, "rev-parse", "--short", "HEAD")


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


class _Schedule:
    def __init__(self, config: TrainConfig, total_steps: int) -> None:
        self.c = config
        self.total = max(1, total_steps)

    def factor(self, step: int, epoch: int, elapsed_s: float) -> float:
        c = self.c
        if c.warmup_steps and step < c.warmup_steps:
            return (step + 1) / c.warmup_steps
        if c.schedule == "constant":
            return 1.0
        if c.schedule == "step":
            return float(c.gamma ** (epoch // max(1, c.step_epochs)))
        if c.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, self.progress(step, elapsed_s))))
        raise InputError(f"schedule must be cosine, step or constant, got {c.schedule!r}")

    def progress(self, step: int, elapsed_s: float) -> float:
        f = step / self.total
        if self.c.time_budget_min:
            f = max(f, elapsed_s / (60.0 * self.c.time_budget_min))
        return f


def _optimizer(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    raise InputError(f"optimizer must be adamw or sgd, got {config.optimizer!r}")


# ----------------------------------------------------------------------------- validation


def validate(
    model: torch.nn.Module,
    meta: CheckpointMeta,
    tiles: list[ValidationTile],
    device: torch.device,
    batch_size: int = DEFAULT_BATCH_SIZE,
    slack_m: float = DEFAULT_SLACK_M,
    rho: int | None = None,
    exclude_white: bool = True,
) -> dict[str, Any]:
    """Relaxed break-even point pooled over whole tiles, with ``slack_m`` metres of slack at
    the labels' full resolution (as ``evaluate`` scores; ``rho`` pixels instead when given).

    Each tile is predicted with the real tiled predictor at the training GSD, the
    probabilities are brought back to the label grid (bilinear), quantised to
    the 256 levels of a probability GeoTIFF, and scored, with white no-imagery
    pixels excluded when ``exclude_white``. The result also records how it was
    measured (``rho_px``, ``white_excluded``, ``tiles``), which is what a
    checkpoint's metadata then states.
    """
    import torch.nn.functional as F

    from roadseg.evaluation.pixel import breakeven, relaxed_counts
    from roadseg.inference import PredictConfig, predict_array
    from roadseg.raster.quantise import quantise

    if not tiles:
        raise InputError("validation: no held-out tiles to score")
    cfg = PredictConfig(device=str(device), batch_size=batch_size)
    total = None
    rho_px = {slack_px(slack_m, rho, t.gsd_m, t.name) for t in tiles}
    if len(rho_px) > 1:
        raise InputError(f"validation: tiles at different GSDs give different slacks {sorted(rho_px)}")
    (rho_used,) = rho_px
    for t in tiles:
        prob = predict_array(model, meta, t.image, cfg)
        if prob.shape != t.label.shape:
            prob = F.interpolate(
                torch.from_numpy(prob)[None, None], size=t.label.shape, mode="bilinear", align_corners=False
            )[0, 0].numpy()
        prob8 = quantise(prob)  # the levels a probability GeoTIFF would hold
        counts = relaxed_counts(prob8, t.label, valid=t.valid if exclude_white else None, rho=rho_used)
        total = counts if total is None else total + counts
    assert total is not None
    result = breakeven(total)
    return {
        "breakeven": float(result.breakeven),
        "breakeven_threshold": float(result.breakeven_threshold),
        "rho_px": int(rho_used),
        "slack_m": float(slack_m) if rho is None else None,
        "white_excluded": bool(exclude_white),
        "tiles": [t.name for t in tiles],
    }


def validation_metrics(scores: dict[str, Any], epoch: int | None = None) -> dict[str, Any]:
    """Checkpoint metrics from one :func:`validate` result (the measurement states itself)."""
    metrics: dict[str, Any] = {
        "heldout_relaxed_breakeven": scores["breakeven"],
        "heldout_breakeven_threshold": scores["breakeven_threshold"],
        "heldout_tiles": list(scores["tiles"]),
        "rho_px": scores["rho_px"],
        "slack_m": scores.get("slack_m"),  # None: the slack was given in pixels (--rho)
        "white_excluded": scores["white_excluded"],
    }
    if epoch is not None:
        metrics["epoch"] = epoch
    return metrics


# ----------------------------------------------------------------------------- logs


def _write_logs(out: Path, history: list[dict[str, Any]], plot: bool) -> None:
    keys = sorted({k for row in history for k in row})
    with atomic_path(out / "log.csv") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    with atomic_path(out / "log.json") as tmp:
        tmp.write_text(json.dumps(history, indent=1))
    if plot and history:
        _plot(out / "log.png", history)


def _plot(path: Path, history: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ep = [r["epoch"] for r in history]
    ax.plot(ep, [r["loss"] for r in history], "o-", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    be = [(r["epoch"], r["val_breakeven"]) for r in history if r.get("val_breakeven") is not None]
    if be:
        ax2 = ax.twinx()
        ax2.plot(*zip(*be), "s-", color="tab:green", label="validation break-even")
        ax2.set_ylabel("relaxed break-even (ρ=3)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def _normalisation(bands: int) -> Normalisation:
    """The shipped normalisation for ``bands`` input bands (one mean and std per band)."""
    d = DEFAULT_NORMALISATION
    return Normalisation(scale=d.scale, mean=[d.mean[0]] * bands, std=[d.std[0]] * bands)


def build_meta(config: TrainConfig, train_tiles: list[str], val_tiles: list[str]) -> CheckpointMeta:
    arch_args = dict(config.arch_args)
    return CheckpointMeta(
        architecture=config.architecture,
        arch_args=arch_args,
        in_bands=config.bands,
        band_names=["red", "green", "blue", "nir"][: config.bands],
        normalisation=_normalisation(config.bands),
        gsd_m=config.gsd_m,
        tile=config.crop,
        provenance={
            "trainer": "roadseg.training.train",
            "git_commit": git_commit(),
            "recipe": {k: v for k, v in config.to_dict().items() if k not in {"out_dir", "resume"}},
            "train_tiles": train_tiles,
            "validation_tiles": val_tiles,
        },
    )


# ----------------------------------------------------------------------------- training


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


@dataclass
class _Run:
    """What one rank of a run holds while training."""

    config: TrainConfig
    rank: int
    world: int
    device: torch.device
    out: Path
    model: torch.nn.Module
    net: torch.nn.Module  # the model as called: DDP-wrapped and/or compiled
    optimizer: torch.optim.Optimizer
    meta: CheckpointMeta
    sampler: CropSampler
    val_tiles: list[ValidationTile]
    steps_per_epoch: int
    schedule: _Schedule
    channels_last: bool
    epoch: int = 0
    step: int = 0
    elapsed_before: float = 0.0
    best_score: float = -1.0
    history: list[dict[str, Any]] = field(default_factory=list)


def _num_workers(config: TrainConfig, device: torch.device) -> int:
    if config.num_workers is not None:
        return config.num_workers
    return 0 if device.type != "cuda" else max(0, min(6, (os.cpu_count() or 1) - 1))


def _load_data(
    config: TrainConfig, rank: int
) -> tuple[list[TilePairSpec], list[TilePairSpec], CropSampler, list[ValidationTile]]:
    """Select the tiles, load the training tiles into a sampler and (rank 0) the validation tiles."""
    train_pairs, val_pairs = split_pairs(config)
    if not train_pairs:
        raise InputError(f"{config.tiles_csv or config.images_dir or config.data_root}: no training tiles left")
    log.info("training on %d tiles, validating on %d tiles", len(train_pairs), len(val_pairs))
    tiles: list[TrainingTile] = [
        load_tile(p.image, p.label, config.gsd_m, config.source_gsd_m, config.bands)
        for p in tqdm(train_pairs, desc="load tiles", disable=rank != 0)
    ]
    val_tiles = load_validation_tiles(val_pairs, config) if (config.val_every and rank == 0) else []
    sampler = CropSampler(tiles, config.crop, config.max_invalid_fraction, config.augment, seed=config.seed + rank)
    return train_pairs, val_pairs, sampler, val_tiles


def _make_model(config: TrainConfig, meta: CheckpointMeta, device: torch.device) -> tuple[torch.nn.Module, bool]:
    """The model on ``device`` (from ``init_weights`` when fine-tuning) and whether it is channels_last."""
    if config.init_weights:
        model, init_meta = load_checkpoint(config.init_weights)
        meta.provenance["init_weights"] = str(config.init_weights)
        meta.provenance["init_provenance"] = init_meta.provenance
    else:
        model = build_model(config.architecture, in_channels=config.bands, **config.arch_args)
    # channels_last on CUDA only: with torch 2.13's CPU kernels, the backward pass of a
    # channels_last ResUNet narrower than 16 channels aborts the process ("double free or
    # corruption"), and channels_last bought no measurable training speed on CPU here
    channels_last = device.type == "cuda" if config.channels_last is None else config.channels_last
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model, channels_last


def _setup(config: TrainConfig) -> _Run:
    rank, world = _distributed()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed + rank)
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if config.init_weights:
        # fine-tuning: the checkpoint decides the architecture (read before any tile is loaded)
        init_meta = read_meta(config.init_weights)
        config.architecture, config.arch_args = init_meta.architecture, dict(init_meta.arch_args)
    config.validate()
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    resuming = config.resume and has_state(out)
    train_pairs, val_pairs, sampler, val_tiles = _load_data(config, rank)
    meta = build_meta(config, [p.tile for p in train_pairs], [p.tile for p in val_pairs])
    model, channels_last = _make_model(config, meta, device)
    optimizer = _optimizer(config, model)
    steps_per_epoch = max(1, config.steps_per_epoch // world)
    run = _Run(
        config, rank, world, device, out, model, model, optimizer, meta, sampler, val_tiles,
        steps_per_epoch, _Schedule(config, steps_per_epoch * config.epochs), channels_last,
    )
    if resuming:
        counters = load_state(out, model, optimizer, device)
        run.epoch, run.step = int(counters["epoch"]), int(counters["step"])
        run.elapsed_before, run.best_score = float(counters["elapsed_s"]), float(counters["best_score"])
        run.history = list(counters["history"])
        log.info("resuming %s at epoch %d, step %d", out, run.epoch, run.step)
    net: torch.nn.Module = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.compile:
        net = torch.compile(net)  # type: ignore[assignment]
    run.net = net
    return run


def train(config: TrainConfig) -> TrainResult:
    """Train a model as ``config`` says; resume from ``out_dir`` when it holds a run."""
    run = _setup(config)
    c, device = run.config, run.device
    total_steps = run.steps_per_epoch * c.epochs
    stream = CropStream(
        run.sampler, c.batch_size, run.meta.normalisation, run.step, total_steps, key=(c.seed, run.rank)
    )
    loader = crop_loader(stream, _num_workers(c, device), device.type == "cuda", c.prefetch_batches)
    batches = iter(loader)
    loss_fn = get_loss(c.loss)
    use_amp = c.amp and device.type == "cuda"
    fmt = torch.channels_last if run.channels_last else torch.contiguous_format
    t0 = time.perf_counter() - run.elapsed_before
    for epoch in range(run.epoch, c.epochs):
        if run.schedule.progress(run.step, time.perf_counter() - t0) >= 1.0:
            log.info("time budget of %.1f min used; stopping before epoch %d", c.time_budget_min, epoch + 1)
            break
        run.net.train()
        loss_sum = torch.zeros((), device=device)
        n_steps, lr = 0, float("nan")
        t_epoch, cpu_epoch = time.perf_counter(), time.process_time()
        bar = tqdm(range(run.steps_per_epoch), desc=f"epoch {epoch + 1}/{c.epochs}", disable=run.rank != 0)
        for i in bar:
            elapsed = time.perf_counter() - t0
            if run.schedule.progress(run.step, elapsed) >= 1.0:
                break
            lr = c.lr * run.schedule.factor(run.step, epoch, elapsed)
            for group in run.optimizer.param_groups:
                group["lr"] = lr
            image, target, valid = next(batches)
            x = image.to(device, non_blocking=True, memory_format=fmt)
            y, w = target.to(device, non_blocking=True), valid.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = run.net(x)
            loss = loss_fn(logits.float(), y, w)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            run.optimizer.step()
            loss_sum += loss.detach()  # summed on the device: no host sync per step
            n_steps += 1
            run.step += 1
            if (i + 1) % c.log_every == 0 and run.rank == 0:
                bar.set_postfix(loss=f"{loss_sum.item() / n_steps:.4f}", lr=f"{lr:.2e}")
        mean_loss = loss_sum.item() / n_steps if n_steps else float("nan")  # also waits for the device
        train_s, cpu_s = time.perf_counter() - t_epoch, time.process_time() - cpu_epoch
        if run.rank == 0:
            _end_epoch(run, epoch, mean_loss, lr, n_steps, (train_s, cpu_s), time.perf_counter() - t0)
    if run.world > 1:
        torch.distributed.barrier()
    del batches  # stops the workers
    best = run.out / "best.safetensors"
    return TrainResult(
        out_dir=run.out,
        last=run.out / "last.safetensors",
        best=best if best.is_file() else None,
        epochs_done=len(run.history),
        steps_done=run.step,
        wall_s=time.perf_counter() - t0,
        history=run.history,
    )


def _end_epoch(
    run: _Run, epoch: int, loss: float, lr: float, n_steps: int, times: tuple[float, float], elapsed: float
) -> None:
    """Validate, save checkpoints and the resume unit, write the logs (rank 0).

    ``times``: wall and CPU seconds of this epoch's step loop (this process only:
    crop-drawing workers are not counted in the CPU time).
    """
    c, out, meta = run.config, run.out, run.meta
    train_s, cpu_s = times
    row: dict[str, Any] = {
        "epoch": epoch + 1,
        "step": run.step,
        "loss": loss,
        "lr": lr,
        "elapsed_s": round(elapsed, 1),
        "train_s": round(train_s, 3),
        "train_cpu_s": round(cpu_s, 3),
        "crops_per_s": round(n_steps * c.batch_size / train_s, 2) if train_s > 0 else float("nan"),
    }
    meta.provenance.update(epochs=epoch + 1, steps=run.step, wall_time_s=row["elapsed_s"], hardware=_hardware(run.device))
    if run.val_tiles and c.val_every and (epoch + 1) % c.val_every == 0:
        run.model.eval()
        scores = validate(run.model, meta, run.val_tiles, run.device)
        row["val_breakeven"] = scores["breakeven"]
        row["val_breakeven_threshold"] = scores["breakeven_threshold"]
        meta.metrics = validation_metrics(scores, epoch + 1)
        meta.threshold = scores["breakeven_threshold"]
        log.info("epoch %d: loss %.4f, validation break-even %.4f", epoch + 1, loss, scores["breakeven"])
        if scores["breakeven"] > run.best_score:
            run.best_score = scores["breakeven"]
            save_checkpoint(out / "best.safetensors", run.model, meta)
    run.history.append(row)
    counters = {
        "epoch": epoch + 1,
        "step": run.step,
        "elapsed_s": elapsed,
        "best_score": run.best_score,
        "history": run.history,
    }
    # the resume unit first: a kill after it and before the checkpoints below loses nothing
    save_state(out, run.model, run.optimizer, counters)
    save_checkpoint(out / f"epoch_{epoch + 1:03d}.safetensors", run.model, meta)
    save_checkpoint(out / "last.safetensors", run.model, meta)
    _write_logs(out, run.history, c.plot)
