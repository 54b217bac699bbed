#!/usr/bin/env python
"""Overhead of the tiled predictor over the model alone, in one run.

    overhead = T(predict_scene on a generated SIZE x SIZE scene)
               / T(pure model forward of the same number of tiles, same batch size)

``predict_scene`` time is the whole call: loading the checkpoint, opening and
validating the scene, reading strips, normalising, batching, blending,
writing the compressed GeoTIFF. The pure forward runs the same model
(random-weight lite ResUNet, channels_last, ``torch.inference_mode``) on
pre-built batches of the same shape and count, so only the model is timed.
Because the CPUs are shared and their speed drifts, the two are interleaved
(forward, predict, forward, predict, ..., forward: ``--repeats`` predicts) and
the ratio of the fastest predict to the fastest forward is reported (the
minimum is the run least disturbed by other processes), with every time listed.
Wall time on a loaded machine favours the predictor (its reader thread is one
more runnable thread competing for the cores), so the ratio of CPU times
(``time.process_time``, all threads of the process: the reader's and the
writer's work included) is reported too; it is the honest measure of the
extra work. Target: <= 1.10 on CPU.

    python benchmarks/predict_overhead.py --size 4096 --batch-size 8 --repeats 2
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_common import make_lite_checkpoint, make_scene, report  # noqa: E402

from roadseg.inference.device import prepare_model  # noqa: E402
from roadseg.inference.predictor import PredictConfig, predict_scene  # noqa: E402
from roadseg.models import load_checkpoint  # noqa: E402
from roadseg.raster.grid import TileGrid  # noqa: E402


def time_forward(
    model: torch.nn.Module, n_tiles: int, batch_size: int, tile: int
) -> tuple[float, float]:
    """(wall, CPU) seconds for the model alone on ``n_tiles`` tiles in batches of ``batch_size``."""
    sizes = [batch_size] * (n_tiles // batch_size) + (
        [n_tiles % batch_size] if n_tiles % batch_size else []
    )
    gen = torch.Generator().manual_seed(0)
    batches = {
        n: torch.randn(n, 3, tile, tile, generator=gen).contiguous(
            memory_format=torch.channels_last
        )
        for n in set(sizes)
    }
    with torch.inference_mode():
        t0, c0 = time.perf_counter(), time.process_time()
        for n in sizes:
            model(batches[n])
        return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--tile", type=int, default=224)
    ap.add_argument("--overlap", type=int, default=14)
    ap.add_argument("--blend", default="cosine")
    ap.add_argument("--repeats", type=int, default=2, help="predict runs (forward runs: one more)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="roadseg-bench-") as tmp:
        tmp = Path(tmp)
        scene = make_scene(tmp / "scene.tif", args.size, args.size)
        weights = make_lite_checkpoint(tmp / "lite.safetensors")
        n_tiles = TileGrid(args.size, args.size, args.tile, args.overlap).n_tiles

        model, _ = load_checkpoint(weights)
        model = prepare_model(model, torch.device("cpu"), channels_last=True)
        time_forward(model, args.batch_size, args.batch_size, args.tile)  # warm-up

        config = PredictConfig(
            weights=weights,
            tile=args.tile,
            overlap=args.overlap,
            blend=args.blend,
            device="cpu",
            batch_size=args.batch_size,
            progress=False,
        )
        forwards = [time_forward(model, n_tiles, args.batch_size, args.tile)]
        predicts = []
        for _ in range(args.repeats):
            c0 = time.process_time()
            result = predict_scene(scene, tmp / "prob.tif", config)
            predicts.append((result.seconds, time.process_time() - c0))
            forwards.append(time_forward(model, n_tiles, args.batch_size, args.tile))

    figures = {
        "size": args.size,
        "tiles": result.tiles,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "predict_wall_s": [round(t, 3) for t, _ in predicts],
        "forward_wall_s": [round(t, 3) for t, _ in forwards],
        "predict_cpu_s": [round(c, 3) for _, c in predicts],
        "forward_cpu_s": [round(c, 3) for _, c in forwards],
        "overhead_ratio_wall": round(min(t for t, _ in predicts) / min(t for t, _ in forwards), 4),
        "overhead_ratio_cpu": round(min(c for _, c in predicts) / min(c for _, c in forwards), 4),
    }
    report(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
