"""The whole one-scene job: scene GeoTIFF in, georeferenced road network out.

Stages (each a library call with its own config; see :class:`ExtractConfig`):

1. **inference** -- :func:`roadseg.inference.predict_scene`: open and validate the
   scene, resample to the model's GSD, blended tiled inference, probability
   GeoTIFF on the scene's grid (streamed by strips: memory is bounded);
2. **vectorize** -- :func:`roadseg.vector.vectorize_raster`: threshold, cleanup,
   skeleton (by block with a halo), graph, graph cleaning in metres,
   georeferencing at pixel centres (bounded by the block size);
3. **export** -- :func:`roadseg.vector.export_network` to every requested format;
4. **evaluate** (optional) -- :func:`roadseg.pipeline.evaluate.evaluate_outputs`
   against road labels, report beside the output (``<out>.evaluation.json/.md/.png``).

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

import dataclasses
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from roadseg.atomic import atomic_path
from roadseg.errors import InputError, OutputError, RoadsegError
from roadseg.inference import PredictResult
from roadseg.pipeline.cache import (
    StageCache,
    file_identity,
    read_cached_network,
    stage_key,
    write_cached_network,
)
from roadseg.pipeline.config import (
    RUNTIME_ONLY_PREDICT,
    RUNTIME_ONLY_VECTORIZE,
    ExtractConfig,
    stage_params,
)
from roadseg.pipeline.evaluate import evaluate_outputs, evaluation_paths
from roadseg.pipeline.summary import RunSummary
from roadseg.postprocess.level import ChosenThreshold, choose_threshold, stored_threshold
from roadseg.staging import StagedOutputs, as_output_error, check_writable, wrap_os_error
from roadseg.vector import RoadNetwork, VectorizeConfig

log = logging.getLogger(__name__)

CACHE_FOLDER = ".roadseg-cache"


@dataclass
class PredictStage:
    """The probability raster of a scene, what inference reported and whether it was cached."""

    scene: Path
    probability: Path
    key: str
    weights: Path
    result: PredictResult
    cached: bool
    seconds: float


@dataclass
class SceneNetwork:
    """Everything after inference for one scene (:func:`vectorize_and_summarise`)."""

    network: RoadNetwork
    summary: RunSummary
    threshold: ChosenThreshold
    kept: dict[str, Path] = field(default_factory=dict)


@dataclass
class ExtractResult:
    """What :func:`extract_scene` produced."""

    network: RoadNetwork
    summary: RunSummary
    outputs: list[Path] = field(default_factory=list)
    report: dict[str, Any] | None = None
    threshold: ChosenThreshold | None = None


# ----------------------------------------------------------------------------- checks


def check_scene_path(scene: Path) -> None:
    """Refuse a missing path or a folder before any work starts."""
    if not scene.exists():
        raise InputError(f"{scene}: file not found")
    if scene.is_dir():
        raise InputError(f"{scene}: is a folder, not a raster file")


def output_targets(out: Path, formats: list[str] | None) -> list[Path]:
    """The files an export to ``out`` with ``formats`` creates (checked before running)."""
    from roadseg.vector.export import export_paths

    return export_paths(out, formats)


def resolve_weights(config: ExtractConfig) -> Path:
    """The checkpoint file the run will use (the installed default when none is given)."""
    from roadseg.models import default_weights_path

    if config.predict.weights is not None:
        return Path(config.predict.weights)
    path = default_weights_path()
    if not path.is_file():
        raise InputError(f"{path}: no default model is installed; pass a checkpoint with --weights")
    return path


def cache_for(scene: Path, out: Path, config: ExtractConfig) -> StageCache:
    root = Path(config.output.cache_dir) if config.output.cache_dir else out.parent / CACHE_FOLDER
    return StageCache(root, scene.stem)


# ----------------------------------------------------------------------------- stages


def _result_to_json(result: PredictResult) -> str:
    return json.dumps(dataclasses.asdict(result), default=str)


def _result_from_json(text: str) -> PredictResult | None:
    """A cached :class:`PredictResult`, or ``None`` when the entry does not fit this version."""
    data = json.loads(text)
    try:
        kwargs = {f.name: data[f.name] for f in dataclasses.fields(PredictResult)}
    except KeyError:
        return None
    kwargs["out_path"] = Path(kwargs["out_path"])
    for name in ("shape", "predicted_shape"):
        kwargs[name] = tuple(kwargs[name])
    return PredictResult(**kwargs)


def predict_stage(scene: Path, config: ExtractConfig, cache: StageCache) -> PredictStage:
    """Stage 1: the probability raster of ``scene``, from the cache when complete there."""
    from roadseg.inference import predict_scene

    check_scene_path(scene)
    weights = resolve_weights(config)
    key = stage_key(
        "predict",
        file_identity(scene),
        file_identity(weights) if weights.is_file() else str(weights),
        stage_params(config.predict, RUNTIME_ONLY_PREDICT | {"weights"}),
    )
    prob = cache.path("probability", key, ".tif")
    info_path = cache.path("probability", key, ".json")
    if config.output.resume and prob.exists() and info_path.exists():
        cached = _result_from_json(info_path.read_text())
        if cached is not None:
            log.info("%s: inference resumed from %s", scene, prob)
            return PredictStage(scene, prob, key, weights, cached, True, 0.0)
    cache.ensure()
    t0 = time.perf_counter()
    pcfg = dataclasses.replace(config.predict, weights=str(weights), progress=config.progress)
    try:
        result = predict_scene(scene, prob, pcfg)
    except OSError as exc:  # e.g. a full disk inside GDAL
        if isinstance(exc, RoadsegError):
            raise
        raise wrap_os_error(exc, prob) from exc
    with atomic_path(info_path) as tmp:
        tmp.write_text(_result_to_json(result))
    return PredictStage(scene, prob, key, weights, result, False, time.perf_counter() - t0)


def choose_run_threshold(
    config: ExtractConfig, weights: Path, probability: Path | None = None
) -> ChosenThreshold:
    """The run's threshold: the config's, else the level stored in ``probability``,
    else ``weights``' calibrated level, else 0.5 (see :mod:`roadseg.postprocess.level`)."""
    from roadseg.models.checkpoint import read_meta

    if config.threshold is not None:
        return choose_threshold(config.threshold)
    stored = stored_threshold(probability) if probability is not None else None
    calibrated = read_meta(weights).threshold if stored is None else None
    return choose_threshold(None, stored, calibrated, what=str(weights))


