"""The configuration of ``extract_roads``: every stage's options in one typed object.

:class:`ExtractConfig` nests the stages' own configs -- :class:`PredictConfig`
(weights, device, tile/overlap/blend, TTA, ...) and :class:`VectorizeConfig`
(threshold, cleanup and graph-cleaning lengths in metres) -- plus the output,
caching and cluster options. It loads from a YAML or TOML file whose sections
are the field names::

    threshold: 0.4            # or otsu, hysteresis:0.3,0.6; default: the model's calibrated one
    predict: {tile: 224, overlap: 14, blend: cosine, tta: false, device: auto}
    vectorize: {min_spur_m: 10, bridge_m: 15, min_component_m: 30, simplify_m: 1}
    output: {formats: [geojson, gpkg], keep_intermediates: work/, evaluate: labels.tif}
    evaluation: {exclude_nodata: true, slack_m: 3, label_width_m: 7}
    cluster: {n_workers: 2, threads_per_worker: 1, seam_m: 10}
    conflate: {buffer_m: 6.5, min_length_m: 10}   # with output.conflate: roads.osm.pbf

and command-line flags (or ``--set section.field=value``) override the file.

Threshold: when neither the file nor the command line gives one, the pipeline
uses the level stored in the probability raster (``ROADSEG_THRESHOLD``), else the
checkpoint's calibrated ``meta.threshold`` (the held-out break-even level), and
0.5 if there is none (:mod:`roadseg.postprocess.level`). ``vectorize.threshold`` in a file
is accepted as a spelling of the top-level ``threshold``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadseg.configfile import from_mapping, load_mapping, merge_dotted, to_mapping
from roadseg.conflate.config import ConflateConfig
from roadseg.errors import InputError
from roadseg.inference.config import PredictConfig
from roadseg.postprocess.config import ThresholdSpec
from roadseg.vector.config import VectorizeConfig

#: PredictConfig fields that change how fast, not what, is computed (left out of cache keys).
RUNTIME_ONLY_PREDICT = frozenset(
    {"device", "channels_last", "compile", "batch_size", "prefetch", "progress", "backend"}
)
#: VectorizeConfig fields left out of cache keys (the result is identical for any value).
RUNTIME_ONLY_VECTORIZE = frozenset({"block_size", "halo", "show_progress"})


@dataclass
class OutputConfig:
    """Where results go and what is kept.

    Attributes:
        formats: output formats written besides ``-o``'s own (any name of
            :func:`roadseg.vector.formats.format_names`: ``geojson``, ``gpkg``,
            ``parquet``, ``graphml``, ``fgb``), one file each named after ``-o`` with
            that format's suffix; ``None``: the format of ``-o``'s suffix alone.
        keep_intermediates: folder for the probability raster, the cleaned mask and
            the skeleton as GeoTIFFs (``<scene>.probability.tif`` ...); ``None``: not kept.
        evaluate: road labels (raster mask, OSM or vector file) to evaluate the result
            against; the report goes beside the output (``<out>.evaluation.json/.md/.png``).
        cache_dir: where resumable stage outputs live while a run is in progress;
            ``None``: ``.roadseg-cache`` in the output's folder. On a cluster it must be
            on storage every worker sees.
        resume: reuse complete stage outputs found in the cache (same input and parameters).
        keep_cache: keep the cache after a successful run (otherwise it is removed).
        summary_json: also write the run summary as JSON here.
        quicklook: also write a PNG of the network over the imagery here (the
            ``evaluate`` labels drawn too, in another colour); ``None``: none.
        conflate: OSM roads (``.osm.pbf``, ``.osm`` or a vector file) to conflate the
            network against: the roads OSM lacks go to ``<out stem>.missing.geojson``
            (``.missing.osm`` for an ``.osm`` output) beside the output (options: the
            ``conflate`` section); ``None``: none.
    """

    formats: list[str] | None = None
    keep_intermediates: str | None = None
    evaluate: str | None = None
    cache_dir: str | None = None
    resume: bool = True
    keep_cache: bool = False
    summary_json: str | None = None
    quicklook: str | None = None
    conflate: str | None = None


def _evaluate_default(name: str) -> Any:
    """The default of ``name`` in :class:`~roadseg.evaluation.evaluate.EvaluateConfig`
    (written once, there)."""
    from roadseg.evaluation.evaluate import EvaluateConfig

    return {f.name: f.default for f in dataclasses.fields(EvaluateConfig)}[name]


@dataclass
class EvaluationConfig:
    """How ``output.evaluate`` scores the run: the options of
    :class:`~roadseg.evaluation.evaluate.EvaluateConfig` that a run can set, with its
    defaults and checked by its rules (before any work).

    Attributes:
        exclude_nodata: leave out the scene's no-imagery pixels (its declared no-data
            mask, or its pure-white pixels where it declares none).
        slack_m: the relaxed metrics' slack in metres at each scene's GSD.
        rho: the slack in pixels instead (an explicit override; ``None``: ``slack_m``).
        label_width_m: the width in metres vector labels are drawn with.
        label_width_px: that width in pixels instead (``None``: ``label_width_m``).
        highways: OSM class filter for the labels (``None``: ``massachusetts`` where a
            highway attribute exists).
        buffer_m: buffer half-width of completeness/correctness/quality.
    """

    exclude_nodata: bool = _evaluate_default("exclude_nodata")
    slack_m: float = _evaluate_default("slack_m")
    rho: int | None = _evaluate_default("rho")
    label_width_m: float = _evaluate_default("label_width_m")
    label_width_px: float | None = _evaluate_default("label_width_px")
    highways: str | None = _evaluate_default("highways")
    buffer_m: float = _evaluate_default("buffer_m")

    def __post_init__(self) -> None:
        self.options()  # EvaluateConfig's own checks, now rather than after inference

    def options(self) -> dict[str, Any]:
        """These options as :class:`~roadseg.evaluation.evaluate.EvaluateConfig` keywords."""
        from roadseg.evaluation.evaluate import EvaluateConfig

        opts = dataclasses.asdict(self)
        EvaluateConfig(pred=[], labels=[], **opts)  # refuses bad values in one line
        return opts


@dataclass
class ClusterConfig:
    """Many scenes on Dask distributed.

    Attributes:
        scheduler: address of an existing scheduler (``tcp://host:8786``); ``None``
            starts a :class:`distributed.LocalCluster`.
        n_workers, threads_per_worker: size of the LocalCluster (threads also set
            torch's CPU threads per task).
        gpu: inference tasks ask for the worker resource ``GPU=1`` (start workers with
            ``--resources GPU=1``; a LocalCluster gets one GPU slot per worker), and
            the mosaic's vectorisation runs as a separate task on any worker.
        seam_m: scenes whose footprints lie within this (metres) of each other, directly
            or through other scenes, are mosaicked and vectorised together; scenes farther
            apart are vectorised apart (see :mod:`roadseg.pipeline.mosaic`).
        context: scenes on one grid are predicted with their neighbours' pixels around
            them, as their mosaic would be predicted whole (see
            :mod:`roadseg.pipeline.context`); off: each scene alone.
    """

    scheduler: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    gpu: bool = False
    seam_m: float = 10.0
    context: bool = True


@dataclass
class ExtractConfig:
    """Everything ``extract_roads`` needs (see the module docstring)."""

    predict: PredictConfig = field(default_factory=PredictConfig)
    vectorize: VectorizeConfig = field(default_factory=VectorizeConfig)
    threshold: str | float | None = None
    output: OutputConfig = field(default_factory=OutputConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    conflate: ConflateConfig = field(default_factory=ConflateConfig)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.threshold is not None:
            ThresholdSpec.parse(self.threshold)  # fail early on a bad spelling
        if self.cluster.n_workers < 1 or self.cluster.threads_per_worker < 1:
            raise InputError("cluster: n_workers and threads_per_worker must be >= 1")
        if self.cluster.seam_m < 0:
            raise InputError(f"cluster: seam_m={self.cluster.seam_m} must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        out = to_mapping(self)
        out["vectorize"].pop("threshold")  # the top-level threshold is the one used
        out["predict"]["blend"] = str(getattr(self.predict.blend, "value", self.predict.blend))
        return out


def _normalise_threshold(mapping: dict[str, Any], source: str) -> dict[str, Any]:
    vec = mapping.get("vectorize")
    if isinstance(vec, Mapping) and "threshold" in vec:
        vec = dict(vec)
        value = vec.pop("threshold")
        if mapping.get("threshold") is not None and value is not None:
            raise InputError(
                f"{source}: give the threshold once (threshold or vectorize.threshold)"
            )
        mapping = {**mapping, "vectorize": vec, "threshold": value}
    return mapping


def load_extract_config(
    path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None
) -> ExtractConfig:
    """Build an :class:`ExtractConfig` from a YAML/TOML file and dotted-key overrides.

    ``overrides`` maps ``"section.field"`` (or a top-level ``"field"``) to values;
    ``None`` values are ignored, so unset CLI flags do not override the file.
    """
    mapping: dict[str, Any] = load_mapping(path) if path is not None else {}
    source = str(path) if path is not None else "options"
    mapping = _normalise_threshold(mapping, source)
    values = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "vectorize.threshold" in values:
        values["threshold"] = values.pop("vectorize.threshold")
    mapping = merge_dotted(mapping, values)
    if path is not None:
        mapping = _resolve_paths(mapping, Path(path).resolve().parent, values)
    return from_mapping(ExtractConfig, mapping, source=source)


#: Config fields holding file paths: relative paths in a config file are relative to the file.
_PATH_FIELDS = (
    ("predict", "weights"),
    ("output", "keep_intermediates"),
    ("output", "evaluate"),
    ("output", "cache_dir"),
    ("output", "summary_json"),
    ("output", "quicklook"),
    ("output", "conflate"),
)


def _resolve_paths(
    mapping: dict[str, Any], base: Path, overridden: Mapping[str, Any]
) -> dict[str, Any]:
    for section, name in _PATH_FIELDS:
        sect = mapping.get(section)
        if not isinstance(sect, dict) or f"{section}.{name}" in overridden:
            continue
        value = sect.get(name)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            sect[name] = str(base / value)
    return mapping


def stage_params(config: Any, runtime_only: frozenset[str]) -> dict[str, Any]:
    """The fields of a stage config that determine its result (for cache keys)."""
    return {
        f.name: to_mapping(getattr(config, f.name))
        for f in dataclasses.fields(config)
        if f.name not in runtime_only
    }
