"""Many scenes' road network: the network of the mosaic of their probability rasters.

After inference (one task per scene), the scenes are grouped into *islands*:
scenes whose footprints lie within ``cluster.seam_m`` metres of each other,
directly or through other scenes. Each island's probability rasters are
mosaicked onto one grid (:mod:`roadseg.raster.mosaic`: the first scene's grid;
overlaps weighted towards the scene whose edge is farther) and the mosaic is
vectorised as one large scene (by blocks with a halo, the same options as one
scene). A road in an overlap is skeletonised once; a road along or across a
cut is seen whole. Islands do not touch, so their networks are joined as they
are (:func:`concat_networks`).

Each edge carries ``scene``: the scenes whose footprint it crosses, in the
order given, separated by ``;`` (an edge in an overlap came from both); each node
the scenes it lies in.

One scene alone is its own mosaic, pixel for pixel, so it gives the network a
one-scene run gives. (Scenes used to be vectorised apart, keeping the stubs their
borders cut for a seam merge; a scene's own figures then counted those stubs, e.g.
93 edges inside a run where the scene alone has 91.)

An island is vectorised in one task, by blocks (memory bounded by the block size,
not by the island), so a very large contiguous area is the serial part of a run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadseg.pipeline.cache import StageCache, read_cached_network, stage_key, write_cached_network
from roadseg.pipeline.config import RUNTIME_ONLY_VECTORIZE, ExtractConfig, stage_params
from roadseg.pipeline.stages import PredictStage, choose_run_threshold, vectorize_config
from roadseg.postprocess.level import ChosenThreshold, stored_threshold
from roadseg.raster.tags import THRESHOLD_TAG
from roadseg.vector import RoadNetwork

log = logging.getLogger(__name__)

#: The cache prefix of the mosaics and their networks.
MOSAIC_CACHE = "mosaic"
#: Separator of the scene names in an edge's ``scene``.
SCENE_SEP = ";"
#: Bumped when the mosaic rule changes, so cached mosaics are not reused across rules.
MOSAIC_RULE = "edge-weighted-mean/1"


@dataclass
class MosaicNetwork:
    """One island's network, the threshold it was cut at and where its mosaic is."""

    scenes: list[str]
    network: RoadNetwork
    threshold: ChosenThreshold
    mosaic: Path | None
    cached: bool
    seconds: float
    kept: dict[str, dict[str, Path]] = field(default_factory=dict)  # by scene, by kind


def plan_islands(probabilities: Sequence[str | Path], gap_m: float) -> list[list[int]]:
    """The islands of the scenes (indices into ``probabilities``), see the module docstring."""
    from roadseg.raster.mosaic import islands, plan_mosaic

    plan = plan_mosaic(list(probabilities))
    unit = _map_units_per_metre(plan)
    return islands(plan, gap_m * unit)


def _map_units_per_metre(plan: Any) -> float:
    """Map units of the mosaic grid per metre (1 for a metric CRS or a local grid)."""
    s = plan.sources[0]
    size = (abs(s.grid.transform.a * s.grid.transform.e)) ** 0.5
    return size / s.gsd if s.gsd > 0 else 1.0


def _shared_level(probabilities: Sequence[Path]) -> float | None:
    levels = {stored_threshold(p) for p in probabilities}
    return levels.pop() if len(levels) == 1 else None


def vectorize_mosaic(
    stages: Sequence[PredictStage], config: ExtractConfig, cache: StageCache
) -> MosaicNetwork:
    """The network of the mosaic of ``stages``' probability rasters (cached like a scene's)."""
    from roadseg.raster.mosaic import plan_mosaic, write_mosaic
    from roadseg.vector import vectorize_raster

    t0 = time.perf_counter()
    names = [str(s.scene) for s in stages]
    probs = [Path(s.probability) for s in stages]
    threshold = choose_run_threshold(config, stages[0].weights, probs[0])
    vcfg = vectorize_config(config, threshold)
    keys = [s.key for s in stages]
    mosaic_key = stage_key("mosaic", MOSAIC_RULE, keys)
    key = stage_key("mosaic-network", mosaic_key, stage_params(vcfg, RUNTIME_ONLY_VECTORIZE))
    if config.output.resume:
        network = read_cached_network(cache, key)
        if network is not None:
            log.info("mosaic of %d scene(s): vectorisation resumed from the cache", len(stages))
            threshold = threshold.applied(network.metadata.get("threshold_level"))
            return MosaicNetwork(names, network, threshold, None, True, time.perf_counter() - t0)
    cache.ensure()
    plan = plan_mosaic(probs)
    path = probs[0]  # one scene is its own mosaic, pixel for pixel: no copy
    if len(probs) > 1:
        path = cache.path("probability", mosaic_key, ".tif")
        if not cache.valid(path):
            level = _shared_level(probs)
            write_mosaic(plan, path, {THRESHOLD_TAG: repr(level)} if level is not None else None)
            cache.seal(path)
    network = vectorize_raster(path, vcfg)
    add_scene_column(network, plan, names)
    _describe(network, stages, threshold, plan)
    write_cached_network(cache, key, network)
    threshold = threshold.applied(network.metadata.get("threshold_level"))
    return MosaicNetwork(names, network, threshold, path, False, time.perf_counter() - t0)


