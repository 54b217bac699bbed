"""Many scenes on Dask distributed, then one road network merged across scene borders.

Task graph, per scene::

    predict_task(scene)  --(probability raster path)-->  vectorize_task  -->  SceneOutcome

* Without GPU workers the two steps run as one task (:func:`scene_task`), so the
  probability raster is read back on the machine that wrote it.
* With ``gpu_resources`` the inference task asks for the worker resource
  ``GPU=1`` (workers started with ``--resources GPU=1``; a LocalCluster gets one
  slot per worker), so only GPU workers run it, one at a time each, and the
  vectorisation task runs on any worker. The cache folder (where the
  probability raster is written) must then be on storage every worker sees.

A scene that fails (missing, corrupt, unfit for the model, ...) is reported
with its path and error and does not stop the others; nothing it started is
kept. The networks of the scenes that succeeded are merged with
:func:`roadseg.vector.merge_networks`: end points of different scenes closer
than ``seam_m`` metres are snapped together and a road crossing a border comes
out as one polyline.

Since each scene only sees its own pixels, a road stub cut short by a scene
border must not be dropped as a "short component" before the merge: the scenes
are vectorised with ``keep_border_components=True`` and the short-component
rule (``min_component_m``) is applied again to the merged network.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadseg.errors import InputError, RoadsegError
from roadseg.paths import scene_config
from roadseg.pipeline.cache import StageCache
from roadseg.pipeline.config import ExtractConfig
from roadseg.pipeline.summary import RunSummary
from roadseg.postprocess.level import ChosenThreshold
from roadseg.uri import scene_path

log = logging.getLogger(__name__)


@dataclass
class SceneOutcome:
    """The result of one scene: its network and summary, or the error that stopped it."""

    scene: str
    network: Any = None  # roadseg.vector.RoadNetwork
    summary: RunSummary | None = None
    probability: str | None = None
    error: str | None = None
    worker: str | None = None
    threshold: ChosenThreshold | None = None
    kept: dict[str, str] = field(default_factory=dict)  # kept intermediates by kind

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class MultiSceneResult:
    """All scenes' outcomes and the merged network of those that succeeded."""

    network: Any
    outcomes: list[SceneOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[SceneOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def succeeded(self) -> list[SceneOutcome]:
        return [o for o in self.outcomes if o.ok]


# ----------------------------------------------------------------------------- tasks


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, RoadsegError):
        return str(exc)
    # a bug or an unexpected library error: keep the last frame to make it findable
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _worker_name() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def _set_threads(config: ExtractConfig, threads: int) -> None:
    import torch

    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _scene_config(config: ExtractConfig) -> ExtractConfig:
    """Per-scene config on workers: no progress bars, border stubs kept for the merge."""
    vcfg = dataclasses.replace(config.vectorize, keep_border_components=True)
    return dataclasses.replace(config, vectorize=vcfg, progress=False)


def predict_task(scene: str, config: ExtractConfig, cache_root: str, threads: int = 0) -> Any:
    """Inference of one scene on a worker; returns a ``PredictStage`` or a failed outcome."""
    from roadseg.pipeline.stages import predict_stage

    _set_threads(config, threads)
    path = scene_path(scene)  # a URL is opened here, on the worker, never on the client
    try:
        return predict_stage(path, config, StageCache(cache_root, path.stem))
    except Exception as exc:  # reported per scene, never raised: the other scenes go on
        log.warning("%s: failed: %s", scene, _error_text(exc))
        return SceneOutcome(scene=scene, error=_error_text(exc), worker=_worker_name())


def vectorize_task(
    stage: Any, config: ExtractConfig, cache_root: str, threads: int = 0
) -> SceneOutcome:
    """Vectorisation of one scene's probability raster on a worker."""
    from roadseg.pipeline.stages import vectorize_and_summarise

    if isinstance(stage, SceneOutcome):  # inference already failed
        return stage
    _set_threads(config, threads)
    scene = str(stage.scene)
    try:
        cache = StageCache(cache_root, Path(scene).stem)
        done = vectorize_and_summarise(stage, config, cache)
        return SceneOutcome(
            scene=scene,
            network=done.network,
            summary=done.summary,
            probability=str(stage.probability),
            worker=_worker_name(),
            threshold=done.threshold,
            kept={kind: str(p) for kind, p in done.kept.items()},
        )
    except Exception as exc:
        log.warning("%s: failed: %s", scene, _error_text(exc))
        return SceneOutcome(scene=scene, error=_error_text(exc), worker=_worker_name())


def scene_task(
    scene: str, config: ExtractConfig, cache_root: str, threads: int = 0
) -> SceneOutcome:
    """Both steps of one scene in one task (no GPU resources: keeps the raster local)."""
    return vectorize_task(
        predict_task(scene, config, cache_root, threads), config, cache_root, threads
    )


# ----------------------------------------------------------------------------- merge


def drop_short_components(network: Any, min_component_m: float) -> Any:
    """The network without connected components shorter than ``min_component_m`` metres."""
    import networkx as nx

    from roadseg.vector import RoadNetwork

    if min_component_m <= 0 or len(network.edges) == 0:
        return network
    g = nx.MultiGraph()
    g.add_nodes_from(network.nodes["node_id"].tolist())
    for i, (u, v, length) in enumerate(
        zip(network.edges["u"], network.edges["v"], network.edges["length_m"])
    ):
        g.add_edge(int(u), int(v), key=i, length=float(length))
    keep_edges: list[int] = []
    keep_nodes: set[int] = set()
    for comp in nx.connected_components(g):
        edges = [(k, d["length"]) for _, _, k, d in g.edges(comp, keys=True, data=True)]
        if edges and sum(length for _, length in edges) >= min_component_m:
            keep_edges += [k for k, _ in edges]
            keep_nodes |= set(comp)
    edges = network.edges.iloc[sorted(set(keep_edges))].copy()
    nodes = network.nodes[network.nodes["node_id"].isin(keep_nodes)].copy()
    renumber = {old: new for new, old in enumerate(sorted(keep_nodes))}
    nodes["node_id"] = nodes["node_id"].map(renumber).astype("int64")
    edges["u"] = edges["u"].map(renumber).astype("int64")
    edges["v"] = edges["v"].map(renumber).astype("int64")
    nodes = nodes.sort_values("node_id").reset_index(drop=True)
    edges = edges.reset_index(drop=True)
    return RoadNetwork(edges, nodes, network.crs, network.gsd, dict(network.metadata))


def merge_scene_networks(outcomes: Sequence[SceneOutcome], config: ExtractConfig) -> Any:
    """One network from the scenes that succeeded (see the module docstring)."""
    from roadseg.vector import merge_networks
    from roadseg.vector.network import empty_network

    networks = [o.network for o in outcomes if o.ok and o.network is not None]
    if not networks:
        return empty_network(None, 1.0, {"merged_from": []})
    merged = merge_networks(networks, seam_m=config.cluster.seam_m)
    if not config.vectorize.keep_border_components:
        merged = drop_short_components(merged, config.vectorize.min_component_m)
    merged.metadata["scenes"] = [o.scene for o in outcomes if o.ok]
    notes = {
        o.network.metadata.get("georeferencing") for o in outcomes if o.ok and o.network is not None
    }
    notes.discard(None)
    if notes:
        merged.metadata["georeferencing"] = sorted(notes)[0] if len(notes) == 1 else sorted(notes)
    return merged


# ----------------------------------------------------------------------------- runner


def log_scene_done(outcome: Any, done: int, total: int) -> None:
    """One line per finished scene: the progress of a many-scene run in a log file."""
    if outcome.ok and outcome.summary is not None:
        sm = outcome.summary
        log.info("scene %d/%d done: %s, %.2f km of road", done, total, outcome.scene, sm.road_km)
    else:
        log.info("scene %d/%d failed: %s", done, total, outcome.scene)


def _client(scheduler: str | None, n_workers: int, threads_per_worker: int, gpu: bool) -> Any:
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"{scheduler}: cannot reach the Dask scheduler ({exc})") from exc
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        resources={"GPU": 1} if gpu else None,
        dashboard_address=":0",  # a free port: no "port in use" notice
        silence_logs=logging.WARNING,
    )
    return Client(cluster)


