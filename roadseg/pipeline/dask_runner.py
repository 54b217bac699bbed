"""Many scenes on Dask distributed, then the road network of their mosaic.

Task graph::

    predict_task(scene)  (one per scene; on GPU workers with ``gpu_resources``)
        --> plan_islands    (scenes within ``cluster.seam_m`` of each other, grouped)
        --> island_task     (one per island: mosaic of the probability rasters, vectorised)

* With ``gpu_resources`` the inference tasks ask for the worker resource
  ``GPU=1`` (workers started with ``--resources GPU=1``; a LocalCluster gets one
  slot per worker), so only GPU workers run them, one at a time each; the
  mosaic tasks run on any worker. The cache folder (where the probability
  rasters and mosaics are written) must be on storage every worker sees when
  the workers are on more than one machine.
* Each island's network is the network of the mosaic of its scenes'
  probabilities (:mod:`roadseg.pipeline.mosaic`, :mod:`roadseg.raster.mosaic`):
  each road once however much the scenes overlap, nothing lost where they are
  cut, and the same options as one scene (``min_component_m`` included, no
  seam heuristics). Islands do not touch; their networks are joined as they are.

A scene that fails (missing, corrupt, unfit for the model, ...) is reported
with its path and error and does not stop the others; nothing it started is
kept. An island whose mosaic fails reports its scenes as failed, with the error.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadseg.errors import InputError, RoadsegError
from roadseg.paths import scene_config
from roadseg.pipeline.cache import StageCache, claim_cache_dir
from roadseg.pipeline.config import ExtractConfig
from roadseg.pipeline.summary import RunSummary
from roadseg.postprocess.level import ChosenThreshold
from roadseg.uri import scene_path

log = logging.getLogger(__name__)

#: a run's own LocalCluster that has had no worker for this long (its worker processes
#: died, or never started) fails the run; an existing scheduler's is only reported, once
#: (its workers may still be on their way: an adaptive cluster starting from none)
NO_WORKERS_S = 60.0
#: how often a wait on the cluster looks at its workers (s)
POLL_S = 0.5


class NoWorkersError(RoadsegError):
    """The run's own Dask cluster has had no worker for :data:`NO_WORKERS_S`."""


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

    def describe_error(self) -> str:
        """The error as one line that names the scene once (most errors name it already).

        >>> SceneOutcome("a.tif", error="a.tif: not a raster").describe_error()
        'a.tif: not a raster'
        >>> SceneOutcome("a.tif", error="worker died").describe_error()
        'a.tif: worker died'
        """
        error = self.error or ""
        return error if error.startswith(f"{self.scene}:") else f"{self.scene}: {error}"


@dataclass
class MultiSceneResult:
    """All scenes' outcomes and the network of the mosaic of those that succeeded."""

    network: Any
    outcomes: list[SceneOutcome] = field(default_factory=list)
    seconds: float = 0.0
    mosaics: list[Any] = field(default_factory=list)  # roadseg.pipeline.mosaic.MosaicNetwork
    skipped: list[str] = field(default_factory=list)  # scenes outside --bbox, never read

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


#: set in the environment of the workers of a run's own LocalCluster (see _prepare_worker)
OWN_WORKER_ENV = "ROADSEG_OWN_DASK_WORKER"


