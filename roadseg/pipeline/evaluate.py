"""The evaluation step of ``extract --evaluate``, one scene or many.

Both jobs call :func:`evaluate_outputs` with the probability rasters they
produced, the network in memory (so every metric applies whatever the output
format, and nothing is read back), the run's
:class:`~roadseg.postprocess.level.ChosenThreshold` (so the
report's strict and relaxed metrics are taken at the level the network was cut
at) and a staged output name; the report goes to ``<out>.evaluation.json``,
``.md`` and ``.png`` and is published with the network. The report names the
files as they are after the run (``report_paths``): staged files at their final
places, cached probability rasters where they are kept, or not at all when the
cache is removed. The scoring options are the run's ``evaluation`` section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.pipeline.config import EvaluationConfig, ExtractConfig
from roadseg.postprocess.level import ChosenThreshold
from roadseg.uri import RemotePath
from roadseg.vector import RoadNetwork


def evaluation_paths(out: Path) -> dict[str, Path]:
    """The report files that go beside the output ``out``."""
    stem = out.with_suffix("")
    return {
        "json": stem.with_name(stem.name + ".evaluation.json"),
        "markdown": stem.with_name(stem.name + ".evaluation.md"),
        "plot": stem.with_name(stem.name + ".evaluation.png"),
    }


def evaluate_outputs(
    probabilities: list[Path],
    scenes: Sequence[Path | RemotePath],
    labels: Path | RemotePath,
    out: Path,
    threshold: ChosenThreshold,
    network: RoadNetwork | None = None,
    options: EvaluationConfig | None = None,
    report_paths: Mapping[Path, Path | None] | None = None,
    network_name: Path | None = None,
    bbox: Any = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Evaluate the probability rasters and the ``network`` of ``scenes`` against ``labels``.

    ``network``: the run's network, scored as it is in memory (each scene scores the
    part inside its footprint), named ``network_name`` in the report (the published
    output); ``options``: how to score (no-data, slack, label width); ``report_paths``:
    the paths the report names instead of those read or written (see
    :func:`published_names`); ``bbox``: the run's ``--bbox`` (scored inside it). Returns the report as written (JSON values, the named
    paths) and the report files written beside ``out``.
    """
    from roadseg.evaluation.evaluate import EvaluateConfig, NetworkInput, run_evaluation
    from roadseg.evaluation.report import json_safe, to_markdown

    if not labels.exists():
        raise InputError(f"{labels}: labels file not found")
    paths = evaluation_paths(out)
    cfg = EvaluateConfig(
        pred=list(probabilities),
        labels=[labels],  # type: ignore[list-item]  # a RemotePath reads as a Path there
        scene=list(scenes),  # type: ignore[arg-type]
        threshold=threshold.evaluation_level(),
        json_path=paths["json"],
        plot_path=paths["plot"],
        report_paths=dict(report_paths or {}),
        bbox=bbox,
        **(options or EvaluationConfig()).options(),
    )
    networks = None
    if network is not None and network.crs is not None:
        # a network in pixel coordinates (a scene without CRS) has no place beside vector
        # labels; its raster prediction is scored on the pixel grid all the same
        networks = [NetworkInput(network.edges, network_name)]
    result = run_evaluation(cfg, networks)
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(to_markdown(result.report, result.breakeven), encoding="utf-8")
    return json_safe(result.report), [p for p in paths.values() if p.exists()]


def published_names(
    staged_dir: Path,
    final_dir: Path,
    staged_files: list[Path],
    probabilities: Mapping[Path, Path | None],
) -> dict[Path, Path | None]:
    """The ``report_paths`` of a run: each staged file at its place in ``final_dir``
    once published, and each cached probability raster where it ends up (its kept
    copy, itself when the cache is kept, ``None`` when the cache is removed)."""
    names: dict[Path, Path | None] = {
        p: final_dir / p.relative_to(staged_dir) for p in staged_files
    }
    names.update(probabilities)
    return names


def kept_probability(
    cached: Path, kept: Mapping[str, str | Path], config: ExtractConfig
) -> Path | None:
    """Where a run's cached probability raster ends up: its kept copy
    (``--keep-intermediates``), the cache entry itself (``--keep-cache``), or nowhere."""
    if "probability" in kept:
        return Path(kept["probability"])
    return cached if config.output.keep_cache else None