def vectorize_config(config: ExtractConfig, threshold: ChosenThreshold) -> VectorizeConfig:
    """The vectorisation options of ``config`` with the run's threshold."""
    return dataclasses.replace(
        config.vectorize, threshold=threshold.spec, show_progress=config.progress
    )


def vectorize_stage(
    stage: PredictStage,
    config: ExtractConfig,
    cache: StageCache,
    threshold: ChosenThreshold,
    mask_out: Path | None = None,
    skeleton_out: Path | None = None,
) -> tuple[RoadNetwork, bool, float]:
    """Stage 2: the road network of the probability raster (from the cache when complete).

    Returns ``(network, cached, seconds)``. With ``mask_out``/``skeleton_out`` those
    GeoTIFFs are written too (recomputed when the network itself came from the cache).
    """
    from roadseg.vector import vectorize_raster, write_mask_and_skeleton

    vcfg = vectorize_config(config, threshold)
    key = stage_key("vectorize", stage.key, stage_params(vcfg, RUNTIME_ONLY_VECTORIZE))
    t0 = time.perf_counter()
    if config.output.resume:
        network = read_cached_network(cache, key)
        if network is not None:
            log.info("%s: vectorisation resumed from the cache", stage.scene)
            if mask_out or skeleton_out:
                write_mask_and_skeleton(stage.probability, vcfg, mask_out, skeleton_out)
            return network, True, time.perf_counter() - t0
    network = vectorize_raster(
        stage.probability, vcfg, mask_out=mask_out, skeleton_out=skeleton_out
    )
    _describe_network(network, stage, threshold)
    write_cached_network(cache, key, network)
    return network, False, time.perf_counter() - t0