class _ShutdownNotice(logging.Filter):
    """Drops Dask's notices of a shutdown roadseg asked for (logged at DEBUG instead): a run
    that is interrupted closes its LocalCluster without waiting for the running tasks."""

    TEXTS = (
        "still alive after",  # the nanny kills a worker busy with a cancelled task
        "ended with CancelledError",  # a worker closing: "should exclusively happen" then
        # a worker of the run's own cluster whose heartbeat met the scheduler closing (the
        # scheduler lives in the run's process: unreachable, it is shutting down)
        "Failed to communicate with scheduler during heartbeat",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(t in message for t in self.TEXTS):
            log.debug("dask (%s): %s", record.name, message)
            return False
        return True


def _quiet_shutdown(*loggers: str) -> None:
    """Put :class:`_ShutdownNotice` on Dask's ``loggers`` of this process (idempotent)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ShutdownNotice) for f in logger.filters):
            logger.addFilter(_ShutdownNotice())


def _prepare_worker() -> None:
    """Once per worker process (idempotent): its shutdown notices quiet, libtiff's raw lines
    to logging (a full disk), and tqdm's lock a thread lock. tqdm would otherwise create a
    multiprocessing lock, a semaphore that a worker killed at shutdown leaves to the
    ``resource_tracker``, which then warns about it."""
    import threading

    from tqdm import tqdm

    from roadseg.raster.gdal_messages import route_libtiff_messages

    _quiet_shutdown("distributed.worker.state_machine")
    if os.environ.get(OWN_WORKER_ENV):  # not on the workers of someone else's cluster
        _quiet_shutdown("distributed.worker")
    route_libtiff_messages()  # the mosaic's writer opens rasters without open_raster
    if getattr(tqdm, "_lock", None) is None:
        tqdm.set_lock(threading.RLock())


def _scene_config(config: ExtractConfig) -> ExtractConfig:
    """Per-scene config on workers: no progress bars."""
    return dataclasses.replace(config, progress=False)


@dataclass
class Predicted:
    """A scene's probability raster (``PredictStage``) and the worker that wrote it."""

    stage: Any  # roadseg.pipeline.stages.PredictStage
    config: ExtractConfig  # the scene's own config (its intermediates folder)
    worker: str | None = None


def plan_task(scenes: list[str], config: ExtractConfig) -> tuple[list[int], list[Any]]:
    """The scenes outside ``--bbox`` (:func:`roadseg.pipeline.inputs.outside_bbox`) and each
    other scene's context window (:func:`roadseg.pipeline.context.plan_contexts`), planned on
    a worker: the files are where the workers see them."""
    from roadseg.pipeline.context import plan_contexts
    from roadseg.pipeline.inputs import outside_bbox

    _prepare_worker()
    outside = outside_bbox(scenes, config.predict.bbox)
    skipped = set(outside)
    inside = [s for i, s in enumerate(scenes) if i not in skipped]
    try:
        return outside, plan_contexts(inside, config)
    except Exception as exc:  # noqa: BLE001 - a context is a refinement: predict alone
        log.warning("scenes predicted alone, without their neighbours: %s", _error_text(exc))
        return outside, [None] * len(inside)


def predict_task(
    scene: str, config: ExtractConfig, cache_root: str, threads: int = 0, context: Any = None
) -> Predicted | SceneOutcome:
    """Inference of one scene on a worker (``context``: its neighbours' window, see
    :mod:`roadseg.pipeline.context`); a failed outcome instead of raising."""
    from roadseg.pipeline.stages import predict_stage

    _prepare_worker()
    _set_threads(config, threads)
    path = scene_path(scene)  # a URL is opened here, on the worker, never on the client
    try:
        cache = StageCache(cache_root, path.stem)
        stage = predict_stage(path, config, cache, context=context)
        return Predicted(stage, config, _worker_name())
    except Exception as exc:  # reported per scene, never raised: the other scenes go on
        # the client logs each failed scene (run_scenes); here it is the worker's own log
        log.info("%s: failed: %s", scene, _error_text(exc))
        return SceneOutcome(scene=scene, error=_error_text(exc), worker=_worker_name())


def islands_task(probabilities: list[str], gap_m: float) -> list[list[int]] | str:
    """The islands of the scenes (see :func:`roadseg.pipeline.mosaic.plan_islands`), or the
    error that stopped the grouping."""
    from roadseg.pipeline.mosaic import plan_islands

    try:
        return plan_islands(probabilities, gap_m)
    except Exception as exc:
        return _error_text(exc)


def island_task(
    predicted: list[Predicted], config: ExtractConfig, cache_root: str, threads: int = 0
) -> Any:
    """One island on a worker: the network of its mosaic (a ``MosaicNetwork``), and each
    scene's kept intermediates; the error text when it fails."""
    from roadseg.pipeline.mosaic import MOSAIC_CACHE, mosaic_config, vectorize_mosaic
    from roadseg.pipeline.stages import keep_intermediates, vectorize_config
    from roadseg.vector import write_mask_and_skeleton

    _prepare_worker()
    _set_threads(config, threads)
    try:
        done = vectorize_mosaic(
            [p.stage for p in predicted],
            mosaic_config(config),
            StageCache(cache_root, MOSAIC_CACHE),
        )
        for p in predicted:  # intermediates stay per scene, from its own probabilities
            folder = p.config.output.keep_intermediates
            if folder:
                kept = keep_intermediates(p.stage, Path(folder))
                vcfg = dataclasses.replace(
                    vectorize_config(p.config, done.threshold), show_progress=False
                )
                write_mask_and_skeleton(p.stage.probability, vcfg, kept["mask"], kept["skeleton"])
                done.kept[str(p.stage.scene)] = kept
        return done
    except Exception as exc:
        log.info("mosaic of %d scene(s) failed: %s", len(predicted), _error_text(exc))
        return _error_text(exc)


def scene_outcome(p: Predicted, island: Any) -> SceneOutcome:
    """A scene's outcome: its part of the island's network, its summary, threshold, files."""
    from roadseg.pipeline.mosaic import scene_part
    from roadseg.pipeline.stages import summary_of

    stage = p.stage
    scene = str(stage.scene)
    part = scene_part(island.network, scene)
    summary = summary_of(stage, part)
    summary.stage_s["inference"] = stage.seconds
    summary.resumed += (["inference"] if stage.cached else []) + (
        ["vectorize"] if island.cached else []
    )
    kept = island.kept.get(scene, {})
    return SceneOutcome(
        scene=scene,
        network=part,
        summary=summary,
        probability=str(stage.probability),
        worker=p.worker,
        threshold=island.threshold,
        kept={kind: str(path) for kind, path in kept.items()},
    )


def _network_metadata(outcomes: Sequence[SceneOutcome], islands: Sequence[Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"scenes": [o.scene for o in outcomes if o.ok]}
    first: dict[str, Any] = islands[0].network.metadata if islands else {}
    for k in ("threshold", "threshold_level", "threshold_from", "weights", "crs", "config"):
        if k in first:
            meta[k] = first[k]
    meta["mosaics"] = [
        {"scenes": i.scenes, **i.network.metadata.get("mosaic", {})} for i in islands
    ]
    notes = {i.network.metadata.get("georeferencing") for i in islands}
    notes.discard(None)
    if notes:
        meta["georeferencing"] = sorted(notes)[0] if len(notes) == 1 else sorted(notes)
    return meta


# ----------------------------------------------------------------------------- runner


def _n_workers(client: Any) -> int:
    try:
        return len(client.nthreads())
    except Exception:  # noqa: BLE001  (a scheduler that cannot answer has no worker for us)
        return 0


@dataclass
class _Watch:
    """Waits on the futures of ``client`` without waiting for ever on a cluster with no
    worker (``as_completed`` alone would: tasks with no worker to run them just wait)."""

    client: Any
    own: bool  # the run's own LocalCluster: no worker for NO_WORKERS_S fails the run

    def completed(self, futures: Sequence[Any]) -> Iterator[Any]:
        """``futures`` as they complete (see :data:`NO_WORKERS_S`)."""
        from distributed import wait

        pending, idle_since, said = set(futures), None, False
        while pending:
            try:
                done, pending = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            yield from done
            if done or _n_workers(self.client) > 0:
                idle_since = None
                continue
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since < NO_WORKERS_S:
                continue
            if self.own:
                raise NoWorkersError(
                    f"the Dask cluster of this run has had no worker for {NO_WORKERS_S:g} s "
                    "(its worker processes died or never started); nothing was written"
                )
            if not said:
                log.warning("the Dask scheduler has had no worker for %g s; waiting for one",
                            NO_WORKERS_S)  # fmt: skip
                said = True

    def result(self, future: Any) -> Any:
        """``future.result()``, once it is done (see :meth:`completed`)."""
        for _ in self.completed([future]):
            pass
        return future.result()


def log_predicted(outcome: Any, scene: str, done: int, total: int) -> None:
    """One line per scene predicted: the progress of a many-scene run in a log file."""
    if isinstance(outcome, Predicted):
        log.info("scene %d/%d predicted: %s", done, total, scene)
    else:
        log.info("scene %d/%d failed: %s", done, total, scene)


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
        env={OWN_WORKER_ENV: "1"},
    )
    _quiet_shutdown("distributed.nanny")  # the nanny kills workers busy when interrupted
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
    """Process ``scenes`` on Dask: inference per scene, then the network of their mosaic.

    Args:
        scenes: scene files (see :func:`roadseg.pipeline.inputs.expand_scenes`).
        config: the stages' options (``config.cluster.seam_m``: scenes closer than this
            are mosaicked together).
        scheduler: address of an existing scheduler; ``None`` starts a LocalCluster
            of ``n_workers`` processes with ``threads_per_worker`` threads each.
        gpu_resources: inference tasks require the worker resource ``GPU=1``.
        cache_dir: where stage outputs go (``config.output.cache_dir``, else a
            temporary folder, removed at the end, which only a LocalCluster can use).
        client: an existing :class:`distributed.Client` to use instead.

    Returns:
        the outcomes in the order of ``scenes`` and the network of their mosaic. Entries
        in a given ``cache_dir`` are kept (the caller removes them once its outputs are
        written).
    """
    config = config or ExtractConfig()
    given = [str(s) for s in scenes]
    if not given:
        raise InputError("no input scenes given")
    root, own_cache = _cache_root(cache_dir or config.output.cache_dir, scheduler)
    base_config = _scene_config(config)
    t0 = time.perf_counter()
    own_client = client is None
    client = client or _client(scheduler, n_workers, threads_per_worker, gpu_resources)
    watch = _Watch(client, own=own_client and not scheduler)
    log.info("Dask dashboard: %s", getattr(client, "dashboard_link", None) or "none")
    try:
        outside, contexts = watch.result(client.submit(plan_task, given, base_config, pure=False))
        names = _inside_bbox(given, outside, config)
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
                contexts[i],
            )
            for i, scene in enumerate(names)
        ]
        predicted = _collect(futures, names, config.progress, watch)
        done, islands = _mosaics(client, predicted, base_config, root, threads_per_worker, watch)
    finally:
        if own_client:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
        if own_cache:  # also when the run stops: nothing of it stays in the temporary folder
            shutil.rmtree(root, ignore_errors=True)
    if own_cache:
        for o in done:
            o.probability = None
    for o in done:
        if not o.ok:
            log.error("%s", o.describe_error())
    from roadseg.pipeline.mosaic import concat_networks

    network = concat_networks([i.network for i in islands], _network_metadata(done, islands))
    return MultiSceneResult(
        network=network,
        outcomes=done,
        seconds=time.perf_counter() - t0,
        mosaics=islands,
        skipped=[given[i] for i in outside],
    )


