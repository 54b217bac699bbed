"""Ensembles: several models whose road probabilities are averaged, tile by tile.

Each member runs on its own backend runner and sees the raw band values
normalised its own way; their probabilities (sigmoid of the logits) are
averaged with equal weights. The members must agree on bands, GSD and tile.

A probability raster made by an ensemble names every member in its tags
(``ROADSEG_MODEL`` joins the file names with ``+``, ``ROADSEG_MODEL_SHA256`` the
hashes with ``,``), and its ``ROADSEG_THRESHOLD`` is the ensemble's own
break-even level measured on the valid tiles (``roadseg/weights/calibrations.json``,
written by ``benchmarks/cpu_quality.py``), not a member's; an ensemble (or a TTA
run) never measured that way carries no threshold tag and the pipeline warns.

Example:
    >>> split_weights("a.safetensors,b.safetensors")
    ['a.safetensors', 'b.safetensors']
    >>> split_weights(None)
    [None]
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from roadseg.errors import InputError
from roadseg.inference.backends import ModelSource, Runner
from roadseg.models import CheckpointMeta
from roadseg.models.checkpoint import WEIGHTS_DIR

log = logging.getLogger(__name__)

#: thresholds measured for ensembles / TTA on the valid tiles (written by benchmarks/cpu_quality.py)
CALIBRATIONS = WEIGHTS_DIR / "calibrations.json"

WeightsSpec = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


def split_weights(weights: WeightsSpec) -> list[Any]:
    """One model or several: a list, or a comma-separated string (unless it names a file)."""
    if weights is None:
        return [None]
    if isinstance(weights, (list, tuple)):
        if not weights:
            raise InputError("weights: an empty list of models")
        return list(weights)
    text = os.fspath(weights)  # type: ignore[arg-type]
    if "," in text and not Path(text).exists():
        return [w.strip() for w in text.split(",") if w.strip()]
    return [weights]


def calibration_key(shas: Sequence[str], tta: bool) -> str:
    """The key of a model set's calibration: sorted member SHA-256s, and ``+tta``."""
    return ",".join(sorted(shas)) + ("+tta" if tta else "")


def calibrated_threshold(shas: Sequence[str], tta: bool, path: Path = CALIBRATIONS) -> float | None:
    """The threshold measured for these members (with/without TTA), or ``None``."""
    if not path.is_file():
        return None
    entry = json.loads(path.read_text()).get(calibration_key(shas, tta))
    return None if entry is None else float(entry["threshold"])


def probability_fn(runner: Runner, meta: CheckpointMeta) -> Any:
    """A member as ``raw (N, C, h, w) -> probabilities (N, 1, h, w)`` (its own normalisation)."""
    norm = meta.normalisation
    std = torch.tensor(norm.std, dtype=torch.float64)
    # (v / scale - mean) / std folded to v·a + b, as the predictor's normaliser does
    a = (1.0 / (float(norm.scale) * std)).float().view(1, -1, 1, 1)
    b = (-torch.tensor(norm.mean, dtype=torch.float64) / std).float().view(1, -1, 1, 1)

    def run(x: torch.Tensor) -> torch.Tensor:
        if not runner.normalised:
            x = x * a.to(x.device) + b.to(x.device)  # a new tensor: the batch is shared
        y = runner.run(x).float()
        return torch.sigmoid(y) if runner.outputs == "logits" else y

    return run


def ensemble_runner(runners: Sequence[Runner], sources: Sequence[ModelSource]) -> Runner:
    """One runner averaging the members' probabilities (raw band values in)."""
    check_compatible(sources)
    fns = [probability_fn(r, s.meta) for r, s in zip(runners, sources)]

    def run(x: torch.Tensor) -> torch.Tensor:
        acc = fns[0](x)
        for f in fns[1:]:
            acc = acc + f(x)
        return acc / len(fns)

    down = max(r.down_factor for r in runners)
    return Runner(
        name="+".join(r.name for r in runners),
        run=run,
        outputs="probabilities",
        normalised=True,
        down_factor=down,
        detail="ensemble of " + ", ".join(s.name for s in sources),
    )


def check_compatible(sources: Sequence[ModelSource]) -> None:
    first = sources[0].meta
    for s in sources[1:]:
        m = s.meta
        if (m.in_bands, m.gsd_m, m.tile) != (first.in_bands, first.gsd_m, first.tile):
            raise InputError(
                f"{s.name}: an ensemble's models must share bands, GSD and tile; "
                f"{sources[0].name} has {first.in_bands} band(s) at {first.gsd_m} m, tile {first.tile}, "
                f"{s.name} {m.in_bands} at {m.gsd_m} m, tile {m.tile}"
            )


def ensemble_meta(sources: Sequence[ModelSource], shas: Sequence[str], tta: bool) -> CheckpointMeta:
    """The first member's metadata, named for all, with the ensemble's own calibrated threshold."""
    meta = dataclasses.replace(sources[0].meta)
    meta.architecture = "+".join(s.meta.architecture for s in sources)
    meta.threshold = calibrated_threshold(shas, tta)
    if meta.threshold is None:
        log.warning(
            "no threshold was calibrated for the ensemble %s%s; give one with --threshold "
            "(the pipeline otherwise uses 0.5)",
            " + ".join(s.name for s in sources),
            " with TTA" if tta else "",
        )
    meta.metrics = {}
    meta.provenance = {"ensemble": [s.name for s in sources]}
    return meta


def ensemble_tags(
    tags: dict[str, str], sources: Sequence[ModelSource], shas: Sequence[str]
) -> dict[str, str]:
    """``ROADSEG_MODEL`` / ``ROADSEG_MODEL_SHA256`` naming every member."""
    out = dict(tags)
    out["ROADSEG_MODEL"] = "+".join(s.name for s in sources)
    out["ROADSEG_MODEL_SHA256"] = ",".join(shas)
    out["ROADSEG_ENSEMBLE"] = str(len(sources))
    return out
