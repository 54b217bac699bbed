"""The many-scene job: scenes fanned out on Dask, the network of their mosaic exported.

See :mod:`roadseg.pipeline.dask_runner` for the task graph and
:mod:`roadseg.pipeline.mosaic` for the mosaic. This
module adds what the command line needs around it: the output checks up front,
the all-or-nothing export of the merged network, the optional evaluation and the
removal of the cache once everything is written.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from roadseg.atomic import atomic_path, remove_stale_partials
from roadseg.errors import InputError, OutputError
from roadseg.io_guard import check_writable
from roadseg.leases import remove_stale_leases
from roadseg.pipeline.cache import (
    StageCache,
    check_cache_dir,
    claim_cache_dir,
    remove_cache_dir_if_empty,
)
from roadseg.pipeline.config import ExtractConfig
from roadseg.pipeline.dask_runner import MultiSceneResult, SceneOutcome, run_scenes
from roadseg.pipeline.evaluate import (
    evaluate_outputs,
    evaluation_paths,
    kept_probability,
    published_names,
)
from roadseg.pipeline.extract import (
    cache_root,
    conflate_source,
    conflate_staged,
    export_staged,
    labels_of,
    output_targets,
)
from roadseg.pipeline.mosaic import MOSAIC_CACHE
from roadseg.postprocess.level import ChosenThreshold, choose_threshold
from roadseg.staging import StagedOutputs
from roadseg.uri import RemotePath

log = logging.getLogger(__name__)


class AllScenesFailed(InputError):
    """No scene produced a network; ``count`` scenes failed and nothing was written."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


def extract_scenes(
    scenes: Sequence[Path | RemotePath],
    out: str | os.PathLike[str],
    config: ExtractConfig | None = None,
) -> tuple[MultiSceneResult, list[Path]]:
    """Run every scene on Dask (``config.cluster``), vectorise their mosaic, export to ``out``.

    Returns the result (with per-scene outcomes; failed scenes are listed, not
    raised) and the files written. Raises :class:`OutputError` when the merged
    network cannot be written, and :class:`InputError` when no scene succeeded.
    """
    config = config or ExtractConfig()
    out = Path(out)
    targets = output_targets(out, config.output.formats)
    for t in targets:
        check_writable(t)
    root = cache_root(out, config)
    check_cache_dir(root, targets)
    try:
        claim_cache_dir(root)
    except OSError as exc:
        raise OutputError(f"{root}: cannot create the cache folder ({exc.strerror})") from exc
    labels = labels_of(config)
    try:
        return _run_and_export(scenes, out, config, root, labels)
    finally:
        # the workers are gone: their leases are stale, and so are the partial files of
        # those killed in the middle of a write (SIGTERM/Ctrl-C: the cluster is closed
        # without waiting for their tasks); a cache left empty goes too
        remove_stale_partials(root)
        remove_stale_leases(root)
        remove_cache_dir_if_empty(root)


def _run_and_export(
    scenes: Sequence[Path | RemotePath],
    out: Path,
    config: ExtractConfig,
    root: Path,
    labels: Path | RemotePath | None,
) -> tuple[MultiSceneResult, list[Path]]:
    osm = conflate_source(config)
    cl = config.cluster
    result = run_scenes(
        scenes,
        config,
        scheduler=cl.scheduler,
        n_workers=cl.n_workers,
        threads_per_worker=cl.threads_per_worker,
        gpu_resources=cl.gpu,
        cache_dir=root,
    )
    if not result.succeeded:
        raise AllScenesFailed(
            f"{out}: every scene failed ({len(result.failed)}); nothing written. First error: "
            f"{result.failed[0].error}",
            len(result.failed),
        )
    network = result.network
    if result.failed:
        network.metadata["failed_scenes"] = {o.scene: o.error for o in result.failed}
    with StagedOutputs(out) as staged:
        export_staged(network, out, config.output.formats, staged)
        if labels is not None:
            _evaluate(result, labels, staged, out, config)
        if osm is not None:  # the merged network, once
            conflate_staged(network, out, osm, config, staged)
        written = staged.publish()
    if config.output.summary_json:
        with atomic_path(Path(config.output.summary_json)) as tmp:
            tmp.write_text(json.dumps(summary_dict(result), indent=2, default=str))
        written.append(Path(config.output.summary_json))
    if not config.output.keep_cache:
        for o in result.outcomes:
            StageCache(root, Path(o.scene).stem).clear()
        StageCache(root, MOSAIC_CACHE).clear()
    log.info("%s", format_summary(result))
    return result, written


