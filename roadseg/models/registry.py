"""One place that builds any road model from a name and keyword arguments.

Example:
    >>> from roadseg.models import build_model
    >>> net = build_model("resunet", filters=[16, 32, 64, 128])
    >>> type(net).__name__
    'ResUNet'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

ModelFactory = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelFactory] = {}

#: Named widths: ``lite`` is the CPU-friendly quarter width of the paper's model.
WIDTHS: dict[str, list[int]] = {
    "paper": [64, 128, 256, 512],
    "lite": [16, 32, 64, 128],
}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator that adds a model factory to the registry under ``name``."""

    def deco(factory: ModelFactory) -> ModelFactory:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


def available_models() -> list[str]:
    """Names accepted by :func:`build_model`, sorted."""
    return sorted(_REGISTRY)


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` with ``kwargs``.

    Raises:
        ValueError: ``name`` is unknown, or the arguments do not fit the model.
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; expected one of {', '.join(available_models())}"
        ) from None
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad arguments for model {name!r}: {exc}") from exc


def _resunet(**kwargs: Any) -> nn.Module:
    from roadseg.models.resunet import ResUNet

    filters = kwargs.pop("filters", "paper")
    if isinstance(filters, str):
        if filters not in WIDTHS:
            raise ValueError(f"unknown width {filters!r}; expected one of {sorted(WIDTHS)}")
        filters = WIDTHS[filters]
    return ResUNet(filters=filters, **kwargs)


register_model("resunet")(_resunet)
