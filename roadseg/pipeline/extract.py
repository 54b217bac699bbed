"""The whole one-scene job: scene GeoTIFF in, georeferenced road network out.

Stages (each a library call with its own config; see :class:`ExtractConfig`):

1. **inference** -- :func:`roadseg.inference.predict_scene`: open and validate the
   scene, resample to the model's GSD, blended tiled inference, probability
   GeoTIFF on the scene's grid (streamed by strips: memory is bounded);
2. **vectorize** -- :func:`roadseg.vector.vectorize_raster`: threshold, cleanup,
   skeleton (by block with a halo), graph, graph cleaning in metres,
   georeferencing at pixel centres (bounded by the block size);
3. **export** -- :func:`roadseg.vector.export_network` to every requested format;
4. **evaluate** (optional) -- :func:`roadseg.evaluation.evaluate.run_evaluation`
   against road labels, report beside the output (``<out>.evaluation.json/.md/.png``).

Resuming: stages 1-2 store their outputs in a cache folder under keys that hash
the input file's identity and the parameters of that stage and every earlier one
(:mod:`roadseg.pipeline.cache`). A run that was interrupted and is started again
with the same arguments finds the completed stages and continues after the last
of them. The cache is removed after a successful run unless ``keep_cache``.

Outputs appear only when complete: every file is written to a temporary name
and renamed, and the files of one export (e.g. ``roads.geojson`` plus
``roads.nodes.geojson``) are first written into a temporary folder beside the
target and moved into place only once all of them are written.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from roadseg.atomic import StagedOutputs, atomic_path  # StagedOutputs: re-exported
from roadseg.errors import InputError, OutputError, RoadsegError
from roadseg.io_guard import check_not_special
from roadseg.paths import intermediate_paths
from roadseg.pipeline.cache import StageCache, file_identity, stage_key
from roadseg.pipeline.config import (
    RUNTIME_ONLY_PREDICT,
    RUNTIME_ONLY_VECTORIZE,
    ExtractConfig,
    stage_params,
)
from roadseg.pipeline.summary import RunSummary
from roadseg.prechecks import check_georeferenced, local_grid_note

log = logging.getLogger(__name__)

CACHE_FOLDER = ".roadseg-cache"


@dataclass
class PredictStage:
    """The probability raster of a scene and what the inference stage reported."""

    scene: Path
    probability: Path
    key: str
    info: dict[str, Any]
    cached: bool
    seconds: float


@dataclass
class ExtractResult:
    """What :func:`extract_scene` produced."""

    network: Any  # roadseg.vector.RoadNetwork
    summary: RunSummary
    outputs: list[Path] = field(default_factory=list)
    report: dict | None = None


# ----------------------------------------------------------------------------- checks


def check_scene_path(scene: Path) -> None:
    """Refuse a missing path or a folder before any work starts."""
    if not scene.exists():
        raise InputError(f"{scene}: file not found")
    if scene.is_dir():
        raise InputError(f"{scene}: is a folder, not a raster file")
    check_not_special(scene, "scene")  # a FIFO or device would block or never end


def output_targets(out: Path, formats: list[str] | None) -> list[Path]:
    """The files an export to ``out`` with ``formats`` creates (checked before running)."""
    from roadseg.vector.export import export_paths

    return export_paths(out, formats)


def check_writable(path: Path, what: str = "output") -> None:
    """Refuse an output whose folder is missing or read-only, or that is a folder."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: {what} path is a folder")
    if not parent.is_dir():
        raise OutputError(f"{path}: {what} folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: {what} folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: {what} exists and is not writable")


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


def _wrap_os_error(exc: BaseException, target: Path) -> RoadsegError:
    msg = getattr(exc, "strerror", None) or str(exc)
    return OutputError(f"{target}: could not write ({msg})")


# ----------------------------------------------------------------------------- stages


def predict_stage(scene: Path, config: ExtractConfig, cache: StageCache) -> PredictStage:
    """Stage 1: the probability raster of ``scene``, from the cache when complete there."""
    import time

    from roadseg.inference import predict_scene

    check_scene_path(scene)
    check_georeferenced(scene, config.predict.gsd_m)
    weights = resolve_weights(config)
    key = stage_key(
        "predict",
        file_identity(scene),
        file_identity(weights) if weights.is_file() else str(weights),
        stage_params(config.predict, RUNTIME_ONLY_PREDICT | {"weights"}),
    )
    prob = cache.path("probability", key, ".tif")
    info_path = cache.path("probability", key, ".json")
    if config.output.resume and cache.valid(prob) and cache.valid(info_path):
        info = json.loads(info_path.read_text())
        log.info("%s: inference resumed from %s", scene, prob)
        return PredictStage(scene, prob, key, info, True, 0.0)
    cache.ensure()
    t0 = time.perf_counter()
    pcfg = dataclasses.replace(config.predict, weights=str(weights), progress=config.progress)
    try:
        result = predict_scene(scene, prob, pcfg)
    except OSError as exc:  # e.g. a full disk inside GDAL
        if isinstance(exc, RoadsegError):
            raise
        raise _wrap_os_error(exc, prob) from exc
    info = {
        "shape": list(result.shape),
        "predicted_shape": list(result.predicted_shape),
        "tiles": result.tiles,
        "tiles_predicted": result.tiles_predicted,
        "scene_gsd_m": result.scene_gsd_m,
        "model_gsd_m": result.model_gsd_m,
        "resampled": result.resampled,
        "device": result.device,
        "tile": result.tile,
        "overlap": result.overlap,
        "weights": str(weights),
    }
    cache.seal(prob)
    with atomic_path(info_path) as tmp:
        tmp.write_text(json.dumps(info))
    cache.seal(info_path)
    return PredictStage(scene, prob, key, info, False, time.perf_counter() - t0)