def _describe(
    network: RoadNetwork, stages: Sequence[PredictStage], threshold: ChosenThreshold, plan: Any
) -> None:
    meta = network.metadata
    meta.pop("source", None)
    meta["scenes"] = [str(s.scene) for s in stages]
    meta["mosaic"] = {
        "rule": MOSAIC_RULE,
        "grid": plan.grid.describe(),
        "warped": [str(p) for p in plan.warped],
    }
    meta["weights"] = stages[0].weights.name
    meta["threshold_from"] = threshold.origin
    meta["model_gsd_m"] = stages[0].result.model_gsd_m
    notes = sorted({s.georeferencing for s in stages if s.georeferencing})
    if notes and network.crs is not None:  # without CRS the vectoriser's local-grid note stays
        meta["georeferencing"] = notes[0] if len(notes) == 1 else notes


def add_scene_column(network: RoadNetwork, plan: Any, names: Sequence[str]) -> None:
    """Set ``scene`` on the edges and nodes: the names of the scenes whose footprint each
    edge crosses (each node lies in), in the order of ``names``, ``;``-separated."""
    import shapely

    feet = shapely.STRtree([s.footprint for s in plan.sources])
    for table in (network.edges, network.nodes):
        found: list[set[int]] = [set() for _ in range(len(table))]
        if len(table):
            hits = feet.query(table.geometry.to_numpy(), predicate="intersects")
            for row, f in zip(*hits.tolist()):
                found[row].add(f)
        table["scene"] = [SCENE_SEP.join(names[f] for f in sorted(fs)) for fs in found]


#: An island's metadata that the run's own metadata replaces (``mosaics`` lists them all).
_RUN_LEVEL = frozenset({"mosaic", "probability_source", "scenes"})


def concat_networks(networks: Sequence[RoadNetwork], metadata: dict[str, Any]) -> RoadNetwork:
    """The networks of islands that do not touch, as one (node ids renumbered)."""
    import geopandas as gpd
    import pandas as pd

    from roadseg.vector.network import empty_network

    nets = [n for n in networks if n is not None]
    if not nets:
        return empty_network(None, 1.0, metadata)
    if len(nets) == 1:
        net = nets[0]
        own = {k: v for k, v in net.metadata.items() if k not in _RUN_LEVEL}
        return RoadNetwork(net.edges, net.nodes, net.crs, net.gsd, {**own, **metadata})
    crs = nets[0].crs
    edges, nodes, offset = [], [], 0
    for n in nets:
        e, v = n.edges, n.nodes
        if crs is not None and n.crs is not None and not n.crs.equals(crs):
            e, v = e.to_crs(crs), v.to_crs(crs)
        e, v = e.copy(), v.copy()
        e["u"] += offset
        e["v"] += offset
        v["node_id"] += offset
        offset += len(v)
        edges.append(e)
        nodes.append(v)
    all_edges = gpd.GeoDataFrame(pd.concat(edges, ignore_index=True), crs=crs)
    all_nodes = gpd.GeoDataFrame(pd.concat(nodes, ignore_index=True), crs=crs)
    gsd = min(n.gsd for n in nets)
    return RoadNetwork(all_edges, all_nodes, crs, gsd, metadata)


def scene_part(network: RoadNetwork, scene: str) -> RoadNetwork:
    """The edges (and their nodes) of ``network`` that came from ``scene``."""
    if "scene" not in network.edges.columns or not len(network.edges):
        return network
    mask = [scene in s.split(SCENE_SEP) for s in network.edges["scene"]]
    edges = network.edges[mask]
    used = set(edges["u"]) | set(edges["v"])
    nodes = network.nodes[network.nodes["node_id"].isin(used)]
    return RoadNetwork(edges, nodes, network.crs, network.gsd, network.metadata)


def mosaic_config(config: ExtractConfig) -> ExtractConfig:
    """The run's config as the mosaic task uses it (no progress bars on workers)."""
    return dataclasses.replace(config, progress=False)
