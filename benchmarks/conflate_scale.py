#!/usr/bin/env python
"""How ``conflate`` time and memory grow with network length (issue 19, deliverable 5).

The Helsinki car roads (tests/data/osm/helsinki_car_roads.geojson, 32.7 km) are tiled
k x k (copies side by side, k = 1, 2, 4, 8, ... : 1x, 4x, 16x, 64x the length); the OSM
side is the same tiling with a seeded quarter of the ways deleted. Each size runs in a
fresh process (``roadseg.conflate.conflation.conflate`` on GeoPackages in UTM, reading
included, imports excluded) and reports its wall time, its peak RSS and how far the
peak rose above the RSS after the imports (the work's own memory). The baseline is the 1x run of the same
invocation: the growth is reported as time and memory ratios against it, and as the
exponent b of time ~ length^b between the smallest and the largest size (1: linear).

    python benchmarks/conflate_scale.py --tiles 1 2 4 8 --out benchmarks/results/conflate_scale.json
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELSINKI = ROOT / "tests" / "data" / "osm" / "helsinki_car_roads.geojson"
UTM = "EPSG:32635"


def build(k: int, folder: Path) -> tuple[Path, Path, float]:
    """Detected and OSM GeoPackages of the k x k tiling; returns them and the length in km."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    roads = gpd.read_file(HELSINKI).to_crs(UTM)
    x0, y0, x1, y1 = roads.total_bounds
    w, h = x1 - x0 + 200, y1 - y0 + 200
    tiles = []
    for i in range(k):
        for j in range(k):
            t = roads.copy()
            t["geometry"] = t.geometry.translate(i * w, j * h)
            t["osm_id"] = t["osm_id"].astype("int64") + (i * k + j) * 10**10
            tiles.append(t)
    allr = gpd.GeoDataFrame(pd.concat(tiles, ignore_index=True), crs=UTM)
    keep = np.random.default_rng(19).random(len(allr)) >= 0.25
    det, osm = folder / f"det_{k}.gpkg", folder / f"osm_{k}.gpkg"
    allr[["geometry"]].to_file(det)
    allr[keep].to_file(osm)
    return det, osm, float(allr.length.sum() / 1000)


def measure(det: str, osm: str) -> None:
    """Run in a child: conflate and print wall seconds, peak RSS (MiB) and the summary."""
    import roadseg.osm.load  # noqa: F401  (imports are not the work measured)
    from roadseg.conflate.conflation import conflate
    from roadseg.vector.formats import formats

    formats()  # the format readers load_roads uses, imported here rather than inside the timing

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    result = conflate(det, osm)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mib": rss,
                "work_rss_mib": rss - rss0,
                **result.summary(),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tiles", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        measure(*args.child)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.tiles:
            det, osm, km = build(k, Path(tmp))
            res = subprocess.run(
                [sys.executable, __file__, "--child", str(det), str(osm)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = {
                "tiles": k * k,
                "network_km": round(km, 1),
                **json.loads(res.stdout.splitlines()[-1]),
            }
            rows.append(row)
            print(
                f"{k * k:>4}x {km:8.1f} km: {row['seconds']:7.2f} s, peak RSS "
                f"{row['peak_rss_mib']:7.1f} MiB (+{row['work_rss_mib']:.1f} MiB over the "
                f"imports), missing {row['missing_km']:.2f} km",
                flush=True,
            )
    base, last = rows[0], rows[-1]
    for r in rows:
        r["time_ratio"] = round(r["seconds"] / base["seconds"], 2)
        r["rss_ratio"] = round(r["peak_rss_mib"] / base["peak_rss_mib"], 2)
    growth = last["network_km"] / base["network_km"]
    exponent = (
        math.log(last["seconds"] / base["seconds"]) / math.log(growth) if growth > 1 else None
    )
    report = {"rows": rows, "length_ratio": round(growth, 1), "time_exponent": exponent}
    print(
        f"length x{growth:.0f}: time x{last['time_ratio']}, peak RSS x{last['rss_ratio']}"
        + (f", time ~ length^{exponent:.2f}" if exponent is not None else "")
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