def _evaluate(
    result: MultiSceneResult,
    labels: Path | RemotePath,
    staged: StagedOutputs,
    out: Path,
    config: ExtractConfig,
) -> list[Path]:
    """The report of every scene's probabilities, at the threshold the scenes were cut at;
    it names the files as they are once the run is over."""
    ok = [o for o in result.succeeded if o.probability]
    probabilities = [Path(str(o.probability)) for o in ok]
    staged_out = staged.path(out)
    plots = overlay_paths(evaluation_paths(staged_out)["plot"], ok)
    names = published_names(
        staged.dir,
        out.parent if str(out.parent) else Path("."),
        plots,
        {p: kept_probability(p, o.kept, config) for p, o in zip(probabilities, ok)},
    )
    _, files = evaluate_outputs(
        probabilities,
        [Path(o.scene) for o in ok],
        labels,
        staged_out,
        run_threshold(result),
        result.network,  # the merged network: buffer and graph metrics too, as for one scene
        options=config.evaluation,
        report_paths=names,
        network_name=out,
        bbox=config.predict.bbox,
    )
    return files


def overlay_paths(plot: Path, scenes: list[SceneOutcome]) -> list[Path]:
    """The overlay files of a many-scene evaluation (one per scene, as the evaluation names
    them: ``<plot stem>_<i>_<scene name>.png``), or ``plot`` itself for one scene."""
    from roadseg.evaluation.overlay import overlay_path

    return [overlay_path(plot, i, len(scenes), o.scene) for i, o in enumerate(scenes)]


def run_threshold(result: MultiSceneResult) -> ChosenThreshold:
    """The threshold the mosaic was cut at (one per run: the same config and model)."""
    chosen = {o.threshold for o in result.succeeded if o.threshold is not None}
    if len(chosen) > 1:  # e.g. scenes resumed from probability rasters of different models
        log.warning(
            "scenes were cut at different thresholds (%s); evaluating at the first",
            ", ".join(sorted(t.describe() for t in chosen)),
        )
    first = next((o.threshold for o in result.succeeded if o.threshold is not None), None)
    return first if first is not None else choose_threshold(None, what="the merged network")


def summary_dict(result: MultiSceneResult) -> dict:
    net = result.network
    return {
        "scenes": len(result.outcomes),
        "failed": {o.scene: o.error for o in result.failed},
        "skipped_outside_bbox": result.skipped,
        "road_km": net.total_length_m / 1000.0,
        "edges": len(net.edges),
        "nodes": len(net.nodes),
        "seconds": result.seconds,
        "mosaics": [
            {"scenes": m.scenes, "seconds": m.seconds, "resumed": m.cached} for m in result.mosaics
        ],
        "per_scene": [o.summary.as_dict() for o in result.succeeded if o.summary],
    }


def format_summary(result: MultiSceneResult) -> str:
    net = result.network
    tiles = sum(o.summary.tiles for o in result.succeeded if o.summary)
    px = sum(o.summary.width * o.summary.height for o in result.succeeded if o.summary)
    stage: dict[str, float] = {}
    for o in result.succeeded:
        for k, v in (o.summary.stage_s if o.summary else {}).items():
            stage[k] = stage.get(k, 0.0) + v
    if result.mosaics:
        stage["mosaic + vectorise"] = sum(m.seconds for m in result.mosaics)
    lines = [
        f"{len(result.succeeded)} of {len(result.outcomes)} scenes done "
        f"({px / 1e6:.1f} Mpx, {tiles} tiles) in {result.seconds:.1f}s",
        f"network of the mosaic: {net.total_length_m / 1000:.2f} km of road, "
        f"{len(net.edges)} edges, {len(net.nodes)} nodes",
        "worker time: " + ", ".join(f"{k} {v:.1f}s" for k, v in stage.items()),
    ]
    if result.skipped:
        lines.append(f"{len(result.skipped)} scene(s) outside --bbox skipped")
    lines += [f"FAILED {o.describe_error()}" for o in result.failed]
    return "\n".join(lines)
