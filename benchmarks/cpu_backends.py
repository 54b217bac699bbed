"""CPU inference backends in one run: forward alone, whole predict_scene, output differences.

For each backend (torch, onnxruntime, openvino when installed, and onnxruntime
int8 for speed), in its own child process (so that each peak RSS is its own),
one after the other on the same machine (int8: the shipped graph, calibrated on the
valid tiles, ``--precision int8``):

* forward alone: batches of ``--batch`` tiles of 224² (one warm-up, then
  ``--repeats`` timed), seconds per batch, tiles/s and achieved GFLOP/s -- the
  FLOPs of one batch counted by ``torch.utils.flop_counter.FlopCounterMode`` on
  the torch model (2 per multiply-add) -- against the machine's fp32 peak;
* whole ``predict_scene`` on the same generated scene (1 m, so resampled 2x to
  the model's 2 m on the way in and back out): wall time, scene MPix/s, model
  tiles/s and its ratio to the forward-alone rate, peak RSS of the process;
* output differences: grey levels (p·255) against the torch backend's raster.

The fp32 peak is ``cores x FMA units x (SIMD bits / 32) x 2 x clock``: cores from
the process's CPU affinity, SIMD width from the ``avx512f``/``avx2`` flags of
``/proc/cpuinfo``, the clock from its ``cpu MHz`` (the hypervisor's nominal
clock; no turbo counted), FMA units per core from the CPU family (AMD family 26,
Zen 5: two 512-bit FMA pipes; family 25, Zen 4: 512-bit ops on 256-bit pipes,
i.e. one; else ``--fma-units``). A virtual machine's vCPUs may be SMT siblings of
one physical core, which would halve what is really available.

    PYTHONPATH=$PWD python benchmarks/cpu_backends.py --size 3000 --threads 2 \
        --json benchmarks/results/cpu_backends.json

Cores may be shared with other processes: compare the backends by their ratios
within one run, not by the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
BACKENDS = ("torch", "onnxruntime", "openvino", "onnxruntime-int8")


def cpu_peak(fma_units: int | None = None) -> dict[str, Any]:
    """The machine's fp32 peak, and how each factor was found (see the module docstring)."""
    info = Path("/proc/cpuinfo").read_text()
    flags = set(
        next(line for line in info.splitlines() if line.startswith("flags")).split(":")[1].split()
    )
    mhz = float(
        next(line for line in info.splitlines() if line.startswith("cpu MHz")).split(":")[1]
    )
    family = int(
        next(line for line in info.splitlines() if line.startswith("cpu family")).split(":")[1]
    )
    bits = 512 if "avx512f" in flags else 256 if "avx2" in flags else 128
    if fma_units is None:
        fma_units = {26: 2, 25: 1}.get(family, 2 if bits == 512 else 2)
    cores = len(os.sched_getaffinity(0))
    peak = cores * fma_units * (bits // 32) * 2 * mhz / 1e3
    return {
        "gflops": peak,
        "cores": cores,
        "fma_units_per_core": fma_units,
        "simd_bits": bits,
        "mhz": mhz,
        "cpu_family": family,
        "how": f"{cores} cores (affinity) x {fma_units} FMA x {bits // 32} fp32 lanes "
        f"({'avx512f' if bits == 512 else 'avx2'} in /proc/cpuinfo flags) x 2 x {mhz:.0f} MHz "
        "(/proc/cpuinfo cpu MHz)",
    }


def batch_flops(weights: str | None, batch: int) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from roadseg.models import load_checkpoint, resolve_weights

    net, meta = load_checkpoint(resolve_weights(weights))
    x = torch.zeros((batch, meta.in_bands, meta.tile, meta.tile))
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        net(x)
    return float(counter.get_total_flops())


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One backend: forward alone, then predict_scene, in this process."""
    import torch
    from predict_common import peak_rss_mb

    from roadseg.inference import PredictConfig, predict_scene
    from roadseg.inference.backends import BackendOptions, build_runner, load_source
    from roadseg.inference.device import make_forward
    from roadseg.inference.predictor import torch_normaliser

    torch.set_num_threads(args.threads)
    name = args.child
    src = load_source(args.weights)
    t0 = time.perf_counter()
    int8 = name == "onnxruntime-int8"  # the shipped graph calibrated on the valid tiles
    backend, precision = ("onnxruntime", "int8") if int8 else (name, "fp32")
    r = build_runner(backend, src, BackendOptions(threads=args.threads, precision=precision))
    setup_s = time.perf_counter() - t0
    meta = src.meta
    fwd = make_forward(r.run, outputs=r.outputs, channels_last=r.name == "torch")
    prepare = None if r.normalised else torch_normaliser(meta.normalisation, torch.device("cpu"))
    rng = np.random.default_rng(0)
    x0 = torch.from_numpy(
        rng.integers(0, 256, (args.batch, meta.in_bands, meta.tile, meta.tile)).astype(np.float32)
    )
    times = []
    for i in range(args.repeats + 1):
        x = x0.clone()
        t = time.perf_counter()
        fwd(prepare(x) if prepare is not None else x)
        if i:
            times.append(time.perf_counter() - t)
    s_batch = float(np.median(times))
    out = Path(args.out_dir) / f"{name}.tif"
    cfg = PredictConfig(weights=args.weights, backend=backend, precision=precision,
                        progress=False, batch_size=args.batch)  # fmt: skip
    res = predict_scene(args.scene, out, cfg)
    return {
        "backend": f"{r.name} {r.precision}",
        "setup_s": setup_s,
        "forward_s_per_batch": s_batch,
        "forward_s_all": times,
        "forward_tiles_per_s": args.batch / s_batch,
        "predict_s": res.seconds,
        "predict_scene_mpix_per_s": res.mpix_per_s,
        "predict_tiles": res.tiles_predicted,
        "predict_tiles_per_s": res.tiles_predicted / res.seconds,
        "peak_rss_mib": peak_rss_mb(),
        "raster": str(out),
    }


def levels(path: str) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as d:
        return d.read(1).astype(np.int16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=3000, help="scene side (width) in px at 1 m")
    ap.add_argument(
        "--height",
        type=int,
        default=None,
        help="scene height (default: --size); memory is O(width)",
    )
    ap.add_argument("--weights", default=None, help="checkpoint (default: the default model)")
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fma-units", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--scene", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args)))
        return
    from predict_common import make_scene, report

    work = Path(tempfile.mkdtemp(prefix="roadseg-cpu-backends-"))
    scene = make_scene(work / "scene.tif", args.height or args.size, args.size)
    peak = cpu_peak(args.fma_units)
    flops = batch_flops(args.weights, args.batch)
    rows: dict[str, Any] = {}
    for name in args.backends:
        if name == "openvino":
            import importlib.util

            if importlib.util.find_spec("openvino") is None:
                print("openvino not installed: skipped", file=sys.stderr)
                continue
        cmd = [sys.executable, __file__, "--child", name, "--scene", str(scene), "--out-dir", str(work),
               "--threads", str(args.threads), "--batch", str(args.batch), "--repeats", str(args.repeats)]  # fmt: skip
        if args.weights:
            cmd += ["--weights", args.weights]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"}
        )
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{name} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads(line[0][7:])
        row["gflops"] = flops / row["forward_s_per_batch"] / 1e9
        row["fraction_of_peak"] = row["gflops"] / peak["gflops"]
        row["predict_vs_forward"] = row["predict_tiles_per_s"] / row["forward_tiles_per_s"]
        rows[name] = row
    if "torch" in rows:
        ref = levels(rows["torch"]["raster"])
        for row in rows.values():
            diff = np.abs(levels(row["raster"]) - ref)
            row["max_level_diff_vs_torch"] = int(diff.max())
            row["fraction_pixels_differing"] = float((diff > 0).mean())
            row["predict_speedup_vs_torch"] = rows["torch"]["predict_s"] / row["predict_s"]
            row["forward_speedup_vs_torch"] = (
                rows["torch"]["forward_s_per_batch"] / row["forward_s_per_batch"]
            )
    figures = {
        "scene_px": [args.height or args.size, args.size],
        "threads": args.threads,
        "batch": args.batch,
        "flops_per_batch": flops,
        "mflop_per_tile_pixel": flops / args.batch / 224**2 / 1e6,
        "peak": peak,
        "backends": rows,
        "note": "cores shared with other processes; compare ratios within this run",
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
