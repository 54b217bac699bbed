"""``--quality fast|default|best``: which models and test-time augmentation a prediction uses.

Each level is a measured trade-off between break-even and CPU time on the 14
valid Massachusetts tiles (``benchmarks/cpu_quality.py``; the figures are in
docs/models.md and docs/backends.md). A level only chooses when the user names
no model: ``--weights`` (one model, or several for an ensemble) and ``--tta``
say exactly what to run.

Example:
    >>> QUALITY["default"]
    Preset(weights=None, tta=False)
    >>> resolve_quality("default", None, False)
    (None, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roadseg.errors import InputError


@dataclass(frozen=True)
class Preset:
    """The models (``None``: the default model; a tuple: an ensemble) and whether to use TTA."""

    weights: tuple[str, ...] | None
    tta: bool


QUALITY: dict[str, Preset] = {
    "fast": Preset(weights=("resunet_lite_massachusetts",), tta=False),
    "default": Preset(weights=None, tta=False),
    "best": Preset(weights=("resunet_w32_massachusetts", "resunet_lite_massachusetts"), tta=False),
}


def resolve_quality(quality: str, weights: Any, tta: bool) -> tuple[Any, bool]:
    """The ``(weights, tta)`` to run: the user's, or the level's when no model is named.

    Raises:
        InputError: an unknown level, or a level other than ``default`` together with
            ``--weights`` (two answers to which model runs).
    """
    if quality not in QUALITY:
        raise InputError(f"quality must be one of {', '.join(QUALITY)}, got {quality!r}")
    if quality == "default":
        return weights, tta
    if weights is not None:
        raise InputError(
            f"--quality {quality} chooses the models itself; give --weights or --quality, not both"
        )
    preset = QUALITY[quality]
    w: Any = (
        list(preset.weights)
        if preset.weights and len(preset.weights) > 1
        else (preset.weights[0] if preset.weights else None)
    )
    return w, tta or preset.tta