def effective_vectorize_config(config: ExtractConfig, weights: Path) -> tuple[Any, str]:
    """The VectorizeConfig with the threshold resolved (config > model's calibrated > 0.5)."""
    from roadseg.models.checkpoint import read_meta

    calibrated = read_meta(weights).threshold if config.threshold is None else None
    spec, origin = config.effective_threshold(calibrated)
    vcfg = dataclasses.replace(
        config.vectorize,
        threshold=spec,
        show_progress=config.progress,
        gsd_m=config.vectorize.gsd_m or config.predict.gsd_m,  # one scale for every stage
    )
    return vcfg, origin


def vectorize_stage(
    stage: PredictStage,
    config: ExtractConfig,
    cache: StageCache,
    mask_out: Path | None = None,
    skeleton_out: Path | None = None,
) -> tuple[Any, bool, float]:
    """Stage 2: the road network of the probability raster (from the cache when complete).

    Returns ``(network, cached, seconds)``. With ``mask_out``/``skeleton_out`` those
    GeoTIFFs are written too (recomputed when the network itself came from the cache).
    """
    import time

    from roadseg.vector import vectorize_raster, write_mask_and_skeleton

    weights = Path(stage.info["weights"])
    vcfg, origin = effective_vectorize_config(config, weights)
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
    meta = network.metadata
    meta["source"] = str(stage.scene)
    meta.pop("probability_source", None)
    meta["weights"] = Path(stage.info["weights"]).name
    meta["threshold_from"] = origin
    meta["model_gsd_m"] = stage.info.get("model_gsd_m")
    if network.crs is None:
        meta["georeferencing"] = local_grid_note(vcfg.gsd_m)
    else:
        tags = _georef_tags(stage.scene)
        if tags:
            meta["georeferencing"] = tags
    write_cached_network(cache, key, network)
    return network, False, time.perf_counter() - t0


def _georef_tags(scene: Path) -> str | None:
    """A GEOREFERENCING note carried by the scene (e.g. the sample's derived georeferencing)."""
    import rasterio

    try:
        with rasterio.open(scene) as ds:
            return ds.tags().get("GEOREFERENCING")
    except Exception:  # the note is informative only
        return None


def write_cached_network(cache: StageCache, key: str, network: Any) -> None:
    """Store a network as GeoParquet (edges, nodes) plus a JSON header, the JSON last."""
    edges = cache.path("network", key, ".edges.parquet")
    nodes = cache.path("network", key, ".nodes.parquet")
    header = cache.path("network", key, ".json")
    cache.ensure()
    for gdf, target in ((network.edges, edges), (network.nodes, nodes)):
        with atomic_path(target) as tmp:
            gdf.to_parquet(tmp, index=False)
        cache.seal(target)
    head = {
        "crs": network.crs.to_wkt() if network.crs is not None else None,
        "gsd": network.gsd,
        "metadata": network.metadata,
    }
    with atomic_path(header) as tmp:
        tmp.write_text(json.dumps(head, default=str))
    cache.seal(header)


def read_cached_network(cache: StageCache, key: str) -> Any | None:
    """The network stored under ``key``, or ``None`` if there is no complete entry."""
    import geopandas as gpd
    import pyproj

    from roadseg.vector import RoadNetwork

    header = cache.lookup("network", key, ".json")
    edges = cache.lookup("network", key, ".edges.parquet")
    nodes = cache.lookup("network", key, ".nodes.parquet")
    if header is None or edges is None or nodes is None:
        return None
    head = json.loads(header.read_text())
    crs = pyproj.CRS.from_wkt(head["crs"]) if head["crs"] else None
    return RoadNetwork(
        gpd.read_parquet(edges), gpd.read_parquet(nodes), crs, float(head["gsd"]), head["metadata"]
    )


def _as_output_error(exc: OSError, out: Path) -> RoadsegError:
    """An error of a staged write, re-worded to name the real output."""
    if isinstance(exc, RoadsegError):
        reason = str(exc).split(": ", 1)[-1]
        return OutputError(f"{out}: {reason}")
    return _wrap_os_error(exc, out)


