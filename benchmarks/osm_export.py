#!/usr/bin/env python
"""Writing a large network as OSM XML against writing it as GeoJSON (the baseline).

Input: the bundled sample's road mask vectorised (roadseg/sample/labels.tif, 1 km², 67
edges), tiled ``--tiles`` times on a grid 1.1 km apart (node ids offset per tile), one
RoadNetwork in EPSG:26986. Each format is written ``--repeats`` times, alternating; the
fastest write of each is kept, and the peak of the memory Python allocates while writing
(``tracemalloc``, a separate run of each: tracing slows the writing) is compared as a ratio.
GeoJSON builds its whole FeatureCollection before dumping it; the OSM writer writes node by
node and way by way.

    python benchmarks/osm_export.py --tiles 1000 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def tiled_network(tiles: int) -> Any:
    """The sample network, ``tiles`` copies on a square grid, as one RoadNetwork."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from roadseg.sample import sample_labels_path
    from roadseg.vector import vectorize_raster
    from roadseg.vector.network import RoadNetwork

    net = vectorize_raster(sample_labels_path())
    side = int(np.ceil(np.sqrt(tiles)))
    step = int(net.nodes["node_id"].max()) + 1
    edges, nodes = [], []
    for i in range(tiles):
        shift = np.array([(i % side) * 1100.0, (i // side) * 1100.0])
        e, n = net.edges.copy(), net.nodes.copy()
        e["geometry"] = shapely.transform(e.geometry.values, lambda c, s=shift: c + s)
        n["geometry"] = shapely.transform(n.geometry.values, lambda c, s=shift: c + s)
        e["u"] += i * step
        e["v"] += i * step
        n["node_id"] += i * step
        edges.append(e)
        nodes.append(n)
    return RoadNetwork(
        gpd.GeoDataFrame(pd.concat(edges, ignore_index=True), crs=net.crs),
        gpd.GeoDataFrame(pd.concat(nodes, ignore_index=True), crs=net.crs),
        net.crs,
        net.gsd,
        net.metadata,
    )


def write_once(network: Any, path: Path, trace: bool) -> tuple[float, float]:
    """Seconds and (``trace``) the peak MiB Python allocated while writing ``path``."""
    from roadseg.vector.export import export_network

    if trace:
        tracemalloc.start()
    t = time.perf_counter()
    export_network(network, path)
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    if trace:
        tracemalloc.stop()
    return seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/osm_export.json")
    args = ap.parse_args()
    import shapely

    net = tiled_network(args.tiles)
    result: dict[str, Any] = {
        "edges": len(net.edges),
        "nodes": len(net.nodes),
        "vertices": int(shapely.get_num_coordinates(net.edges.geometry.values).sum()),
    }
    with tempfile.TemporaryDirectory() as d:
        for fmt in ("osm", "geojson"):
            result[fmt] = {"seconds": float("inf"), "bytes": 0}
        for _ in range(args.repeats):
            for fmt in ("osm", "geojson"):
                path = Path(d) / f"roads.{fmt}"
                seconds, _ = write_once(net, path, trace=False)
                best = min(result[fmt]["seconds"], seconds)
                result[fmt].update(seconds=round(best, 3), bytes=path.stat().st_size)
        for fmt in ("osm", "geojson"):
            result[fmt]["peak_traced_mib"] = round(
                write_once(net, Path(d) / f"r.{fmt}", True)[1], 1
            )
    result["osm_vs_geojson_time"] = round(
        result["osm"]["seconds"] / result["geojson"]["seconds"], 3
    )
    result["osm_vs_geojson_peak"] = round(
        result["osm"]["peak_traced_mib"] / result["geojson"]["peak_traced_mib"], 3
    )
    print(json.dumps(result, indent=2))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