def _inside_bbox(scenes: list[str], outside: list[int], config: ExtractConfig) -> list[str]:
    """The scenes that overlap ``--bbox`` (all without one); the others are logged as skipped,
    and a run with none left is refused."""
    for i in outside:
        log.info("%s: outside --bbox; skipped", scenes[i])
    inside = [s for i, s in enumerate(scenes) if i not in outside]
    if not inside:
        box = config.predict.bbox
        box = box if isinstance(box, str) else ",".join(map(str, box or ()))
        raise InputError(f"none of the {len(scenes)} scene(s) overlaps --bbox {box}")
    return inside


def _mosaics(
    client: Any,
    predicted: list[Predicted | SceneOutcome],
    config: ExtractConfig,
    root: str,
    threads: int,
    watch: _Watch,
) -> tuple[list[SceneOutcome], list[Any]]:
    """Every scene's outcome and the islands' networks (``MosaicNetwork``), in order."""
    ok = [p for p in predicted if isinstance(p, Predicted)]
    outcomes: dict[str, SceneOutcome] = {}
    islands: list[Any] = []
    groups: list[list[int]] = []
    if ok:
        probs = [str(p.stage.probability) for p in ok]
        found = watch.result(client.submit(islands_task, probs, config.cluster.seam_m, pure=False))
        if isinstance(found, str):  # e.g. scenes with and without a CRS
            outcomes = {
                str(p.stage.scene): SceneOutcome(str(p.stage.scene), error=found) for p in ok
            }
        else:
            groups = found
    futures = [
        client.submit(
            island_task, [ok[i] for i in g], config, root, threads, key=f"mosaic-{j}", pure=False
        )
        for j, g in enumerate(groups)
    ]
    if len(groups) > 0:
        log.info("vectorising %d mosaic(s) of %d scene(s)", len(groups), len(ok))
    for g, fut in zip(groups, futures):
        try:
            island = watch.result(fut)
        except NoWorkersError:
            raise
        except Exception as exc:  # a worker died ...
            island = _error_text(exc)
        for i in g:
            scene = str(ok[i].stage.scene)
            if isinstance(island, str):
                outcomes[scene] = SceneOutcome(scene, error=island, worker=ok[i].worker)
            else:
                outcomes[scene] = scene_outcome(ok[i], island)
        if not isinstance(island, str):
            islands.append(island)
    ordered = [
        p if isinstance(p, SceneOutcome) else outcomes[str(p.stage.scene)] for p in predicted
    ]
    return ordered, islands