def run_scenes(
    scenes: Sequence[str | os.PathLike[str]],
    config: ExtractConfig | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    gpu_resources: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    client: Any = None,
) -> MultiSceneResult:
    """Process ``scenes`` on Dask and merge their networks across scene borders.

    Args:
        scenes: scene files (see :func:`roadseg.pipeline.inputs.expand_scenes`).
        config: the per-scene stages' options (``config.cluster.seam_m`` for the merge).
        scheduler: address of an existing scheduler; ``None`` starts a LocalCluster
            of ``n_workers`` processes with ``threads_per_worker`` threads each.
        gpu_resources: inference tasks require the worker resource ``GPU=1``.
        cache_dir: where stage outputs go (``config.output.cache_dir``, else a
            temporary folder, removed at the end, which only a LocalCluster can use).
        client: an existing :class:`distributed.Client` to use instead.

    Returns:
        the outcomes in the order of ``scenes`` and the merged network. Entries in a
        given ``cache_dir`` are kept (the caller removes them once its outputs are written).
    """
    config = config or ExtractConfig()
    names = [str(s) for s in scenes]
    if not names:
        raise InputError("no input scenes given")
    root, own_cache = _cache_root(cache_dir or config.output.cache_dir, scheduler)
    base_config = _scene_config(config)
    t0 = time.perf_counter()
    own_client = client is None
    client = client or _client(scheduler, n_workers, threads_per_worker, gpu_resources)
    log.info("Dask dashboard: %s", getattr(client, "dashboard_link", None) or "none")
    try:
        futures = [
            # each scene its own intermediates folder (scenes sharing a file name kept apart)
            _submit(
                client,
                scene,
                i,
                scene_config(base_config, scene, names),
                root,
                threads_per_worker,
                gpu_resources,
            )
            for i, scene in enumerate(names)
        ]
        done = _collect(futures, names, config.progress)
    finally:
        if own_client:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    if own_cache:
        shutil.rmtree(root, ignore_errors=True)
        for o in done:
            o.probability = None
    for o in done:
        if not o.ok:
            log.error("%s: %s", o.scene, o.error)
    merged = merge_scene_networks(done, config)
    return MultiSceneResult(network=merged, outcomes=done, seconds=time.perf_counter() - t0)


