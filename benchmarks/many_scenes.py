#!/usr/bin/env python
"""Many scenes against one: a real tile cut into overlapping halves and into quadrants.

Input: one real Massachusetts Roads 1500 x 1500 image (default ``22679080_15``
from ``../shared/data/massachusetts_roads/train_subset/images``), written as a
GeoTIFF at 1 m in EPSG:26986 (the tiles' CRS; the PNG carries none). Cut with
rasterio windows into

* ``halves``: two scenes of 900 columns overlapping by 300 m (columns 0:900 and
  600:1500);
* ``quadrants``: four 750 x 750 scenes, no overlap;
* ``copies``: the whole tile given three times.

Each layout runs through the many-scene runner (``run_scenes``: inference per
scene on a Dask LocalCluster, then the network of the mosaic) with the bundled
model, and is compared with the whole tile run alone in the same run: road km,
edges, and road ends (degree-1 nodes) within 25 m of the cut lines. Quality
figures, not timings; the CPUs are shared. Three ways, side by side:

* ``mosaic_context``: the runner as it is: scenes on one grid predicted with their
  neighbours' pixels around them (:mod:`roadseg.pipeline.context`), the network of
  the mosaic of their probabilities;
* ``mosaic_alone``: the same with ``cluster.context`` off (each scene predicted
  alone, as before the context windows);
* ``merged``: what the runner did before the mosaic, on the scenes predicted
  alone -- each scene vectorised alone (keeping components that touch its
  border), the networks merged by the seam heuristic
  (:func:`roadseg.vector.merge_networks`, ``seam_m`` 10 m), then components
  shorter than ``min_component_m`` dropped.

    python benchmarks/many_scenes.py --out benchmarks/results/many_scenes.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = next(
    (p for p in (REPO.parent / "shared", Path("/work/shared")) if p.is_dir()), Path("shared")
)
TILE = SHARED / "data" / "massachusetts_roads" / "train_subset" / "images" / "22679080_15.png"
X0, Y0 = 230000.0, 900000.0
LAYOUTS = {
    "halves": ([(0, 1500, 0, 900), (0, 1500, 600, 1500)], [600.0, 900.0], []),
    "quadrants": (
        [(r, r + 750, c, c + 750) for r in (0, 750) for c in (0, 750)],
        [750.0],
        [750.0],
    ),
    "copies": ([(0, 1500, 0, 1500)] * 3, [], []),
}


def write_scene(
    image: Path, out: Path, r0: int, r1: int, c0: int, c1: int, gsd: float = 1.0
) -> Path:
    import numpy as np
    import rasterio
    from PIL import Image
    from rasterio.transform import from_origin

    a = np.asarray(Image.open(image).convert("RGB"))[r0:r1, c0:c1]
    with rasterio.open(
        out, "w", driver="GTiff", width=a.shape[1], height=a.shape[0], count=3, dtype="uint8",
        transform=from_origin(X0 + c0 * gsd, Y0 - r0 * gsd, gsd, gsd), crs="EPSG:26986",
    ) as ds:  # fmt: skip
        ds.write(a.transpose(2, 0, 1))
    return out


def ends_at_cuts(
    net, cols: list[float], rows: list[float], d: float = 25.0, gsd: float = 1.0
) -> int:
    """Degree-1 nodes within ``d`` metres of the cut columns/rows (tile pixels of ``gsd`` m)."""
    n = 0
    for p, deg in zip(net.nodes.geometry, net.nodes["degree"]):
        if deg != 1:
            continue
        near = any(abs(p.x - (X0 + c * gsd)) < d for c in cols)
        near |= any(abs(p.y - (Y0 - r * gsd)) < d for r in rows)
        n += near
    return n


def baseline(probabilities: list[str], cfg):
    """The networks of the scenes vectorised apart and merged across seams (the old way)."""
    import dataclasses

    import networkx as nx

    from roadseg.pipeline.stages import choose_run_threshold, resolve_weights, vectorize_config
    from roadseg.vector import merge_networks, vectorize_raster

    level = choose_run_threshold(cfg, resolve_weights(cfg), Path(probabilities[0]))
    vcfg = dataclasses.replace(vectorize_config(cfg, level), keep_border_components=True)
    merged = merge_networks([vectorize_raster(p, vcfg) for p in probabilities], seam_m=10.0)
    g = nx.MultiGraph()
    g.add_nodes_from(merged.nodes["node_id"])
    for i, (u, v, length) in enumerate(zip(merged.edges.u, merged.edges.v, merged.edges.length_m)):
        g.add_edge(u, v, key=i, length=length)
    keep = [
        k
        for comp in nx.connected_components(g)
        for _, _, k, d in g.edges(comp, keys=True, data=True)
        if sum(e["length"] for _, _, e in g.edges(comp, data=True)) >= vcfg.min_component_m
    ]
    edges = merged.edges.iloc[sorted(keep)]
    used = set(edges.u) | set(edges.v)
    nodes = merged.nodes[merged.nodes.node_id.isin(used)]
    return type(merged)(edges, nodes, merged.crs, merged.gsd, merged.metadata)


def _figures(prefix: str, net, ref, cols: list[float], rows: list[float], gsd: float) -> dict:
    return {
        f"{prefix}_km": net.total_length_m / 1000,
        f"{prefix}_edges": len(net.edges),
        f"{prefix}_ends_at_cuts": ends_at_cuts(net, cols, rows, gsd=gsd),
        f"{prefix}_km_ratio": net.total_length_m / max(ref.total_length_m, 1e-9),
    }


def main() -> None:
    from roadseg.pipeline.config import load_extract_config
    from roadseg.pipeline.dask_runner import run_scenes

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tile", type=Path, default=TILE)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--layouts", nargs="+", choices=sorted(LAYOUTS), default=list(LAYOUTS))
    ap.add_argument(
        "--gsd",
        type=float,
        default=1.0,
        help="metres per pixel the tile is written at (the model runs at 2 m: 1 and 0.5 are "
        "integer factors, 0.6 goes through GDAL's warper)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = load_extract_config(None, {"progress": False})
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        whole = write_scene(args.tile, d / "whole.tif", 0, 1500, 0, 1500, args.gsd)
        whole_run = run_scenes([whole], cfg, n_workers=1)
        ref = whole_run.network
        for name in args.layouts:
            wins, cols, rows = LAYOUTS[name]
            (d / name).mkdir()
            parts = [
                write_scene(args.tile, d / name / f"part{i}.tif", *w, args.gsd)
                for i, w in enumerate(wins)
            ]
            row = {
                "whole_tiles": whole_run.outcomes[0].summary.tiles,
                "whole_km": ref.total_length_m / 1000,
                "whole_edges": len(ref.edges),
                "whole_ends_at_cuts": ends_at_cuts(ref, cols, rows, gsd=args.gsd),
            }
            for label, on in (("alone", False), ("context", True)):
                run_cfg = dataclasses.replace(
                    cfg, cluster=dataclasses.replace(cfg.cluster, context=on)
                )
                cache = d / name / f"cache-{label}"
                run = run_scenes(parts, run_cfg, n_workers=args.workers, cache_dir=cache)
                if not on:  # the old way, on the scenes predicted alone
                    old = baseline([str(o.probability) for o in run.outcomes], cfg)
                    row.update(_figures("merged", old, ref, cols, rows, args.gsd))
                row.update(_figures(f"mosaic_{label}", run.network, ref, cols, rows, args.gsd))
                row[f"mosaic_{label}_seconds"] = run.seconds
                row[f"mosaic_{label}_tiles"] = sum(o.summary.tiles for o in run.outcomes)
            results[name] = row
            print(name, json.dumps(row))
    out = {
        "tile": args.tile.name,
        "gsd_m": args.gsd,
        "model": "bundled default",
        "layouts": results,
    }
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