def _cache_root(root: str | os.PathLike[str] | None, scheduler: str | None) -> tuple[str, bool]:
    """The cache folder (created) and whether it is this run's own temporary one."""
    own = root is None
    if root is None:
        if scheduler:
            raise InputError(
                f"{scheduler}: a remote cluster needs --cache-dir on storage every worker sees"
            )
        root = tempfile.mkdtemp(prefix="roadseg-cache-")  # removed at the end, results in memory
    path = claim_cache_dir(Path(root).resolve())  # refused when it is somebody's folder
    return str(path), own


def _submit(
    client: Any,
    scene: str,
    index: int,
    config: ExtractConfig,
    root: str,
    threads: int,
    gpu: bool,
    context: Any = None,
) -> Any:
    """The future of one scene's probability raster (on a GPU worker with ``gpu``)."""
    key = f"predict-roadseg-{Path(scene).name}-{index}"
    resources = {"GPU": 1} if gpu else None
    return client.submit(
        predict_task, scene, config, root, threads, context,
        key=key, resources=resources, pure=False,
    )  # fmt: skip


def _collect(
    futures: list[Any], names: list[str], progress: bool, watch: _Watch
) -> list[Predicted | SceneOutcome]:
    """The scenes' probability rasters (or failures) in the order of ``names``."""
    from tqdm import tqdm

    out: list[Predicted | SceneOutcome | None] = [None] * len(names)
    index = {f.key: i for i, f in enumerate(futures)}
    with tqdm(total=len(names), desc="scenes", unit="scene", disable=not progress) as bar:
        for fut in watch.completed(futures):
            i = index[fut.key]
            try:
                out[i] = fut.result()
            except Exception as exc:  # a worker died (KilledWorker), a task was lost ...
                out[i] = SceneOutcome(scene=names[i], error=_error_text(exc))
            bar.update()
            log_predicted(out[i], names[i], sum(o is not None for o in out), len(names))
    return [o for o in out if o is not None]
