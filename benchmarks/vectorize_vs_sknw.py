#!/usr/bin/env python
"""roadseg's block-wise vectoriser against the common whole-image skeleton + sknw + networkx way.

Input: a real-like SIZE x SIZE road mask, a mosaic of the real Massachusetts
Roads label masks (``../shared/data/massachusetts_roads/train_subset/masks/*.png``,
1500 x 1500 each, tiled row by row and cycled), written as a tiled, deflate
GeoTIFF at 1 m in EPSG:26986 (Massachusetts State Plane).

Baseline (what CRESI-like tools and most notebooks do): read the whole raster,
``mask = v >= 128``, scikit-image ``remove_small_objects`` (< 50 px) and
``remove_small_holes`` (<= 30 px) on the whole image, whole-image ``skeletonize``,
``sknw.build_sknw`` (numba) into a networkx MultiGraph, networkx cleaning with the
same rules and thresholds as roadseg's defaults where they exist (prune dead-end
spurs < 10 m that do not touch the border, drop components < 30 m), shapely
Douglas-Peucker at 1 m per edge, pixel-centre georeferencing into a GeoDataFrame.
roadseg: ``vectorize_raster(path, VectorizeConfig())``, which does more work
(junction-cluster merging, gap bridging, widths, probabilities, degree-2
dissolving) and gives the same kind of GeoDataFrame.

Each side runs in its own fresh process; its peak RSS (``ru_maxrss``, imports
included) and its work time (after imports; the baseline's numba JIT compile is
done on a tiny warm-up image first and reported apart) are compared as ratios.
The CPUs are shared, so with ``--repeats N`` the two sides alternate N times and
the fastest run of each side is compared (peak RSS: the largest of each side).

    python benchmarks/vectorize_vs_sknw.py --size 10000 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MASKS = REPO.parent / "shared" / "data" / "massachusetts_roads" / "train_subset" / "masks"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_mosaic(size: int, out: Path, masks_dir: Path = MASKS) -> Path:
    """Tile the Massachusetts label masks into a ``size`` x ``size`` GeoTIFF (written by strips)."""
    import numpy as np
    import rasterio
    from PIL import Image
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    files = sorted(masks_dir.glob("*.png"))
    if not files:
        raise SystemExit(f"{masks_dir}: no mask PNGs")
    k = -(-size // 1500)
    profile = {
        "driver": "GTiff",
        "height": size,
        "width": size,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:26986",
        "transform": from_origin(200_000.0, 950_000.0, 1.0, 1.0),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
    }
    with rasterio.open(out, "w", **profile) as ds:
        for i in range(k):
            for j in range(k):
                m = np.array(Image.open(files[(i * k + j) % len(files)]))
                r0, c0 = i * 1500, j * 1500
                h, w = min(1500, size - r0), min(1500, size - c0)
                ds.write(m[None, :h, :w], window=Window(c0, r0, w, h))
    return out


def run_roadseg(path: str) -> dict:
    # the libraries roadseg imports lazily, imported before the clock as for the baseline
    import geopandas  # noqa: F401
    import networkx  # noqa: F401
    import pyproj  # noqa: F401
    import rasterio  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import scipy.sparse.csgraph  # noqa: F401
    import scipy.spatial  # noqa: F401
    import shapely  # noqa: F401
    import skimage.filters  # noqa: F401
    import skimage.morphology  # noqa: F401
    import tqdm  # noqa: F401

    from roadseg.vector import VectorizeConfig, vectorize_raster

    rss_imports = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    net = vectorize_raster(path, VectorizeConfig())
    work = time.perf_counter() - t0
    return {
        "work_s": work,
        "work_cpu_s": time.process_time() - c0,
        "jit_s": 0.0,
        "edges": len(net.edges),
        "nodes": len(net.nodes),
        "length_km": net.total_length_m / 1000,
        "rss_imports_mb": rss_imports,
    }


def run_baseline(path: str) -> dict:
    import geopandas as gpd
    import networkx as nx
    import numpy as np
    import rasterio
    import shapely
    import sknw
    from skimage.morphology import remove_small_holes, remove_small_objects, skeletonize

    rss_imports = rss_mb()
    tj = time.perf_counter()
    warm = np.zeros((32, 32), bool)
    warm[16, 4:28] = True
    warm[4:28, 16] = True
    sknw.build_sknw(warm.astype(np.uint16), multi=True)  # numba compiles here
    jit = time.perf_counter() - tj

    t0, c0 = time.perf_counter(), time.process_time()
    with rasterio.open(path) as ds:
        a = ds.read(1)
        transform, crs = ds.transform, ds.crs
    h, w = a.shape
    m = a >= 128
    del a
    m = remove_small_objects(m, max_size=49, connectivity=2)
    m = remove_small_holes(m, max_size=30)
    ske = skeletonize(m)
    del m
    g = sknw.build_sknw(ske, multi=True, iso=False, ring=True, full=True)
    del ske

    def border(n):
        r, c = g.nodes[n]["o"]
        return r <= 1 or c <= 1 or r >= h - 2 or c >= w - 2

    spurs = [
        (u, v, k)
        for u, v, k, d in g.edges(keys=True, data=True)
        if u != v
        and d["weight"] < 10.0
        and (
            (g.degree(u) == 1 and g.degree(v) >= 3 and not border(u))
            or (g.degree(v) == 1 and g.degree(u) >= 3 and not border(v))
        )
    ]
    g.remove_edges_from(spurs)
    g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
    for comp in list(nx.connected_components(g)):
        if sum(d["weight"] for _, _, d in g.subgraph(comp).edges(data=True)) < 30.0:
            g.remove_nodes_from(comp)
    lines, us, vs, lengths = [], [], [], []
    for u, v, d in g.edges(data=True):
        pts = np.vstack([g.nodes[u]["o"], d["pts"], g.nodes[v]["o"]]).astype(np.float64)
        x = transform.a * (pts[:, 1] + 0.5) + transform.b * (pts[:, 0] + 0.5) + transform.c
        y = transform.d * (pts[:, 1] + 0.5) + transform.e * (pts[:, 0] + 0.5) + transform.f
        line = shapely.simplify(shapely.linestrings(np.stack([x, y], axis=1)), 1.0)
        lines.append(line)
        us.append(u)
        vs.append(v)
        lengths.append(shapely.length(line))
    edges = gpd.GeoDataFrame({"u": us, "v": vs, "length_m": lengths}, geometry=lines, crs=crs)
    work = time.perf_counter() - t0
    return {
        "work_s": work,
        "work_cpu_s": time.process_time() - c0,
        "jit_s": jit,
        "edges": len(edges),
        "nodes": g.number_of_nodes(),
        "length_km": float(edges.length_m.sum()) / 1000,
        "rss_imports_mb": rss_imports,
    }


def child(which: str, path: str) -> None:
    t = time.perf_counter()
    res = run_roadseg(path) if which == "roadseg" else run_baseline(path)
    res["process_s"] = time.perf_counter() - t
    res["peak_rss_mb"] = rss_mb()
    print(json.dumps(res))


def spawn(which: str, path: Path) -> dict:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, "--input", str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10000, help="mosaic side in pixels (default 10000)")
    ap.add_argument("--input", help="use this mask GeoTIFF instead of building the mosaic")
    ap.add_argument("--workdir", help="where the mosaic goes (default: a temporary folder)")
    ap.add_argument("--masks", default=str(MASKS), help="folder of the mask PNGs to tile")
    ap.add_argument("--out", help="also write the results as JSON here")
    ap.add_argument(
        "--repeats", type=int, default=1, help="alternate the two sides this many times"
    )
    ap.add_argument("--child", choices=["roadseg", "baseline"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.input)
        return
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        path = Path(args.input) if args.input else None
        if path is None:
            t = time.perf_counter()
            path = make_mosaic(
                args.size, Path(tmp) / f"mass_mosaic_{args.size}.tif", Path(args.masks)
            )
            print(
                f"mosaic {args.size}x{args.size} from {args.masks} in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
        runs: dict[str, list[dict]] = {"roadseg": [], "baseline": []}
        for _ in range(max(1, args.repeats)):
            runs["roadseg"].append(spawn("roadseg", path))
            runs["baseline"].append(spawn("baseline", path))
        ours, base = (
            {
                **min(runs[k], key=lambda r: r["work_s"]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs[k]),
                "work_s_all": [r["work_s"] for r in runs[k]],
            }
            for k in ("roadseg", "baseline")
        )
    result = {
        "size": args.size,
        "input": str(args.input or "Massachusetts label mosaic"),
        "repeats": args.repeats,
        "roadseg": ours,
        "baseline": base,
        "time_ratio_work": base["work_s"] / ours["work_s"],
        "time_ratio_work_cpu": base["work_cpu_s"] / ours["work_cpu_s"],
        "time_ratio_work_plus_jit": (base["work_s"] + base["jit_s"]) / ours["work_s"],
        "time_ratio_process": base["process_s"] / ours["process_s"],
        "peak_rss_ratio": ours["peak_rss_mb"] / base["peak_rss_mb"],
        # each repeat alone (the two sides ran one after the other): "3 runs out of 3"
        "pairs": [
            {
                "time_ratio_work": b["work_s"] / r["work_s"],
                "time_ratio_work_cpu": b["work_cpu_s"] / r["work_cpu_s"],
                "peak_rss_ratio": r["peak_rss_mb"] / b["peak_rss_mb"],
                "length_ratio": r["length_km"] / b["length_km"],
            }
            for r, b in zip(runs["roadseg"], runs["baseline"])
        ],
    }
    print(
        f"{'':10s} {'work s':>8s} {'cpu s':>6s} {'jit s':>6s} {'process s':>9s} {'peak RSS MB':>11s} "
        f"{'imports MB':>10s} {'edges':>7s} {'km':>8s}"
    )
    for name, r in (("roadseg", ours), ("baseline", base)):
        print(
            f"{name:10s} {r['work_s']:8.2f} {r['work_cpu_s']:6.2f} {r['jit_s']:6.2f} {r['process_s']:9.2f} {r['peak_rss_mb']:11.0f} "
            f"{r['rss_imports_mb']:10.0f} {r['edges']:7d} {r['length_km']:8.1f}"
        )
    print(
        f"speed-up (baseline/roadseg work time): {result['time_ratio_work']:.2f}x "
        f"(with the baseline's JIT: {result['time_ratio_work_plus_jit']:.2f}x; whole process: "
        f"{result['time_ratio_process']:.2f}x)"
    )
    print(f"CPU-time ratio of the work (baseline/roadseg): {result['time_ratio_work_cpu']:.2f}x")
    print(f"peak RSS ratio (roadseg/baseline): {result['peak_rss_ratio']:.3f}")
    for i, p in enumerate(result["pairs"], start=1):
        print(
            f"repeat {i}: speed-up {p['time_ratio_work']:.2f}x (CPU {p['time_ratio_work_cpu']:.2f}x), "
            f"peak RSS ratio {p['peak_rss_ratio']:.3f}, length ratio {p['length_ratio']:.4f}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
