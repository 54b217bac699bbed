"""Shared pieces of the predict benchmarks: a generated scene and a random-weight lite model.

The scene is a north-up RGB GeoTIFF at 1 m in UTM 19N (the model's GSD, so no
resampling), tiled 256 x 256 and DEFLATE-compressed like a delivered
orthophoto, written strip by strip (never held in memory whole). Its content
(smooth gradients, a grid of dark "roads" and pixel noise) only has to look
like imagery to the codec; convolution speed does not depend on the values.
"""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import rasterio
import torch
from affine import Affine
from rasterio.windows import Window

from roadseg.models import CheckpointMeta, build_model, save_checkpoint

STRIP = 256


def make_scene(path: Path, height: int, width: int, seed: int = 0) -> Path:
    """Write a ``height x width`` RGB uint8 GeoTIFF by 256-row strips."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 24, (3, STRIP, width), dtype=np.uint8)
    cols = np.arange(width)
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 3,
        "dtype": "uint8",
        "crs": "EPSG:32619",
        "transform": Affine(1.0, 0.0, 300000.0, 0.0, -1.0, 4700000.0),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, height, STRIP):
            n = min(STRIP, height - row)
            rows = np.arange(row, row + n)[:, None]
            base = (60 + (rows // 7 + cols // 11) % 120).astype(np.uint8)
            strip = np.roll(noise[:, :n], shift=row % width, axis=2) + base
            road = ((rows % 300) < 8) | ((cols % 420) < 8)[None, :]
            strip[:, road] = 40
            dst.write(strip, window=Window(0, row, width, n))
    return path


def make_lite_checkpoint(path: Path, seed: int = 0) -> Path:
    """Random-weight lite ResUNet (timing and memory do not depend on the weights)."""
    torch.manual_seed(seed)
    meta = CheckpointMeta("resunet", {"filters": "lite"}, gsd_m=1.0, tile=224)
    save_checkpoint(path, build_model("resunet", filters="lite"), meta)
    return path


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024.0


def report(figures: dict, json_path: str | Path | None) -> None:
    """Print the figures and, when asked, write them as JSON (atomically)."""
    import json

    from roadseg.atomic import atomic_path

    print(json.dumps(figures, indent=2))
    if json_path:
        with atomic_path(json_path) as tmp:
            tmp.write_text(json.dumps(figures, indent=2))

