#!/usr/bin/env python
"""Peak memory of ``roadseg predict`` on a large generated scene (default 20000 x 20000 RGB).

The scene (1.2 GB of pixels, written strip by strip) is predicted by the real
CLI in a child process with the lite model (random weights) on CPU, and the
child's peak resident set size is read from ``ru_maxrss`` once it exits.
Target: under 1.5 GB (1536 MiB).

Baseline in the same run: a child that only imports torch, loads the same
checkpoint and runs 20 forward batches of the same size, i.e. the floor any
tiled predictor pays for the model at that batch size. The rest of the
predictor's peak is the cost of the pipeline (strip buffers, accumulators,
queued batches, the writer's block rows), which must not grow with the
scene. For reference, the common loop with full-scene float64 accumulators
(see ``predict_vs_naive.py``) would need ``2 x 8 x H x W`` bytes for its two
arrays alone: 6.4 GB at 20000 x 20000.

    python benchmarks/predict_memory.py --size 20000
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_common import make_lite_checkpoint, make_scene, report  # noqa: E402

FLOOR = """
import resource, sys, torch
from roadseg.inference.device import prepare_model
from roadseg.models import load_checkpoint
model, _ = load_checkpoint(sys.argv[1])
model = prepare_model(model, torch.device("cpu"), channels_last=True)
x = torch.randn(int(sys.argv[2]), 3, 224, 224).contiguous(memory_format=torch.channels_last)
with torch.inference_mode():
    for _ in range(20):  # the allocator's footprint settles after ~10 batches
        torch.sigmoid(model(x))
"""


def child_peak_mb(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; return (seconds, its peak RSS in MiB).

    ``RUSAGE_CHILDREN``'s ``ru_maxrss`` is the largest peak among waited-for
    children, so each measurement runs in a fresh grandchild-free process and
    is read through a small wrapper that reports only its own child.
    """
    wrapper = (
        "import resource, subprocess, sys, json, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True)\n"
        "print(json.dumps([time.perf_counter() - t,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], check=True, capture_output=True, text=True
    )
    seconds, peak = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, peak


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workdir", type=Path, default=None, help="where the scene is generated")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="roadseg-bench-", dir=args.workdir) as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        scene = make_scene(tmp / "scene.tif", args.size, args.size)
        gen_s = time.perf_counter() - t0
        weights = make_lite_checkpoint(tmp / "lite.safetensors")
        floor_s, floor_mb = child_peak_mb(
            [sys.executable, "-c", FLOOR, str(weights), str(args.batch_size)]
        )
        predict_cmd = [
            sys.executable, "-m", "roadseg.cli", "-q", "predict", str(scene),
            "-o", str(tmp / "prob.tif"), "--weights", str(weights), "--device", "cpu",
            "--batch-size", str(args.batch_size), "--no-progress",
        ]  # fmt: skip
        predict_s, predict_mb = child_peak_mb(predict_cmd)
        scene_mb = (tmp / "scene.tif").stat().st_size / 2**20
        out_mb = (tmp / "prob.tif").stat().st_size / 2**20

    figures = {
        "size": args.size,
        "batch_size": args.batch_size,
        "scene_pixels_mb": round(3 * args.size**2 / 2**20, 1),
        "scene_file_mb": round(scene_mb, 1),
        "output_file_mb": round(out_mb, 1),
        "generate_s": round(gen_s, 1),
        "predict_s": round(predict_s, 1),
        "predict_peak_rss_mb": round(predict_mb, 1),
        "model_floor_peak_rss_mb": round(floor_mb, 1),
        "pipeline_mb_above_floor": round(predict_mb - floor_mb, 1),
        "ratio_predict_over_floor": round(predict_mb / floor_mb, 3),
        "naive_float64_accumulators_mb": round(2 * 8 * args.size**2 / 2**20, 1),
        "under_1536_mb": predict_mb < 1536,
        "self_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    report(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
