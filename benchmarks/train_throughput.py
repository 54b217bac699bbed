#!/usr/bin/env python
"""Training throughput: the real trainer against a bare training-step loop, same run.

Both sides use the same model (architecture and width), batch, crop size,
loss, optimizer, device, precision and memory format:

* **trainer**: :func:`roadseg.training.train` on real tiles (``--images/--masks``)
  or generated ones -- crops drawn, augmented and normalised (in ``--workers``
  processes), copied to the device, the step, the logging; its crops/s is the
  log's ``crops_per_s`` of the last epoch (the step loop's time: no validation,
  no checkpoint writing; the first epoch warms up);
* **bare loop**: the same step on one ready-made batch already on the device,
  repeated for as many steps.

The figure is the ratio trainer / bare (1.0: drawing crops costs nothing). Each
side runs ``--repeats`` times, alternating, and the median counts.

    python benchmarks/train_throughput.py --filters 8,16,32,64 --crop 96 --batch 8 --steps 16 --threads 1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch

from roadseg.models import build_model
from roadseg.training import TrainConfig, train
from roadseg.training.losses import get_loss
from roadseg.training.trainer import _optimizer


def make_tiles(folder: Path, n: int = 4, size: int = 512, seed: int = 0) -> tuple[Path, Path]:
    """``n`` RGB PNG tiles with a grid of dark roads, and their masks."""
    rng = np.random.default_rng(seed)
    images, masks = folder / "images", folder / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        img = rng.integers(90, 170, (3, size, size), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        for r in range(30 + 11 * k, size, 97):
            mask[r : r + 6] = 255
        for c in range(50 + 7 * k, size, 131):
            mask[:, c : c + 6] = 255
        img[:, mask > 0] = 45
        for path, arr in ((images / f"g{k}.png", img), (masks / f"g{k}.png", mask[None])):
            with rasterio.open(path, "w", driver="PNG", width=size, height=size, count=arr.shape[0],
                               dtype="uint8") as dst:
                dst.write(arr)
    return images, masks


def trainer_crops_per_s(cfg: TrainConfig, out: Path) -> tuple[float, float]:
    """Crops per wall second and per CPU second of the trainer's last epoch."""
    cfg = TrainConfig(**{**cfg.to_dict(), "out_dir": str(out), "resume": False})
    row = train(cfg).history[-1]
    crops = cfg.crops_per_epoch // cfg.batch_size * cfg.batch_size
    return float(row["crops_per_s"]), crops / float(row["train_cpu_s"])


def bare_crops_per_s(cfg: TrainConfig, steps: int) -> tuple[float, float]:
    """The step alone on one ready-made batch (same shapes, model, loss, optimizer, precision)."""
    device = torch.device("cuda" if cfg.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    channels_last = device.type == "cuda" if cfg.channels_last is None else cfg.channels_last
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(cfg.architecture, in_channels=cfg.bands, **cfg.arch_args).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    net = torch.compile(model) if cfg.compile else model
    opt = _optimizer(cfg, model)
    loss_fn = get_loss(cfg.loss)
    x = torch.randn(cfg.batch_size, cfg.bands, cfg.crop, cfg.crop, device=device).contiguous(memory_format=fmt)
    y = (torch.rand(cfg.batch_size, 1, cfg.crop, cfg.crop, device=device) > 0.9).float()
    w = torch.ones_like(y)
    use_amp = cfg.amp and device.type == "cuda"
    total = torch.zeros((), device=device)

    def step() -> None:
        nonlocal total
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = net(x)
        loss = loss_fn(logits.float(), y, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach()

    model.train()
    for _ in range(max(2, steps // 4)):  # warm-up, as the trainer's first epoch
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    total.item()  # waits for the device, as the trainer's end of epoch does
    crops = steps * cfg.batch_size
    return crops / (time.perf_counter() - t0), crops / (time.process_time() - c0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", action="append", help="tile folders (default: generated tiles)")
    ap.add_argument("--masks", action="append")
    ap.add_argument("--filters", default="8,16,32,64", help="ResUNet widths, or a preset name (lite, paper)")
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=16, help="steps per measured epoch")
    ap.add_argument("--augment", default="d4_colour")
    ap.add_argument("--workers", type=int, help="crop-drawing processes (default: the trainer's)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/train_throughput.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    filters: object = args.filters if not args.filters[0].isdigit() else [int(f) for f in args.filters.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        images, masks = args.images, args.masks
        if not images:
            i, m = make_tiles(Path(tmp) / "tiles")
            images, masks = [str(i)], [str(m)]
        cfg = TrainConfig(
            images_dir=images, masks_dir=masks, arch_args={"filters": filters}, crop=args.crop,
            batch_size=args.batch, crops_per_epoch=args.steps * args.batch, epochs=2, augment=args.augment,
            max_invalid_fraction=0.5, val_every=0, plot=False, threads=args.threads, device=args.device,
            num_workers=args.workers, compile=args.compile, schedule="constant", lr=1e-3,
        )
        cfg.validate()
        trainer, bare = [], []
        for r in range(args.repeats):  # alternating, the order flipped every repeat
            if r % 2 == 0:
                bare.append(bare_crops_per_s(cfg, args.steps))
            trainer.append(trainer_crops_per_s(cfg, Path(tmp) / f"run{r}"))
            if r % 2 == 1:
                bare.append(bare_crops_per_s(cfg, args.steps))
            print(f"repeat {r + 1}: trainer {trainer[-1][0]:.1f} crops/s, bare loop {bare[-1][0]:.1f} crops/s",
                  file=sys.stderr)
    t, b = statistics.median(v[0] for v in trainer), statistics.median(v[0] for v in bare)
    tc, bc = statistics.median(v[1] for v in trainer), statistics.median(v[1] for v in bare)
    device = "cuda" if args.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu"
    report = {
        "trainer_crops_per_s": round(t, 2),
        "bare_loop_crops_per_s": round(b, 2),
        "ratio": round(t / b, 3),
        "trainer_crops_per_cpu_s": round(tc, 2),
        "bare_loop_crops_per_cpu_s": round(bc, 2),
        "ratio_cpu_time": round(tc / bc, 3),
        "note": "ratio: wall-clock crops/s; ratio_cpu_time: crops per CPU second of the training "
        "process, the fairer figure on a shared CPU (workers=0 there, so all crop drawing is counted)",
        "runs_wall": {"trainer": [round(v[0], 2) for v in trainer], "bare_loop": [round(v[0], 2) for v in bare]},
        "setup": {
            "filters": filters, "crop": args.crop, "batch": args.batch, "steps": args.steps,
            "augment": args.augment, "workers": args.workers, "threads": args.threads, "device": device,
            "hardware": torch.cuda.get_device_name() if device == "cuda" else f"{platform.machine()} CPU",
            "compile": args.compile, "tiles": "generated 4 x 512 px" if not args.images else args.images,
        },
        "command": "python benchmarks/train_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    print(json.dumps(report, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
