#!/usr/bin/env python
"""Where the time of ``predict_scene`` goes: I/O floor, pipeline, model, whole, in one run.

On a real scene (Massachusetts Roads tiles, 1 m, mosaicked into one
``SIZE x SIZE`` RGB GeoTIFF in EPSG:26986, tiled 256 x 256 and DEFLATE
compressed like a delivered orthophoto; written at benchmark time from
``--images-dir``), four things are timed:

(a) ``io_floor``: read the scene with rasterio by 256-row strips and write one
    DEFLATE-compressed uint8 band (tiled 256, horizontal predictor, like the
    probability raster): the least any predictor has to do;
(b) ``pipeline_scene_gsd`` / ``pipeline_resampled``: ``predict_scene`` with a
    no-op forward (the "model" returns its first input channel as logits), i.e.
    everything but the model: reading, normalising, batching, sigmoid, blending,
    quantising, writing; once with a model GSD equal to the scene's (1 m) and
    once with the real model's coarser GSD (``--model-gsd``, 2 m), which adds
    the resampling there and back;
(c) ``forward``: the real model alone (the shipped model, or ``--weights``, or a
    random-weight ``--arch``) on as many tiles, in batches of the same size,
    already on the device (tensors made once; timed with a device sync);
(d) ``predict``: the whole ``predict_scene`` with that model.

Rates are scene megapixels per second (``SIZE² / t``). The ratios of issue 11:
``b/a`` as a rate ratio (``t_a / t_b``; target >= 0.8 at the scene's GSD and
>= 0.5 resampled) and ``d / max(b, c)`` as a time ratio (target <= 1.10: reading,
model and writing overlap). The CPUs here are shared, so every stage runs
``--repeats`` times, interleaved, and the fastest run of each is used (every
time is listed in the JSON).

    python benchmarks/predict_pipeline.py --size 3000 --repeats 2 \\
        --json benchmarks/results/predict_pipeline.json
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from affine import Affine
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_common import report  # noqa: E402

from roadseg.inference.device import prepare_model, resolve_amp, resolve_device  # noqa: E402
from roadseg.inference.predictor import PredictConfig, load_model, predict_scene  # noqa: E402
from roadseg.models import CheckpointMeta, build_model  # noqa: E402
from roadseg.raster.grid import TileGrid  # noqa: E402
from roadseg.raster.resample import model_grid  # noqa: E402
from roadseg.raster.scene import open_scene  # noqa: E402

# the data folder beside the checkout (../shared/data, see its SOURCES.md), or beside
# the folder holding it (a git worktree one level deeper)
_ROOT = Path(__file__).resolve().parents[1]
_MASS = "shared/data/massachusetts_roads/train_subset/images"
DEFAULT_IMAGES = next(
    (p for p in (_ROOT.parent / _MASS, _ROOT.parent.parent / _MASS) if p.is_dir()),
    _ROOT.parent / _MASS,
)
STRIP = 256
PROFILE: dict[str, Any] = {
    "driver": "GTiff",
    "count": 3,
    "dtype": "uint8",
    "crs": "EPSG:26986",
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "compress": "deflate",
    "BIGTIFF": "IF_SAFER",
}


def scene_images(images: Path) -> list[Path]:
    """RGB images to mosaic: ``images`` itself, or its ``*.png``/``*.tif`` with 3+ bands."""
    files = (
        [images]
        if images.is_file()
        else sorted(images.glob("*.png")) + sorted(images.glob("*.tif"))
    )
    found = []
    for f in files:
        with rasterio.open(f) as src:
            if src.count >= 3 and src.dtypes[0] == "uint8":
                found.append(f)
    if not found:
        raise SystemExit(f"{images}: no 8-bit RGB .png/.tif images (pass --images-dir)")
    return found


def make_real_scene(path: Path, images_dir: Path, size: int) -> Path:
    """Mosaic real RGB images (sorted, cycled; e.g. the 1500² Massachusetts tiles) into a
    ``size²`` 1 m GeoTIFF, written by strips (never held whole)."""
    images = scene_images(images_dir)
    with rasterio.open(images[0]) as first:
        side = min(first.height, first.width)
    per_row = -(-size // side)
    profile = dict(PROFILE, height=size, width=size)
    profile["transform"] = Affine(1.0, 0.0, 200000.0, 0.0, -1.0, 900000.0)
    with rasterio.open(path, "w", **profile) as dst:
        for band_row in range(per_row):
            r0 = band_row * side
            h = min(side, size - r0)
            strip = np.zeros((3, h, size), np.uint8)
            for j in range(per_row):
                c0 = j * side
                w = min(side, size - c0)
                with rasterio.open(images[(band_row * per_row + j) % len(images)]) as src:
                    strip[:, :, c0 : c0 + w] = src.read([1, 2, 3], window=Window(0, 0, w, h))
            for s in range(0, h, STRIP):
                n = min(STRIP, h - s)
                dst.write(strip[:, s : s + n], window=Window(0, r0 + s, size, n))
    return path


def io_floor(scene: Path, out: Path) -> float:
    """(a): read every strip, write band 1 as a compressed tiled uint8 GeoTIFF."""
    t0 = time.perf_counter()
    with rasterio.open(scene) as src:
        profile = dict(PROFILE, count=1, height=src.height, width=src.width, predictor=2)
        profile["transform"] = src.transform
        with rasterio.open(out, "w", **profile) as dst:
            for row in range(0, src.height, STRIP):
                n = min(STRIP, src.height - row)
                window = Window(0, row, src.width, n)
                data = src.read(window=window)
                dst.write(data[0], 1, window=window)
    return time.perf_counter() - t0


class NoOp(torch.nn.Module):
    """Stand-in model: its first input channel as the logits (no arithmetic)."""

    down_factor = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1]


def timed_predict(scene: Path, out: Path, config: PredictConfig, model: Any = None) -> float:
    t0 = time.perf_counter()
    predict_scene(scene, out, config, model=model)
    return time.perf_counter() - t0


def time_forward(
    net: torch.nn.Module, n_tiles: int, batch: int, tile: int, device: torch.device, amp: Any
) -> float:
    """(c): the model alone on ``n_tiles`` tiles in batches of ``batch`` already on the device."""
    sizes = [batch] * (n_tiles // batch) + ([n_tiles % batch] if n_tiles % batch else [])
    gen = torch.Generator().manual_seed(0)
    xs = {
        n: torch.randn(n, 3, tile, tile, generator=gen)
        .to(device)
        .contiguous(memory_format=torch.channels_last)
        for n in set(sizes)
    }
    ctx = torch.autocast(device.type, dtype=amp) if amp is not None else None

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with torch.inference_mode():
        sync()
        t0 = time.perf_counter()
        for n in sizes:
            if ctx is not None:
                with ctx:
                    net(xs[n])
            else:
                net(xs[n])
        sync()
        return time.perf_counter() - t0


def load_real_model(args: argparse.Namespace, device: torch.device) -> tuple[Any, CheckpointMeta]:
    if args.arch:
        torch.manual_seed(0)
        meta = CheckpointMeta("resunet", {"filters": args.arch}, gsd_m=args.model_gsd, tile=224)
        return build_model("resunet", filters=args.arch).to(device).eval(), meta
    return load_model(args.weights, device)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images-dir", type=Path, default=DEFAULT_IMAGES)
    ap.add_argument("--scene", type=Path, help="use this 1 m scene instead of mosaicking one")
    ap.add_argument("--make-scene", type=Path, help="only write the mosaic scene here and exit")
    ap.add_argument("--size", type=int, default=3000, help="scene side in px (1 m)")
    ap.add_argument("--weights", help="checkpoint for (c)/(d) (default: the shipped model)")
    ap.add_argument("--arch", choices=["lite", "paper"], help="random-weight ResUNet instead")
    ap.add_argument("--model-gsd", type=float, default=2.0, help="GSD of --arch and of (b)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", default="auto")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--skip-model", action="store_true", help="only (a) and (b)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--table", type=Path, help="also write a Markdown table here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    device = resolve_device(args.device)
    if args.make_scene:
        make_real_scene(args.make_scene, args.images_dir, args.size)
        return 0

    with tempfile.TemporaryDirectory(prefix="roadseg-bench-") as tmp_name:
        tmp = Path(tmp_name)
        scene = args.scene or make_real_scene(tmp / "scene.tif", args.images_dir, args.size)
        with open_scene(scene) as s:
            height, width, scene_gsd = s.height, s.width, s.gsd_m or 1.0
            real = None if args.skip_model else load_real_model(args, device)
            model_gsd = real[1].gsd_m if real else args.model_gsd
            mgrid = model_grid(s, model_gsd)
        cfg = PredictConfig(
            device=str(device),
            amp=args.amp,
            batch_size=args.batch_size,
            compile=args.compile,
            progress=False,
        )
        noop_scene = (NoOp(), CheckpointMeta("resunet", {}, gsd_m=scene_gsd, tile=224))
        noop_coarse = (NoOp(), CheckpointMeta("resunet", {}, gsd_m=model_gsd, tile=224))
        stages: dict[str, Callable[[], float]] = {
            "a_io_floor": lambda: io_floor(scene, tmp / "floor.tif"),
            "b_pipeline_scene_gsd": lambda: timed_predict(scene, tmp / "b1.tif", cfg, noop_scene),
            "b_pipeline_resampled": lambda: timed_predict(scene, tmp / "b2.tif", cfg, noop_coarse),
        }
        n_tiles = TileGrid(mgrid.height, mgrid.width, 224, cfg.overlap).n_tiles
        if real is not None:
            net = prepare_model(real[0], device, channels_last=True, compile=args.compile)
            amp = resolve_amp(args.amp, device)
            time_forward(net, args.batch_size, args.batch_size, 224, device, amp)  # warm-up
            stages["c_forward"] = lambda: time_forward(
                net, n_tiles, args.batch_size, 224, device, amp
            )
            stages["d_predict"] = lambda: timed_predict(scene, tmp / "d.tif", cfg, real)
        times: dict[str, list[float]] = {k: [] for k in stages}
        cpu: dict[str, list[float]] = {k: [] for k in stages}
        for _ in range(args.repeats):
            for name, fn in stages.items():
                c0 = time.process_time()
                times[name].append(fn())
                cpu[name].append(time.process_time() - c0)

    best = {k: min(v) for k, v in times.items()}
    mpix = height * width / 1e6
    figures: dict[str, Any] = {
        "scene": str(args.scene) if args.scene else f"{args.images_dir} mosaic",
        "shape": [height, width],
        "scene_gsd_m": scene_gsd,
        "model_gsd_m": model_gsd,
        "model_grid": [mgrid.height, mgrid.width],
        "tiles_at_model_gsd": n_tiles,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "model": None if real is None else (args.arch or args.weights or "shipped default"),
        "times_s": {k: [round(t, 3) for t in v] for k, v in times.items()},
        "best_s": {k: round(v, 3) for k, v in best.items()},
        # CPU seconds of all threads of this process (the work done, whatever the load)
        "cpu_s": {k: [round(t, 3) for t in v] for k, v in cpu.items()},
        "mpix_per_s": {k: round(mpix / v, 3) for k, v in best.items()},
        "ratios": {
            "b_scene_gsd_over_a (rate, target >= 0.8)": round(
                best["a_io_floor"] / best["b_pipeline_scene_gsd"], 3
            ),
            "b_resampled_over_a (rate, target >= 0.5)": round(
                best["a_io_floor"] / best["b_pipeline_resampled"], 3
            ),
        },
    }
    if real is not None:
        longer = max(best["b_pipeline_resampled"], best["c_forward"])
        if abs(model_gsd / scene_gsd - 1) <= cfg.gsd_tolerance:
            longer = max(best["b_pipeline_scene_gsd"], best["c_forward"])
        figures["ratios"]["d_over_max_b_c (time, target <= 1.10)"] = round(
            best["d_predict"] / longer, 3
        )
    report(figures, args.json)
    table = [
        "| stage | best s | MPix/s |",
        "|---|---:|---:|",
        *(f"| {k} | {best[k]:.2f} | {mpix / best[k]:.2f} |" for k in best),
        *(f"| ratio {k} | {v} | |" for k, v in figures["ratios"].items()),
    ]
    print("\n".join(table))
    if args.table:
        args.table.write_text("\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
