"""The training loop: random crops → model → loss, checkpoints, logs, resume, DDP.

Run with :func:`train`; ``roadseg train`` and ``pipelines/train.py`` only parse
arguments into a :class:`~roadseg.training.config.TrainConfig`.

Files written to ``out_dir`` (each atomically):

* ``last.safetensors`` and ``epoch_NNN.safetensors`` -- weights + metadata after every epoch;
* ``best.safetensors`` -- the epoch with the best held-out relaxed break-even point;
* ``state.pt`` + ``state.json`` -- optimizer and counters for resuming (our own file,
  read back with ``torch.load(weights_only=True)``, which cannot run code);
* ``log.csv`` / ``log.json`` -- loss, learning rate, time and metrics per epoch;
* ``log.png`` -- loss and break-even curves (``plot: true``).

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
from roadseg.inference.device import resolve_device
from roadseg.models import (
    CheckpointMeta,
    Normalisation,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from roadseg.training.config import TrainConfig
from roadseg.training.losses import get_loss
from roadseg.training.sampling import CropSampler
from roadseg.training.tiles import TrainingTile, load_tile

log = logging.getLogger(__name__)

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


@dataclass
class _Pair:
    tile: str
    image: Path
    label: Path


# ----------------------------------------------------------------------------- data


def _holdout_names(config: TrainConfig) -> set[str]:
    names = set(config.holdout)
    if config.holdout_csv:
        path = Path(config.holdout_csv)
        if not path.is_file():
            raise InputError(f"{path}: holdout CSV not found")
        with path.open() as fh:
            rows = list(csv.DictReader(fh))
        if rows and "tile" not in rows[0]:
            raise InputError(f"{path}: holdout CSV needs a 'tile' column")
        names |= {r["tile"] for r in rows}
    return names


def find_pairs(config: TrainConfig) -> list[_Pair]:
    """Image/label pairs named by the config, sorted by tile name."""
    if config.data_root:
        from roadseg.data import list_pairs

        return [_Pair(p.tile, Path(p.image), Path(p.label)) for p in list_pairs(config.data_root, config.split)]
    if not (config.images_dir and config.masks_dir):
        raise InputError("training data: give data_root, or images_dir and masks_dir")
    images, masks = Path(config.images_dir), Path(config.masks_dir)
    for d in (images, masks):
        if not d.is_dir():
            raise InputError(f"{d}: training data folder not found")
    exts = {".png", ".tif", ".tiff"}
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in exts}
    pairs = [
        _Pair(p.stem, p, by_stem[p.stem])
        for p in sorted(images.iterdir())
        if p.suffix.lower() in exts and p.stem in by_stem
    ]
    if not pairs:
        raise InputError(f"{images}: no images with a matching label in {masks}")
    return pairs


@dataclass
class ValidationTile:
    """A held-out tile: the image at the training GSD, labels at full resolution."""

    name: str
    image: np.ndarray
    label: np.ndarray  # bool, full resolution
    valid: np.ndarray  # bool, full resolution


def load_validation_tiles(pairs: list[_Pair], config: TrainConfig) -> list[ValidationTile]:
    out = []
    for p in pairs:
        coarse = load_tile(p.image, p.label, config.gsd_m, config.source_gsd_m, config.bands)
        full = load_tile(p.image, p.label, config.source_gsd_m, config.source_gsd_m, config.bands)
        out.append(ValidationTile(p.tile, coarse.image, full.label > 0.5, full.valid))
    return out


# ----------------------------------------------------------------------------- helpers


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


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
            return c.gamma ** (epoch // max(1, c.step_epochs))
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
    batch_size: int = 8,
) -> dict[str, float]:
    """Relaxed break-even point (ρ = 3 px at full resolution) pooled over whole tiles.

    Each tile is predicted with the real tiled predictor at the training GSD, the
    probabilities are brought back to the label grid (bilinear), quantised to
    the 256 levels of a probability GeoTIFF, and scored with white no-imagery
    pixels excluded.
    """
    import torch.nn.functional as F

    from roadseg.evaluation.pixel import breakeven, relaxed_counts
    from roadseg.inference import PredictConfig, predict_array

    if not tiles:
        raise InputError("validation: no held-out tiles to score")
    cfg = PredictConfig(device=str(device), batch_size=batch_size)
    total = None
    for t in tiles:
        prob = predict_array(model, meta, t.image, cfg)
        if prob.shape != t.label.shape:
            prob = F.interpolate(
                torch.from_numpy(prob)[None, None], size=t.label.shape, mode="bilinear", align_corners=False
            )[0, 0].numpy()
        prob8 = np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)
        counts = relaxed_counts(prob8, t.label, valid=t.valid, rho=3)
        total = counts if total is None else total + counts
    assert total is not None
    result = breakeven(total)
    return {
        "breakeven": float(result.breakeven),
        "breakeven_threshold": float(result.breakeven_threshold),
    }


# ----------------------------------------------------------------------------- training


def _save_state(out: Path, optimizer: torch.optim.Optimizer, counters: dict[str, Any]) -> None:
    with atomic_path(out / "state.pt") as tmp:
        torch.save(optimizer.state_dict(), tmp)
    with atomic_path(out / "state.json") as tmp:
        tmp.write_text(json.dumps(counters))


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
        ax2.plot(*zip(*be), "s-", color="tab:green", label="held-out break-even")
        ax2.set_ylabel("relaxed break-even (ρ=3)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def build_meta(config: TrainConfig, train_tiles: list[str], val_tiles: list[str]) -> CheckpointMeta:
    arch_args = dict(config.arch_args)
    return CheckpointMeta(
        architecture=config.architecture,
        arch_args=arch_args,
        in_bands=config.bands,
        band_names=["red", "green", "blue", "nir"][: config.bands],
        normalisation=DEFAULT_NORMALISATION,
        gsd_m=config.gsd_m,
        tile=config.crop,
        provenance={
            "trainer": "roadseg.training.train",
            "git_commit": _git_commit(),
            "recipe": {k: v for k, v in config.to_dict().items() if k not in {"out_dir", "resume"}},
            "train_tiles": train_tiles,
            "validation_tiles": val_tiles,
        },
    )


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


def train(config: TrainConfig) -> TrainResult:
    """Train a model as ``config`` says; resume from ``out_dir`` when it holds a run."""
    rank, world = _distributed()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed + rank)
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    pairs = find_pairs(config)
    holdout = _holdout_names(config)
    train_pairs = [p for p in pairs if p.tile not in holdout]
    val_pairs = [p for p in pairs if p.tile in holdout]
    if config.max_tiles:
        train_pairs = train_pairs[: config.max_tiles]
    if config.val_max_tiles is not None:
        val_pairs = val_pairs[: config.val_max_tiles]
    if not train_pairs:
        raise InputError(f"{config.images_dir or config.data_root}: no training tiles left after the holdout")
    log.info("training on %d tiles, validating on %d held-out tiles", len(train_pairs), len(val_pairs))

    tiles: list[TrainingTile] = [
        load_tile(p.image, p.label, config.gsd_m, config.source_gsd_m, config.bands)
        for p in tqdm(train_pairs, desc="load tiles", disable=rank != 0)
    ]
    val_tiles = load_validation_tiles(val_pairs, config) if (config.val_every and rank == 0) else []
    sampler = CropSampler(
        tiles, config.crop, config.max_invalid_fraction, config.augment, seed=config.seed + rank
    )
    meta = build_meta(config, [p.tile for p in train_pairs], [p.tile for p in val_pairs])

    if config.init_weights:
        # fine-tuning: the checkpoint decides the architecture
        init_model, init_meta = load_checkpoint(config.init_weights)
        config.architecture, config.arch_args = init_meta.architecture, dict(init_meta.arch_args)
        meta = build_meta(config, [p.tile for p in train_pairs], [p.tile for p in val_pairs])
        meta.provenance["init_weights"] = str(config.init_weights)
        meta.provenance["init_provenance"] = init_meta.provenance
        model = init_model.to(device)
    else:
        model = build_model(config.architecture, in_channels=config.bands, **config.arch_args).to(device)
    # NCHW on purpose: with torch 2.13's CPU kernels, the backward pass of a channels_last
    # ResUNet narrower than 16 channels aborts the process ("double free or corruption"),
    # and channels_last bought no measurable training speed on CPU here
    optimizer = _optimizer(config, model)
    loss_fn = get_loss(config.loss)
    steps_per_epoch = max(1, config.steps_per_epoch // world)
    schedule = _Schedule(config, steps_per_epoch * config.epochs)

    # resume
    start_epoch, step, elapsed_before, best_score = 0, 0, 0.0, -1.0
    history: list[dict[str, Any]] = []
    state_json = out / "state.json"
    if config.resume and state_json.is_file() and (out / "last.safetensors").is_file():
        from safetensors.torch import load_file

        counters = json.loads(state_json.read_text())
        model.load_state_dict(load_file(str(out / "last.safetensors"), device=str(device)))
        optimizer.load_state_dict(torch.load(out / "state.pt", map_location=device, weights_only=True))
        sampler.set_state(counters["sampler"])
        torch.set_rng_state(torch.tensor(counters["torch_rng"], dtype=torch.uint8))
        start_epoch, step = counters["epoch"], counters["step"]
        elapsed_before, best_score = counters["elapsed_s"], counters["best_score"]
        history = counters["history"]
        log.info("resuming %s at epoch %d, step %d", out, start_epoch, step)

    net: torch.nn.Module = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    use_amp = config.amp and device.type == "cuda"
    t0 = time.perf_counter() - elapsed_before
    epoch = start_epoch
    for epoch in range(start_epoch, config.epochs):
        if schedule.progress(step, time.perf_counter() - t0) >= 1.0:
            log.info("time budget of %.1f min used; stopping before epoch %d", config.time_budget_min, epoch + 1)
            break
        net.train()
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}", disable=rank != 0)
        for _ in bar:
            elapsed = time.perf_counter() - t0
            if schedule.progress(step, elapsed) >= 1.0:
                break
            lr = config.lr * schedule.factor(step, epoch, elapsed)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = sampler.batch(config.batch_size, DEFAULT_NORMALISATION)
            x = batch.image.to(device, non_blocking=True)
            y, w = batch.target.to(device), batch.valid.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = net(x)
            loss = loss_fn(logits.float(), y, w)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            step += 1
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", lr=f"{lr:.2e}")
        if rank != 0:
            continue
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "step": step,
            "loss": float(np.mean(losses)) if losses else float("nan"),
            "lr": lr if losses else float("nan"),
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
        meta.provenance.update(epochs=epoch + 1, steps=step, wall_time_s=row["elapsed_s"], hardware=_hardware(device))
        if val_tiles and config.val_every and (epoch + 1) % config.val_every == 0:
            model.eval()
            scores = validate(model, meta, val_tiles, device)
            row["val_breakeven"] = scores["breakeven"]
            row["val_breakeven_threshold"] = scores["breakeven_threshold"]
            meta.metrics = {"heldout_relaxed_breakeven": scores["breakeven"], "epoch": epoch + 1}
            meta.threshold = scores["breakeven_threshold"]
            log.info("epoch %d: loss %.4f, held-out break-even %.4f", epoch + 1, row["loss"], scores["breakeven"])
            if scores["breakeven"] > best_score:
                best_score = scores["breakeven"]
                save_checkpoint(out / "best.safetensors", model, meta)
        history.append(row)
        save_checkpoint(out / f"epoch_{epoch + 1:03d}.safetensors", model, meta)
        save_checkpoint(out / "last.safetensors", model, meta)
        _save_state(
            out,
            optimizer,
            {
                "epoch": epoch + 1,
                "step": step,
                "elapsed_s": time.perf_counter() - t0,
                "best_score": best_score,
                "sampler": sampler.state(),
                "torch_rng": torch.get_rng_state().tolist(),
                "history": history,
            },
        )
        _write_logs(out, history, config.plot)
    if world > 1:
        torch.distributed.barrier()
    best = out / "best.safetensors"
    return TrainResult(
        out_dir=out,
        last=out / "last.safetensors",
        best=best if best.is_file() else None,
        epochs_done=len(history),
        steps_done=step,
        wall_s=time.perf_counter() - t0,
        history=history,
    )