def _describe_network(
    network: RoadNetwork, stage: PredictStage, threshold: ChosenThreshold
) -> None:
    """The network's metadata: its scene, model, threshold origin and georeferencing."""
    meta = network.metadata
    meta["source"] = str(stage.scene)
    meta.pop("probability_source", None)
    meta["weights"] = stage.weights.name
    meta["threshold_from"] = threshold.origin
    meta["model_gsd_m"] = stage.result.model_gsd_m
    if network.crs is None:
        meta["georeferencing"] = "none: the scene has no CRS; coordinates are pixel (col, row)"
    else:
        tags = _georef_tags(stage.scene)
        if tags:
            meta["georeferencing"] = tags


def _georef_tags(scene: Path) -> str | None:
    """A GEOREFERENCING note carried by the scene (e.g. the sample's derived georeferencing)."""
    import rasterio

    try:
        with rasterio.open(scene) as ds:
            return ds.tags().get("GEOREFERENCING")
    except Exception:  # the note is informative only
        return None


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


def keep_intermediates(stage: PredictStage, folder: Path) -> dict[str, Path]:
    """Paths of the kept intermediates; copies the probability raster there now."""
    folder.mkdir(parents=True, exist_ok=True)
    check_writable(folder / "x", "intermediates")
    stem = stage.scene.stem
    paths = {
        "probability": folder / f"{stem}.probability.tif",
        "mask": folder / f"{stem}.mask.tif",
        "skeleton": folder / f"{stem}.skeleton.tif",
    }
    with atomic_path(paths["probability"]) as tmp:
        shutil.copyfile(stage.probability, tmp)
    return paths


# ----------------------------------------------------------------------------- the job


def summary_of(stage: PredictStage, network: RoadNetwork) -> RunSummary:
    h, w = stage.result.shape
    return RunSummary(
        scene=str(stage.scene),
        width=int(w),
        height=int(h),
        gsd_m=stage.result.scene_gsd_m,
        model_gsd_m=stage.result.model_gsd_m,
        tiles=int(stage.result.tiles),
        road_km=network.total_length_m / 1000.0,
        edges=len(network.edges),
        nodes=len(network.nodes),
    )


def _evaluate_scene(
    stage: PredictStage,
    staged: StagedOutputs,
    out: Path,
    labels: Path,
    config: ExtractConfig,
    done: SceneNetwork,
) -> dict[str, Any]:
    """The evaluation stage of :func:`extract_scene`, reports written into ``staged``."""
    staged_out = staged.path(out)
    network_file = next(
        (
            p
            for p in sorted(staged.dir.iterdir())
            if p.suffix in (".gpkg", ".geojson", ".json") and ".nodes" not in p.name
        ),
        None,
    )
    with (
        done.summary.timed("evaluate"),
        tqdm(total=1, desc="evaluate", unit="report", disable=not config.progress) as bar,
    ):
        try:
            report, _ = evaluate_outputs(
                [stage.probability], [stage.scene], labels, staged_out, done.threshold, network_file
            )
        except OSError as exc:
            raise as_output_error(exc, out) from exc
        bar.update()
    renames = {str(staged.dir): str(out.parent if str(out.parent) else Path("."))}
    if "probability" in done.kept:
        renames[str(stage.probability)] = str(done.kept["probability"])
    files = evaluation_paths(staged_out)
    _rewrite_paths(files, renames)
    if files["json"].exists():  # the report as published, with its final paths
        report = json.loads(files["json"].read_text(encoding="utf-8"))
    return report


