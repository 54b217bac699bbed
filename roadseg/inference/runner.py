"""From the predictor's options to one runner: quality level, models, backend, ensemble, tags.

:func:`load_runner` resolves ``quality`` to models and TTA, loads each model
(checkpoint or ONNX file), builds each one's backend runner (torch if the
requested backend fails), averages several into an ensemble, and returns the
metadata and output tags that describe what actually ran.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from roadseg.inference.backends import (
    BackendOptions,
    ModelSource,
    Runner,
    build_runner,
    load_source,
)
from roadseg.inference.ensemble import (
    calibrated_threshold,
    ensemble_meta,
    ensemble_runner,
    ensemble_tags,
    split_weights,
)
from roadseg.inference.quality import resolve_quality
from roadseg.inference.tags import file_sha256, probability_tags
from roadseg.models import CheckpointMeta

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """What runs (``runner``), what describes it (``meta``, ``tags``) and whether TTA is on."""

    runner: Runner
    meta: CheckpointMeta
    tags: dict[str, str]
    tta: bool
    sources: list[ModelSource]


def backend_options(config: Any, device: torch.device) -> BackendOptions:
    return BackendOptions(
        device=device,
        precision=config.precision,
        channels_last=config.channels_last,
        compile=config.compile,
    )


def load_runner(
    config: Any, device: torch.device, model: tuple[Any, CheckpointMeta] | None = None
) -> LoadedModel:
    """The runner for a :class:`~roadseg.inference.predictor.PredictConfig` (see the module doc).

    ``model``: an already loaded ``(model, meta)`` pair used instead of the config's
    weights (the output then carries no model file tags).
    """
    options = backend_options(config, device)
    if model is not None:
        net, meta = model
        src = ModelSource(meta=meta, net=net, down_factor=int(getattr(net, "down_factor", 1)))
        runner = build_runner(config.backend, src, options)
        return LoadedModel(runner, meta, probability_tags(meta, None), config.tta, [src])
    weights, tta = resolve_quality(config.quality, config.weights, config.tta)
    sources = [load_source(w, device) for w in split_weights(weights)]
    runners = [build_runner(config.backend, s, options) for s in sources]
    shas = [file_sha256(s.weights_file) for s in sources if s.weights_file is not None]
    if len(sources) == 1:
        src, meta = sources[0], sources[0].meta
        tags = _precision_tag(probability_tags(meta, src.weights_file), runners[0])
        calibrated = calibrated_threshold(shas, tta) if tta and shas else None
        if calibrated is not None:  # the level measured for this model with TTA
            tags["ROADSEG_THRESHOLD"] = repr(calibrated)
        return LoadedModel(runners[0], meta, tags, tta, sources)
    meta = ensemble_meta(sources, shas, tta)
    tags = _precision_tag(ensemble_tags(probability_tags(meta, None), sources, shas), runners[0])
    return LoadedModel(ensemble_runner(runners, sources), meta, tags, tta, sources)


def _precision_tag(tags: dict[str, str], runner: Runner) -> dict[str, str]:
    """``ROADSEG_PRECISION`` when the model did not run in exact fp32."""
    if runner.precision != "fp32":
        tags["ROADSEG_PRECISION"] = runner.precision
    return tags
