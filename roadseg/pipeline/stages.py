"""The stages of one scene, shared by the one-scene job and the Dask workers.

* :func:`predict_stage` -- the probability raster (:func:`roadseg.inference.predict_scene`),
  from the cache when complete there, with the typed
  :class:`~roadseg.inference.PredictResult`;
* :func:`choose_run_threshold` -- the run's threshold, chosen once;
* :func:`vectorize_stage` -- the road network at that threshold (cached too);
* :func:`vectorize_and_summarise` -- everything after inference, with the run summary.

The jobs around them (checks, export, evaluation, publishing) are
:mod:`roadseg.pipeline.extract` (one scene) and :mod:`roadseg.pipeline.multi` (many).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from roadseg.atomic import atomic_path
from roadseg.errors import InputError, RoadsegError, why_missing
from roadseg.inference import PredictConfig, PredictResult
from roadseg.io_guard import check_not_special, check_writable
from roadseg.paths import intermediate_paths
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
from roadseg.pipeline.summary import RunSummary
from roadseg.postprocess.level import ChosenThreshold, choose_threshold, stored_threshold
from roadseg.raster.context import SceneContext
from roadseg.raster.georef import (
    RasterHeader,
    SceneGrid,
    check_georeferenced,
    local_grid_note,
    raster_header,
)
from roadseg.raster.tags import GEOREFERENCING_TAG
from roadseg.staging import wrap_os_error
from roadseg.uri import RemotePath
from roadseg.vector import RoadNetwork, VectorizeConfig

log = logging.getLogger(__name__)


@dataclass
class PredictStage:
    """The probability raster of a scene, what inference reported and whether it was cached."""

    scene: Path | RemotePath
    probability: Path
    key: str
    weights: Path
    result: PredictResult
    cached: bool
    seconds: float
    georeferencing: str | None = None  # the scene's GEOREFERENCING note, if it carries one


@dataclass
class SceneNetwork:
    """Everything after inference for one scene (:func:`vectorize_and_summarise`)."""

    network: RoadNetwork
    summary: RunSummary
    threshold: ChosenThreshold
    kept: dict[str, Path] = field(default_factory=dict)


def check_scene_path(scene: Path | RemotePath) -> None:
    """Refuse a missing path or a folder before any work starts (a remote scene's presence
    is learnt when it is opened)."""
    if not scene.exists():
        raise InputError(f"{scene}: {why_missing(scene)}")
    if scene.is_dir():
        raise InputError(f"{scene}: is a folder, not a raster file")
    check_not_special(scene, "scene")  # a FIFO or device would block or never end


def resolve_weights(config: ExtractConfig) -> Path:
    """The checkpoint file the run will use (the installed default when none is given;
    the first model of an ensemble)."""
    return model_files(config)[0]


def model_files(config: ExtractConfig) -> list[Path]:
    """Every model file the run will use (several for an ensemble or a ``quality`` level)."""
    from roadseg.inference.ensemble import split_weights
    from roadseg.inference.quality import resolve_quality
    from roadseg.models import resolve_weights as resolve

    p = config.predict
    weights, _ = resolve_quality(p.quality, p.weights, p.tta)
    return [resolve(w) for w in split_weights(weights)]


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


def check_scene(scene: Path | RemotePath, config: ExtractConfig) -> RasterHeader:
    """The checks of a scene before its inference: a raster file, georeferenced or with a
    GSD. Returns its header (read once, for the checks and the network's metadata)."""
    check_scene_path(scene)
    header = raster_header(scene)
    check_georeferenced(scene, config.predict.gsd_m, header)
    return header


def predict_stage(
    scene: Path | RemotePath,
    config: ExtractConfig,
    cache: StageCache,
    header: RasterHeader | None = None,
    context: SceneContext | None = None,
) -> PredictStage:
    """Stage 1: the probability raster of ``scene``, from the cache when complete there.

    ``header``: what :func:`check_scene` returned when the caller ran it already (each
    check runs once); ``None``: it runs here. ``context``: the window of neighbouring
    scenes it is predicted in (:mod:`roadseg.pipeline.context`); ``None``: alone.
    """
    if header is None:
        header = check_scene(scene, config)
    note = header.tags.get(GEOREFERENCING_TAG)
    files = model_files(config)
    weights = files[0]
    around = []
    if context is not None:
        around = [context.describe(), *[file_identity(n.path) for n in context.neighbours]]
    key = stage_key(
        "predict",
        file_identity(scene),
        *[file_identity(w) if w.is_file() else str(w) for w in files],
        stage_params(config.predict, RUNTIME_ONLY_PREDICT | {"weights"}),
        *around,
    )
    prob = cache.path("probability", key, ".tif")
    info_path = cache.path("probability", key, ".json")
    if config.output.resume and cache.valid(prob) and cache.valid(info_path):
        cached = _result_from_json(info_path.read_text())
        if cached is not None:
            log.info("%s: inference resumed from %s", scene, prob)
            return PredictStage(scene, prob, key, weights, cached, True, 0.0, note)
    cache.ensure()
    t0 = time.perf_counter()
    one = len(files) == 1 and config.predict.quality == "default"
    pcfg = dataclasses.replace(
        config.predict,
        weights=str(weights) if one else config.predict.weights,
        progress=config.progress,
    )
    try:
        if context is None:
            result = _predict(scene, prob, pcfg)
        else:
            result = _predict_in_context(scene, context, prob, pcfg, cache, key)
    except OSError as exc:  # e.g. a full disk inside GDAL
        if isinstance(exc, RoadsegError):
            raise
        raise wrap_os_error(exc, prob) from exc
    cache.seal(prob)
    with atomic_path(info_path) as tmp:
        tmp.write_text(_result_to_json(result))
    cache.seal(info_path)
    return PredictStage(scene, prob, key, weights, result, False, time.perf_counter() - t0, note)


def _predict(scene: Path | RemotePath, out: Path, config: PredictConfig) -> PredictResult:
    from roadseg.inference import predict_scene

    return predict_scene(scene, out, config)


def _predict_in_context(
    scene: Path | RemotePath,
    context: SceneContext,
    out: Path,
    config: PredictConfig,
    cache: StageCache,
    key: str,
) -> PredictResult:
    """The scene's probabilities predicted over its context window, cut back to the scene."""
    from roadseg.raster.context import crop_to_scene, write_context_vrt

    vrt = write_context_vrt(scene, context, cache.path("context", key, ".vrt"))
    wide = cache.path("probability-context", key, ".tif")
    try:
        result = _predict(vrt, wide, config)
    except InputError as exc:  # the scene is what the user gave: name it, not the VRT
        raise InputError(str(exc).replace(str(vrt), str(scene))) from exc
    crop_to_scene(wide, context, out)
    for temp in (wide, vrt):  # the scene's own raster is the stage's output
        temp.unlink(missing_ok=True)
    return dataclasses.replace(result, out_path=out, shape=context.size)


def choose_run_threshold(
    config: ExtractConfig, weights: Path, probability: Path | None = None
) -> ChosenThreshold:
    """The run's threshold: the config's, else the level stored in ``probability``,
    else ``weights``' calibrated level, else 0.5 (see :mod:`roadseg.postprocess.level`)."""
    from roadseg.models.checkpoint import read_meta

    if config.threshold is not None:
        return choose_threshold(config.threshold)
    stored = stored_threshold(probability) if probability is not None else None
    calibrated = (
        read_meta(weights).threshold
        if stored is None and weights.suffix.lower() != ".onnx"
        else None
    )
    return choose_threshold(None, stored, calibrated, what=str(weights))


def run_gsd_m(config: ExtractConfig) -> float | None:
    """The ground sample distance (metres) given for a scene without CRS (``--gsd``), if any."""
    return config.vectorize.gsd_m or config.predict.gsd_m


def vectorize_config(config: ExtractConfig, threshold: ChosenThreshold) -> VectorizeConfig:
    """The vectorisation options of ``config`` with the run's threshold."""
    return dataclasses.replace(
        config.vectorize,
        threshold=threshold.spec,
        show_progress=config.progress,
        gsd_m=run_gsd_m(config),  # one scale for every stage
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
    _describe_network(network, stage, threshold, config)
    write_cached_network(cache, key, network)
    return network, False, time.perf_counter() - t0


def _describe_network(
    network: RoadNetwork, stage: PredictStage, threshold: ChosenThreshold, config: ExtractConfig
) -> None:
    """The network's metadata: its scene, model, threshold origin and georeferencing."""
    meta = network.metadata
    meta["source"] = str(stage.scene)
    meta.pop("probability_source", None)
    meta["weights"] = stage.weights.name
    meta["threshold_from"] = threshold.origin
    meta["model_gsd_m"] = stage.result.model_gsd_m
    if network.crs is None:
        grid = SceneGrid.from_raster(stage.scene)  # its own geotransform, if any, was kept
        meta["georeferencing"] = local_grid_note(run_gsd_m(config), grid.transform)
    elif stage.georeferencing:
        meta["georeferencing"] = stage.georeferencing


def keep_intermediates(stage: PredictStage, folder: Path) -> dict[str, Path]:
    """Paths of the kept intermediates; copies the probability raster there now."""
    folder.mkdir(parents=True, exist_ok=True)
    check_writable(folder / "x", "intermediates")
    paths = intermediate_paths(folder, stage.scene)
    with atomic_path(paths["probability"]) as tmp:
        shutil.copyfile(stage.probability, tmp)
    return paths


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
    threshold = threshold.applied(network.metadata.get("threshold_level"))
    summary = summary_of(stage, network)
    summary.stage_s["inference"] = stage.seconds
    summary.stage_s["vectorize"] = vec_s
    summary.resumed += (["inference"] if stage.cached else []) + (
        ["vectorize"] if net_cached else []
    )
    return SceneNetwork(network, summary, threshold, kept)
