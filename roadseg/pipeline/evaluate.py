"""The evaluation step of ``extract --evaluate``, one scene or many.

Both jobs call :func:`evaluate_outputs` with the probability rasters they
produced, the run's :class:`~roadseg.postprocess.level.ChosenThreshold` (so the
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
    network_file: Path | None = None,
    options: EvaluationConfig | None = None,
    report_paths: Mapping[Path, Path | None] | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Evaluate the probability rasters (and ``network_file``) of ``scenes`` against ``labels``.

    ``options``: how to score (no-data, slack, label width); ``report_paths``: the
    paths the report names instead of those read or written (see
    :func:`published_names`). Returns the report and the report files written beside
    ``out``.
    """
    from roadseg.evaluation.evaluate import EvaluateConfig, run_evaluation
    from roadseg.evaluation.report import to_markdown

    if not labels.exists():
        raise InputError(f"{labels}: labels file not found")
    paths = evaluation_paths(out)
    cfg = EvaluateConfig(
        pred=list(probabilities) + ([network_file] if network_file is not None else []),
        labels=[labels],  # type: ignore[list-item]  # a RemotePath reads as a Path there
        scene=list(scenes),  # type: ignore[arg-type]
        threshold=threshold.evaluation_level(),
        json_path=paths["json"],
        plot_path=paths["plot"],
        report_paths=dict(report_paths or {}),
        **(options or EvaluationConfig()).options(),
    )
    result = run_evaluation(cfg)
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(to_markdown(result.report, result.breakeven), encoding="utf-8")
    return result.report, [p for p in paths.values() if p.exists()]


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