def export_staged(
    network: Any, out: Path, formats: list[str] | None, staged: StagedOutputs
) -> None:
    """Export ``network`` into the staging folder (published later with the other outputs)."""
    from roadseg.vector import export_network

    try:
        export_network(network, staged.path(out), formats)
    except OSError as exc:
        raise _as_output_error(exc, out) from exc


def export_all_or_nothing(network: Any, out: Path, formats: list[str] | None) -> list[Path]:
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
    paths = intermediate_paths(folder, stage.scene)
    with atomic_path(paths["probability"]) as tmp:
        shutil.copyfile(stage.probability, tmp)
    return paths


def evaluation_paths(out: Path) -> dict[str, Path]:
    stem = out.with_suffix("")
    return {
        "json": stem.with_name(stem.name + ".evaluation.json"),
        "markdown": stem.with_name(stem.name + ".evaluation.md"),
        "plot": stem.with_name(stem.name + ".evaluation.png"),
    }


def evaluate_stage(
    stage: PredictStage, network_file: Path | None, labels: Path, out: Path, threshold: Any
) -> tuple[dict, list[Path]]:
    """Evaluate the probability raster (and the network) against ``labels``.

    The report goes to ``<out stem>.evaluation.json``, ``.md`` and ``.png`` (pass a
    staged ``out`` to publish them together with the network).
    """
    from roadseg.evaluation.evaluate import EvaluateConfig, run_evaluation
    from roadseg.evaluation.report import to_markdown

    if not labels.exists():
        raise InputError(f"{labels}: labels file not found")
    paths = evaluation_paths(out)
    preds = [stage.probability] + ([network_file] if network_file is not None else [])
    cfg = EvaluateConfig(
        pred=preds,
        labels=[labels],
        scene=[stage.scene],
        threshold=threshold.value if threshold.kind == "fixed" else 0.5,
        json_path=paths["json"],
        plot_path=paths["plot"],
    )
    result = run_evaluation(cfg)
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(to_markdown(result.report, result.breakeven), encoding="utf-8")
    return result.report, [p for p in paths.values() if p.exists()]


# ----------------------------------------------------------------------------- the job


def summary_of(stage: PredictStage, network: Any) -> RunSummary:
    info = stage.info
    h, w = info["shape"]
    return RunSummary(
        scene=str(stage.scene),
        width=int(w),
        height=int(h),
        gsd_m=info.get("scene_gsd_m"),
        model_gsd_m=info.get("model_gsd_m"),
        tiles=int(info.get("tiles", 0)),
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
    summary: RunSummary,
    kept_probability: Path | None = None,
) -> dict:
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
    vcfg, _ = effective_vectorize_config(config, Path(stage.info["weights"]))
    with (
        summary.timed("evaluate"),
        tqdm(total=1, desc="evaluate", unit="report", disable=not config.progress) as bar,
    ):
        try:
            report, _ = evaluate_stage(stage, network_file, labels, staged_out, vcfg.threshold)
        except OSError as exc:
            raise _as_output_error(exc, out) from exc
        bar.update()
    renames = {str(staged.dir): str(out.parent if str(out.parent) else Path("."))}
    if kept_probability is not None:
        renames[str(stage.probability)] = str(kept_probability)
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
    stage: PredictStage, config: ExtractConfig, cache: StageCache
) -> tuple[Any, RunSummary, dict[str, Path]]:
    """Everything after inference for one scene: the network, its summary, kept intermediates.

    Shared by the one-scene job and the Dask workers, so both time and report alike.
    """
    kept: dict[str, Path] = {}
    if config.output.keep_intermediates:
        kept = keep_intermediates(stage, Path(config.output.keep_intermediates))
    network, net_cached, vec_s = vectorize_stage(
        stage, config, cache, kept.get("mask"), kept.get("skeleton")
    )
    summary = summary_of(stage, network)
    summary.stage_s["inference"] = stage.seconds
    summary.stage_s["vectorize"] = vec_s
    summary.resumed += (["inference"] if stage.cached else []) + (
        ["vectorize"] if net_cached else []
    )
    return network, summary, kept


def _run_stages(
    scene: Path, out: Path, config: ExtractConfig, cache: StageCache, labels: Path | None
) -> ExtractResult:
    stage = predict_stage(scene, config, cache)
    network, summary, kept = vectorize_and_summarise(stage, config, cache)
    if network.crs is None:
        summary.notes.append(local_grid_note(config.vectorize.gsd_m or config.predict.gsd_m))
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
            report = _evaluate_scene(
                stage, staged, out, labels, config, summary, kept.get("probability")
            )
        outputs = staged.publish()
    summary.outputs += [str(p) for p in outputs]
    summary.outputs += [str(p) for p in kept.values() if p.exists()]

    if config.output.summary_json:
        target = Path(config.output.summary_json)
        with atomic_path(target) as tmp:
            tmp.write_text(json.dumps(summary.as_dict(), indent=2, default=str))
    if not config.output.keep_cache:
        cache.clear()
    log.info("%s", summary.format())
    return ExtractResult(network=network, summary=summary, outputs=outputs, report=report)
