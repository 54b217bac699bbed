#!/usr/bin/env python
"""roadseg's streaming predictor against the common sliding-window loop, in one run.

The baseline is written the way popular tools do it: every tile is read from
the file on its own (``src.read(window=...)``), normalised and predicted one
at a time (batch 1), and accumulated into two full-scene ``float64`` arrays
(sum of probabilities and count) that are divided and written at the end.

Both sides use the same scene (generated, SIZE x SIZE RGB at the model's GSD),
the same tile grid (224 px, 14 px overlap, last tile pulled back), the same
model (random-weight lite ResUNet in channels_last, ``torch.inference_mode``),
the same blending (a plain mean in the overlaps: roadseg runs with ``blend=mean``)
and the same number of threads, so the difference is the pipeline: batching,
strip reads with a reader thread, row-bounded accumulators, windowed writes.
Each side runs in its own fresh process (for a clean peak RSS, ``ru_maxrss``);
the runs alternate ``--repeats`` times and the fastest of each is compared.
roadseg runs twice per round: at ``--batch-size`` (its default use) and at
batch 1 (the baseline's batch), because on CPU the activations of a batch of
8 tiles (~380 MB for the lite model) outweigh every other buffer of a
moderate scene: the batch-1 run isolates what the streaming design saves.

    python benchmarks/predict_vs_naive.py --size 4096
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_common import make_lite_checkpoint, make_scene, peak_rss_mb, report  # noqa: E402

from roadseg.inference.device import prepare_model  # noqa: E402
from roadseg.inference.predictor import PredictConfig, predict_scene  # noqa: E402
from roadseg.models import load_checkpoint  # noqa: E402
from roadseg.raster.grid import tile_starts  # noqa: E402


def naive_predict(scene: Path, out: Path, weights: Path, tile: int, overlap: int) -> None:
    """The common loop: per-tile reads, batch 1, full-scene float64 accumulators."""
    model, meta = load_checkpoint(weights)
    model = prepare_model(model, torch.device("cpu"), channels_last=True)
    with rasterio.open(scene) as src:
        h, w = src.height, src.width
        prob_sum = np.zeros((h, w), dtype=np.float64)
        count = np.zeros((h, w), dtype=np.float64)
        profile = src.profile
        for r in tile_starts(h, tile, overlap):
            for c in tile_starts(w, tile, overlap):
                img = src.read(window=Window(c, r, tile, tile))
                x = torch.from_numpy(meta.normalisation.apply(img)[None])
                with torch.inference_mode():
                    p = torch.sigmoid(model(x.contiguous(memory_format=torch.channels_last)))
                prob_sum[r : r + tile, c : c + tile] += p[0, 0].numpy()
                count[r : r + tile, c : c + tile] += 1.0
    prob = prob_sum / count
    profile.update(count=1, dtype="uint8", nodata=None)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.round(prob * 255).astype(np.uint8), 1)


def child(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.mode == "naive":
        naive_predict(args.scene, args.out, args.weights, args.tile, args.overlap)
    else:
        config = PredictConfig(
            weights=args.weights,
            tile=args.tile,
            overlap=args.overlap,
            device="cpu",
            batch_size=args.batch_size,
            blend="mean",  # the baseline's plain average, so the two outputs can be compared
            progress=False,
        )
        predict_scene(args.scene, args.out, config)
    seconds = time.perf_counter() - t0
    print(json.dumps({"mode": args.mode, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}))
    return 0


def run_child(
    mode: str, scene: Path, weights: Path, out: Path, args: argparse.Namespace, batch_size: int
) -> dict:
    cmd = [
        sys.executable, __file__, "--child", mode, "--scene", str(scene), "--weights", str(weights),
        "--out", str(out), "--tile", str(args.tile), "--overlap", str(args.overlap),
        "--batch-size", str(batch_size), "--threads", str(args.threads),
    ]  # fmt: skip
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--tile", type=int, default=224)
    ap.add_argument("--overlap", type=int, default=14)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    # internal: one measured side in a fresh process
    ap.add_argument("--child", dest="mode", choices=["naive", "roadseg"], help=argparse.SUPPRESS)
    ap.add_argument("--scene", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--weights", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.mode:
        return child(args)

    sides = {
        "naive": ("naive", 1),
        "roadseg": ("roadseg", args.batch_size),
        "roadseg_b1": ("roadseg", 1),
    }
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(prefix="roadseg-bench-") as tmp:
        tmp = Path(tmp)
        scene = make_scene(tmp / "scene.tif", args.size, args.size)
        weights = make_lite_checkpoint(tmp / "lite.safetensors")
        for _ in range(args.repeats):
            for name, (mode, bs) in sides.items():
                runs[name].append(run_child(mode, scene, weights, tmp / f"{name}.tif", args, bs))
        with rasterio.open(tmp / "naive.tif") as a, rasterio.open(tmp / "roadseg.tif") as b:
            # both average the overlaps (roadseg: blend=mean): outputs agree to rounding
            diff = np.abs(a.read(1).astype(int) - b.read(1).astype(int))
    best = {m: min(r["seconds"] for r in rs) for m, rs in runs.items()}
    rss = {m: max(r["peak_rss_mb"] for r in rs) for m, rs in runs.items()}
    figures = {
        "size": args.size,
        "threads": args.threads,
        "batch_size_roadseg": args.batch_size,
        "seconds": {m: [round(r["seconds"], 2) for r in rs] for m, rs in runs.items()},
        "peak_rss_mb": {m: round(v, 1) for m, v in rss.items()},
        "speedup_naive_over_roadseg": round(best["naive"] / best["roadseg"], 3),
        "speedup_naive_over_roadseg_b1": round(best["naive"] / best["roadseg_b1"], 3),
        "peak_rss_ratio_naive_over_roadseg": round(rss["naive"] / rss["roadseg"], 3),
        "peak_rss_ratio_naive_over_roadseg_b1": round(rss["naive"] / rss["roadseg_b1"], 3),
        "max_abs_diff_uint8": int(diff.max()),
        "mean_abs_diff_uint8": round(float(diff.mean()), 4),
    }
    report(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
