#!/usr/bin/env python
"""Peak memory of ``roadseg predict`` on wide, mostly-nodata scenes of growing height.

Issue 14 measured 1073 / 1302 / 1740 MB at 3000 / 12000 / 24000 rows for a
30000 px wide scene that is nodata but for a small patch (the strip
accumulator kept a full-width valid mask per tile row until a later tile was
predicted). Here each scene (RGB uint8, nodata 0, tiled and DEFLATE-compressed,
written by strips) has one 600 x 600 px patch of real-looking pixels in the
middle; the real CLI predicts it in a child process with a random-weight lite
model at the scene's GSD, and the child's peak RSS is read when it exits.
Target: flat in the height (memory O(tile rows), whatever the nodata).

    python benchmarks/predict_memory_nodata.py --width 30000 --heights 3000 12000
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_common import make_lite_checkpoint, report  # noqa: E402
from predict_memory import child_peak_mb  # noqa: E402

STRIP = 256


def make_sparse_scene(path: Path, height: int, width: int, patch: int = 600) -> Path:
    profile = {
        "driver": "GTiff", "height": height, "width": width, "count": 3, "dtype": "uint8",
        "crs": "EPSG:32619", "transform": Affine(1.0, 0.0, 300000.0, 0.0, -1.0, 4700000.0),
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
        "nodata": 0, "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    r0, c0 = (height - patch) // 2, (width - patch) // 2
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, height, STRIP):
            n = min(STRIP, height - row)
            strip = np.zeros((3, n, width), np.uint8)
            rows = slice(max(r0, row) - row, max(0, min(r0 + patch, row + n) - row))
            strip[:, rows, c0 : c0 + patch] = rng.integers(1, 255, (3, 1, patch), dtype=np.uint8)
            dst.write(strip, window=Window(0, row, width, n))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--width", type=int, default=30000)
    ap.add_argument("--heights", type=int, nargs="+", default=[3000, 12000])
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runs = []
    with tempfile.TemporaryDirectory(prefix="roadseg-bench-", dir=args.workdir) as tmp_name:
        tmp = Path(tmp_name)
        weights = make_lite_checkpoint(tmp / "lite.safetensors")
        for h in args.heights:
            scene = make_sparse_scene(tmp / f"scene_{h}.tif", h, args.width)
            cmd = [
                sys.executable, "-m", "roadseg.cli", "-q", "predict", str(scene),
                "-o", str(tmp / f"prob_{h}.tif"), "--weights", str(weights), "--device", "cpu",
                "--no-progress",
            ]  # fmt: skip
            seconds, peak = child_peak_mb(cmd)
            runs.append(
                {"height": h, "predict_s": round(seconds, 1), "peak_rss_mb": round(peak, 1)}
            )
            scene.unlink()
    peaks = [r["peak_rss_mb"] for r in runs]
    figures = {
        "width": args.width,
        "runs": runs,
        "peak_ratio_tallest_over_shortest": round(peaks[-1] / peaks[0], 3),
    }
    report(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