def _cache_root(root: str | os.PathLike[str] | None, scheduler: str | None) -> tuple[str, bool]:
    """The cache folder (created) and whether it is this run's own temporary one."""
    own = root is None
    if root is None:
        if scheduler:
            raise InputError(
                f"{scheduler}: a remote cluster needs --cache-dir on storage every worker sees"
            )
        root = tempfile.mkdtemp(prefix="roadseg-cache-")  # removed at the end, results in memory
    path = Path(root).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return str(path), own


def _submit(
    client: Any,
    scene: str,
    index: int,
    config: ExtractConfig,
    root: str,
    threads: int,
    gpu: bool,
) -> Any:
    """The future of one scene's outcome: one task, or inference on a GPU worker then
    vectorisation on any worker."""
    key = f"roadseg-{Path(scene).name}-{index}"
    if not gpu:
        return client.submit(
            scene_task, scene, config, root, threads, key=f"scene-{key}", pure=False
        )
    pred = client.submit(
        predict_task,
        scene,
        config,
        root,
        threads,
        key=f"predict-{key}",
        resources={"GPU": 1},
        pure=False,
    )
    return client.submit(
        vectorize_task, pred, config, root, threads, key=f"vectorize-{key}", pure=False
    )


def _collect(futures: list[Any], names: list[str], progress: bool) -> list[SceneOutcome]:
    """The outcomes in the order of ``names``, as the futures complete."""
    from distributed import as_completed
    from tqdm import tqdm

    outcomes: list[SceneOutcome | None] = [None] * len(names)
    index = {f.key: i for i, f in enumerate(futures)}
    with tqdm(total=len(names), desc="scenes", unit="scene", disable=not progress) as bar:
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                outcomes[i] = fut.result()
            except Exception as exc:  # a worker died (KilledWorker), a task was lost ...
                outcomes[i] = SceneOutcome(scene=names[i], error=_error_text(exc))
            bar.update()
            log_scene_done(outcomes[i], sum(o is not None for o in outcomes), len(names))
    return [o for o in outcomes if o is not None]
