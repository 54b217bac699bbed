"""The evaluation step of ``extract --evaluate``, one scene or many.

Both jobs call :func:`evaluate_outputs` with the probability rasters they
produced, the run's :class:`~roadseg.postprocess.level.ChosenThreshold` (so the
report's strict and relaxed metrics are taken at the level the network was cut
at) and a staged output name; the report goes to ``<out>.evaluation.json``,
``.md`` and ``.png`` and is published with the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.postprocess.level import ChosenThreshold


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
    scenes: list[Path],
    labels: Path,
    out: Path,
    threshold: ChosenThreshold,
    network_file: Path | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Evaluate the probability rasters (and ``network_file``) of ``scenes`` against ``labels``.

    Returns the report and the report files written beside ``out``.
    """
    from roadseg.evaluation.evaluate import EvaluateConfig, run_evaluation
    from roadseg.evaluation.report import to_markdown

    if not labels.exists():
        raise InputError(f"{labels}: labels file not found")
    paths = evaluation_paths(out)
    cfg = EvaluateConfig(
        pred=list(probabilities) + ([network_file] if network_file is not None else []),
        labels=[labels],
        scene=list(scenes),
        threshold=threshold.evaluation_level(),
        json_path=paths["json"],
        plot_path=paths["plot"],
    )
    result = run_evaluation(cfg)
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(to_markdown(result.report, result.breakeven), encoding="utf-8")
    return result.report, [p for p in paths.values() if p.exists()]
