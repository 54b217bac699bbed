"""The whole one-scene job: scene GeoTIFF in, georeferenced road network out.

This module is the job: checks before any work, the stages in order, the
all-or-nothing publication of the outputs. The stages themselves are in
:mod:`roadseg.pipeline.stages` (shared with the many-scene job,
:mod:`roadseg.pipeline.multi`).

Stages (each a library call with its own config; see :class:`ExtractConfig`):

1. **inference** -- :func:`roadseg.inference.predict_scene`: open and validate the
   scene, resample to the model's GSD, blended tiled inference, probability
   GeoTIFF on the scene's grid (streamed by strips: memory is bounded);
2. **vectorize** -- :func:`roadseg.vector.vectorize_raster`: threshold, cleanup,
   skeleton (by block with a halo), graph, graph cleaning in metres,
   georeferencing at pixel centres (bounded by the block size);
3. **export** -- :func:`roadseg.vector.export_network` to every requested format;
4. **evaluate** (optional) -- :func:`roadseg.pipeline.evaluate.evaluate_outputs`
   against road labels, report beside the output (``<out>.evaluation.json/.md/.png``);
5. **conflate** (optional) -- :func:`roadseg.conflate.conflation.conflate` against OSM,
   the roads OSM lacks in ``<out stem>.missing.geojson`` (``.missing.osm`` for an ``.osm``
   output) beside the output.

The threshold is chosen once per scene (:func:`choose_run_threshold`: the user's,
else the level stored in the probability raster, else the model's calibrated
one, else 0.5) and the same :class:`~roadseg.postprocess.level.ChosenThreshold`
cuts the network and sets the evaluation's level.

Resuming: stages 1-2 store their outputs in a cache folder under keys that hash
the input file's identity and the parameters of that stage and every earlier one
(:mod:`roadseg.pipeline.cache`, which also stores the networks). A run that was interrupted and is started again
with the same arguments finds the completed stages and continues after the last
of them. The cache is removed after a successful run unless ``keep_cache``.

Outputs appear only when complete: every file is written to a temporary name
and renamed, and the files of one export (e.g. ``roads.geojson`` plus
``roads.nodes.geojson``) are first written into a staging folder beside the
target (:class:`roadseg.staging.StagedOutputs`) and moved into place only once
all of them are written.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from roadseg.atomic import atomic_path
from roadseg.errors import InputError, OutputError
from roadseg.io_guard import check_writable
from roadseg.pipeline.cache import StageCache, check_cache_dir
from roadseg.pipeline.config import ExtractConfig
from roadseg.pipeline.evaluate import (
    evaluate_outputs,
    evaluation_paths,
    kept_probability,
    published_names,
)
from roadseg.pipeline.stages import (
    PredictStage,
    SceneNetwork,
    check_scene,
    predict_stage,
    run_gsd_m,
    vectorize_and_summarise,
)
from roadseg.pipeline.summary import RunSummary
from roadseg.postprocess.level import ChosenThreshold
from roadseg.raster.georef import RasterHeader, local_grid_note
from roadseg.staging import StagedOutputs, as_output_error
from roadseg.uri import RemotePath, gdal_name, scene_path
from roadseg.vector import RoadNetwork

log = logging.getLogger(__name__)

CACHE_FOLDER = ".roadseg-cache"


@dataclass
class ExtractResult:
    """What :func:`extract_scene` produced."""

    network: RoadNetwork
    summary: RunSummary
    outputs: list[Path] = field(default_factory=list)
    report: dict[str, Any] | None = None
    threshold: ChosenThreshold | None = None


def output_targets(out: Path, formats: list[str] | None) -> list[Path]:
    """The files an export to ``out`` with ``formats`` creates (checked before running)."""
    from roadseg.vector.export import export_paths

    return export_paths(out, formats)


def labels_of(config: ExtractConfig) -> Path | RemotePath | None:
    """The labels to evaluate against (``None``: no evaluation); refused when missing."""
    labels = scene_path(config.output.evaluate) if config.output.evaluate else None
    if labels is not None and not labels.exists():
        raise InputError(f"{labels}: labels file not found")
    return labels


def conflate_source(config: ExtractConfig, scene: Path | RemotePath | None = None) -> Path | None:
    """The OSM file to conflate against (``None``: no conflation); refused before any work
    when it is missing or the scene has no CRS (a network in pixels cannot meet OSM)."""
    osm = Path(config.output.conflate) if config.output.conflate else None
    if osm is None:
        return None
    if not osm.is_file():
        raise InputError(f"{osm}: --conflate OSM file not found")
    if scene is not None:
        import rasterio

        from roadseg.raster.io import open_raster

        try:
            with open_raster(gdal_name(scene)) as ds:
                crs = ds.crs
        except rasterio.errors.RasterioIOError:
            return osm  # an unreadable scene is reported by the scene's own check
        if crs is None:
            raise InputError(f"{scene}: --conflate needs a georeferenced scene (it has no CRS)")
    return osm


def conflate_staged(
    network: RoadNetwork, out: Path, osm: Path, config: ExtractConfig, staged: StagedOutputs
) -> None:
    """Conflate ``network`` against ``osm``; ``<out stem>.missing.geojson`` (or ``.osm``) into
    the staging."""
    from roadseg.conflate.conflation import conflate
    from roadseg.conflate.write import empty_lines, missing_path, write_lines

    target = missing_path(out)
    try:
        if len(network.edges) == 0:
            log.warning("%s: the network is empty; nothing can be missing from OSM", out)
            write_lines(empty_lines(), staged.path(target), {"missing_km": 0.0})
            return
        result = conflate(network, osm, config.conflate)
        write_lines(result.missing, staged.path(target), result.summary())
    except OSError as exc:
        raise as_output_error(exc, target) from exc
    log.info("%s", result.format())


def cache_root(out: Path, config: ExtractConfig) -> Path:
    """The cache folder of a run writing ``out``: ``--cache-dir``, else one beside ``out``."""
    return Path(config.output.cache_dir) if config.output.cache_dir else out.parent / CACHE_FOLDER


def cache_for(scene: Path | RemotePath, out: Path, config: ExtractConfig) -> StageCache:
    return StageCache(cache_root(out, config), scene.stem)


def export_staged(
    network: RoadNetwork, out: Path, formats: list[str] | None, staged: StagedOutputs
) -> None:
    """Export ``network`` into the staging folder (published later with the other outputs)."""
    from roadseg.vector import export_network

    try:
        export_network(network, staged.path(out), formats)
    except OSError as exc:
        raise as_output_error(exc, out) from exc


def export_all_or_nothing(network: RoadNetwork, out: Path, formats: list[str] | None) -> list[Path]:
    """Export ``network``; either every file of the export appears, or none does."""
    for t in output_targets(out, formats):
        check_writable(t)
    with StagedOutputs(out) as staged:
        export_staged(network, out, formats, staged)
        return staged.publish()


# ----------------------------------------------------------------------------- the job


def _evaluate_scene(
    stage: PredictStage,
    staged: StagedOutputs,
    out: Path,
    labels: Path | RemotePath,
    config: ExtractConfig,
    done: SceneNetwork,
) -> dict[str, Any]:
    """The evaluation stage of :func:`extract_scene`: the network scored as it is in memory,
    reports written into ``staged``; returns the report as written."""
    staged_out = staged.path(out)
    files = evaluation_paths(staged_out)
    names = published_names(
        staged.dir,
        out.parent if str(out.parent) else Path("."),
        [files["plot"]],
        {stage.probability: kept_probability(stage.probability, done.kept, config)},
    )
    with (
        done.summary.timed("evaluate"),
        tqdm(total=1, desc="evaluate", unit="report", disable=not config.progress) as bar,
    ):
        try:
            report, _ = evaluate_outputs(
                [stage.probability],
                [stage.scene],
                labels,
                staged_out,
                done.threshold,
                done.network,
                config.evaluation,
                names,
                network_name=out,
                bbox=config.predict.bbox,
            )
        except OSError as exc:
            raise as_output_error(exc, out) from exc
        bar.update()
    return report


def extract_scene(
    scene: str | os.PathLike[str], out: str | os.PathLike[str], config: ExtractConfig | None = None
) -> ExtractResult:
    """Run every stage on ``scene`` and export its road network to ``out``.

    Raises:
        InputError: the scene, weights, labels or options are unusable.
        OutputError: an output cannot be written (nothing partial is left behind).
    """
    config = config or ExtractConfig()
    scene, out = scene_path(scene), Path(out)
    # cheap checks first: a bad output path should not cost an inference run
    header = check_scene(scene, config)
    targets = output_targets(out, config.output.formats)
    for t in targets:
        check_writable(t)
    if scene.resolve() in {t.resolve() for t in targets}:
        raise InputError(f"{out}: the output would overwrite the input scene")
    labels = labels_of(config)
    osm = conflate_source(config, scene)
    cache = cache_for(scene, out, config)
    check_cache_dir(cache.root, targets)
    try:
        cache.ensure()
    except OSError as exc:
        raise OutputError(f"{cache.root}: cannot create the cache folder ({exc.strerror})") from exc
    if not os.access(cache.root, os.W_OK | os.X_OK):
        raise OutputError(f"{cache.root}: cache folder is not writable")

    try:
        return _run_stages(scene, out, config, cache, labels, header, osm)
    finally:
        cache.remove_if_empty()


def _run_stages(
    scene: Path | RemotePath,
    out: Path,
    config: ExtractConfig,
    cache: StageCache,
    labels: Path | RemotePath | None,
    header: RasterHeader,
    osm: Path | None = None,
) -> ExtractResult:
    stage = predict_stage(scene, config, cache, header)  # checked by extract_scene
    done = vectorize_and_summarise(stage, config, cache)
    network, summary = done.network, done.summary
    if network.crs is None:
        note = network.metadata.get("georeferencing")
        summary.notes.append(str(note) if note else local_grid_note(run_gsd_m(config)))
    if len(network.edges) == 0:
        summary.notes.append("no roads found: the network is empty")
        log.warning("%s: no roads found; writing an empty network", scene)

    report = None
    with StagedOutputs(out) as staged:
        with (
            summary.timed("export"),
            tqdm(total=1, desc="export", unit="file", disable=not config.progress) as bar,
        ):
            export_staged(network, out, config.output.formats, staged)
            bar.update()
        if labels is not None:
            report = _evaluate_scene(stage, staged, out, labels, config, done)
        if osm is not None:
            with summary.timed("conflate"):
                conflate_staged(network, out, osm, config, staged)
        outputs = staged.publish()
    summary.outputs += [str(p) for p in outputs]
    summary.outputs += [str(p) for p in done.kept.values() if p.exists()]

    if config.output.quicklook:
        from roadseg.evaluation.quicklook import write_quicklook

        with summary.timed("quicklook"):
            try:
                shot = write_quicklook(
                    scene, network, config.output.quicklook, labels, bbox=config.predict.bbox
                )
            except OSError as exc:
                raise as_output_error(exc, Path(config.output.quicklook)) from exc
        summary.outputs.append(str(shot))
    if config.output.summary_json:
        target = Path(config.output.summary_json)
        with atomic_path(target) as tmp:
            tmp.write_text(json.dumps(summary.as_dict(), indent=2, default=str))
    if not config.output.keep_cache:
        cache.clear()
    log.info("%s", summary.format())
    return ExtractResult(network, summary, outputs, report, done.threshold)