def _rewrite_paths(files: dict[str, Path], renames: dict[str, str]) -> None:
    """Point a staged report's paths at where its files will be after publishing."""
    for key in ("json", "markdown"):
        path = files[key]
        if path.exists():
            text = path.read_text(encoding="utf-8")
            for old, new in renames.items():
                text = text.replace(old, new)
            path.write_text(text, encoding="utf-8")


def extract_scene(
    scene: str | os.PathLike[str], out: str | os.PathLike[str], config: ExtractConfig | None = None
) -> ExtractResult:
    """Run every stage on ``scene`` and export its road network to ``out``.

    Raises:
        InputError: the scene, weights, labels or options are unusable.
        OutputError: an output cannot be written (nothing partial is left behind).
    """
    config = config or ExtractConfig()
    scene, out = Path(scene), Path(out)
    # cheap checks first: a bad output path should not cost an inference run
    check_scene_path(scene)
    targets = output_targets(out, config.output.formats)
    for t in targets:
        check_writable(t)
    if scene.resolve() in {t.resolve() for t in targets}:
        raise InputError(f"{out}: the output would overwrite the input scene")
    labels = Path(config.output.evaluate) if config.output.evaluate else None
    if labels is not None and not labels.exists():
        raise InputError(f"{labels}: labels file not found")
    cache = cache_for(scene, out, config)
    try:
        cache.ensure()
    except OSError as exc:
        raise OutputError(f"{cache.root}: cannot create the cache folder ({exc.strerror})") from exc
    if not os.access(cache.root, os.W_OK | os.X_OK):
        raise OutputError(f"{cache.root}: cache folder is not writable")

    try:
        return _run_stages(scene, out, config, cache, labels)
    finally:
        cache.remove_if_empty()


def vectorize_and_summarise(
    stage: PredictStage,
    config: ExtractConfig,
    cache: StageCache,
    threshold: ChosenThreshold | None = None,
) -> SceneNetwork:
    """Everything after inference for one scene: the network, its summary, kept intermediates.

    Shared by the one-scene job and the Dask workers, so both time and report alike.
    ``threshold``: the run's, chosen here (:func:`choose_run_threshold`) when not given.
    """
    if threshold is None:
        threshold = choose_run_threshold(config, stage.weights, stage.probability)
    kept: dict[str, Path] = {}
    if config.output.keep_intermediates:
        kept = keep_intermediates(stage, Path(config.output.keep_intermediates))
    network, net_cached, vec_s = vectorize_stage(
        stage, config, cache, threshold, kept.get("mask"), kept.get("skeleton")
    )
    summary = summary_of(stage, network)
    summary.stage_s["inference"] = stage.seconds
    summary.stage_s["vectorize"] = vec_s
    summary.resumed += (["inference"] if stage.cached else []) + (
        ["vectorize"] if net_cached else []
    )
    return SceneNetwork(network, summary, threshold, kept)


def _run_stages(
    scene: Path, out: Path, config: ExtractConfig, cache: StageCache, labels: Path | None
) -> ExtractResult:
    stage = predict_stage(scene, config, cache)
    done = vectorize_and_summarise(stage, config, cache)
    network, summary = done.network, done.summary
    if network.crs is None:
        summary.notes.append("the scene has no CRS: the network is in pixel coordinates")
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
        outputs = staged.publish()
    summary.outputs += [str(p) for p in outputs]
    summary.outputs += [str(p) for p in done.kept.values() if p.exists()]

    if config.output.summary_json:
        target = Path(config.output.summary_json)
        with atomic_path(target) as tmp:
            tmp.write_text(json.dumps(summary.as_dict(), indent=2, default=str))
    if not config.output.keep_cache:
        cache.clear()
    log.info("%s", summary.format())
    return ExtractResult(network, summary, outputs, report, done.threshold)
