#!/usr/bin/env python
"""Whole predict on a COG read over loopback HTTP vs the same file on disk, in one run.

    ratio = T(predict_scene on http://127.0.0.1:PORT/scene.tif) / T(predict_scene on scene.tif)

The scene is a generated SIZE x SIZE RGB orthophoto-like raster (see
``predict_common.make_scene``) written as a cloud-optimised GeoTIFF (GDAL's COG
driver, 256 px tiles, DEFLATE). It is served by a threaded HTTP server on
127.0.0.1 with Range requests (``tests/raster/range_server.py``), which counts
the bytes it sends. Both runs use the same model, options and output folder; they
are interleaved (disk, http, disk, http, ...: ``--repeats`` of each) and the
fastest of each is compared, because the CPUs are shared and their speed drifts
(each pair's ratio is listed too). The server runs in the same process as the
predictor, so its work counts against the HTTP run: a real server does not share
the client's cores.

The model is a random-weight ResUNet, ``tiny`` (filters 4, 8) by default: the
less time the model takes per pixel, the larger the share of reading, so the
tiny model is the strict case for the ratio (with the shipped model the
reading is a smaller share still). GDAL settings are roadseg's defaults for
remote inputs (``roadseg.uri.REMOTE_GDAL_OPTIONS``: no directory listing or
side-car probing on open, a 64 MiB VSI cache, consecutive ranges merged, HTTP/2
multiplexing, retries on 429/5xx); they are printed with the figures. The two
probability rasters are compared (they must be identical). Goal: ratio <= 1.2.

``--read-only`` times only the reading: every tile-row strip of the scene read
through ``open_scene(...).view()`` as the predictor reads it (224-row strips every
210 rows), no model, so the HTTP cost is measured without the model's time, which
dominates (and drifts with the load on a shared machine).

    python benchmarks/remote_cog.py --size 10000 --repeats 1
    python benchmarks/remote_cog.py --size 10000 --repeats 3 --read-only
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from predict_common import make_scene, report  # noqa: E402

from roadseg.inference.predictor import PredictConfig, predict_scene  # noqa: E402
from roadseg.models import CheckpointMeta, build_model, save_checkpoint  # noqa: E402
from roadseg.uri import REMOTE_GDAL_OPTIONS, REMOTE_OPEN_OPTIONS  # noqa: E402
from tests.raster.range_server import RangeServer  # noqa: E402

MODELS = {"tiny": [4, 8], "lite": "lite"}


def checkpoint(path: Path, name: str) -> Path:
    torch.manual_seed(0)
    meta = CheckpointMeta("resunet", {"filters": MODELS[name]}, gsd_m=1.0, tile=224)
    save_checkpoint(path, build_model("resunet", filters=MODELS[name]), meta)
    return path


def same_raster(a: Path, b: Path) -> bool:
    with rasterio.open(a) as da, rasterio.open(b) as db:
        for _, win in da.block_windows(1):
            if not np.array_equal(da.read(1, window=win), db.read(1, window=win)):
                return False
    return True


def read_all(src: str) -> None:
    """Every strip of ``src`` as the predictor reads it (tile 224, overlap 14)."""
    from roadseg.raster.scene import open_scene

    with open_scene(src) as scene, rasterio.Env(GDAL_CACHEMAX=scene.block_cache_bytes()):
        view = scene.view()
        for row in range(0, scene.height, 210):
            view.read_rows(row, min(224, scene.height - row))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--model", choices=sorted(MODELS), default="tiny")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--read-only", action="store_true", help="time the reading only")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="remote-cog-") as tmp:
        d = Path(tmp)
        www = d / "www"
        www.mkdir()
        make_scene(d / "plain.tif", args.size, args.size)
        rasterio.shutil.copy(
            d / "plain.tif", www / "scene.tif", driver="COG", BLOCKSIZE=256, COMPRESS="DEFLATE"
        )
        (d / "plain.tif").unlink()
        cog = www / "scene.tif"
        weights = checkpoint(d / "model.safetensors", args.model)
        cfg = PredictConfig(weights=weights, batch_size=args.batch_size, progress=False)
        times: dict[str, list[float]] = {"disk": [], "http": []}
        with RangeServer(www) as server:
            sources = {"disk": str(cog), "http": server.url("scene.tif")}
            for _ in range(args.repeats):
                for kind, src in sources.items():
                    server.reset()
                    t0 = time.perf_counter()
                    if args.read_only:
                        read_all(src)
                    else:
                        predict_scene(src, d / f"{kind}.tif", cfg)
                    times[kind].append(round(time.perf_counter() - t0, 2))
                    if kind == "http":
                        sent, requests = server.sent["scene.tif"], len(server.requests)
        figures = {
            "size": args.size,
            "model": "none (read only)" if args.read_only else args.model,
            "threads": torch.get_num_threads(),
            "cog_bytes": cog.stat().st_size,
            "http_bytes_sent": sent,
            "http_bytes_ratio": round(sent / cog.stat().st_size, 3),
            "http_requests": requests,
            "disk_s": times["disk"],
            "http_s": times["http"],
            "ratio_http_over_disk": round(min(times["http"]) / min(times["disk"]), 3),
            # each http run over the disk run just before it (the load drifts between pairs)
            "pair_ratios": [round(h / d, 3) for d, h in zip(times["disk"], times["http"])],
            "identical_output": None
            if args.read_only
            else same_raster(d / "disk.tif", d / "http.tif"),
            "gdal_options": {**REMOTE_GDAL_OPTIONS, **REMOTE_OPEN_OPTIONS},
        }
    report(figures, args.json)


if __name__ == "__main__":
    main()
