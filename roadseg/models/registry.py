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

from roadseg.models.widths import WIDTHS, base_width, resolve_filters

ModelFactory = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelFactory] = {}


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


# ---------------------------------------------------------------- the published variants
# Every factory takes ``in_channels`` (the checkpoint loader passes ``meta.in_bands``) and a
# width: ``filters`` = "paper" | "lite" | explicit channels (``res_unet`` also takes
# ``filter_root``/``depth``). Builders import lazily so that importing the registry stays cheap.


def _resunet_keras(**kwargs: Any) -> nn.Module:
    from roadseg.models.resunet_variants import KerasResUNet

    filters = resolve_filters(kwargs.pop("filters", "paper"), levels=4)
    return KerasResUNet(filters=filters, **kwargs)


def _unet(**kwargs: Any) -> nn.Module:
    from roadseg.models.unet import UNet

    # the U-Net has one level more than the ResUNet: 64 -> 1024 at the paper's width
    filters = resolve_filters(kwargs.pop("filters", "paper"), levels=5)
    return UNet(filters=filters, **kwargs)


def _resunet_maxpool(**kwargs: Any) -> nn.Module:
    from roadseg.models.resunet_variants import ResUNetMaxPool

    filters = resolve_filters(kwargs.pop("filters", "paper"), levels=4)
    return ResUNetMaxPool(filters=filters, **kwargs)


def _res_unet(**kwargs: Any) -> nn.Module:
    from roadseg.models.resunet_variants import DepthResUNet

    filters = kwargs.pop("filters", None)
    if filters is not None:
        if "filter_root" in kwargs:
            raise ValueError("give either filters or filter_root, not both")
        if isinstance(filters, str):
            kwargs["filter_root"] = base_width(filters)
            kwargs.setdefault("depth", len(WIDTHS[filters]))
        else:
            filters = [int(f) for f in filters]
            if not filters or any(f != filters[0] * 2**i for i, f in enumerate(filters)):
                raise ValueError(f"res_unet filters must double per level, got {filters}")
            kwargs["filter_root"] = filters[0]
            if kwargs.setdefault("depth", len(filters)) != len(filters):
                raise ValueError(f"depth {kwargs['depth']} does not match filters {filters}")
    root = kwargs.get("filter_root", "lite")
    if isinstance(root, str):
        kwargs["filter_root"] = base_width(root)
    return DepthResUNet(**kwargs)


def _resunet2d(**kwargs: Any) -> nn.Module:
    from roadseg.models.resunet_variants import ResUnet2D

    # its published width is 16 (bridge 16 x 16 = 256): 'paper' -> 16, 'lite' -> 16 / 4
    filters = kwargs.pop("filters", "paper")
    if isinstance(filters, str):
        filters = base_width(filters) // 4
    return ResUnet2D(filters=filters, **kwargs)


register_model("resunet_keras")(_resunet_keras)
register_model("unet")(_unet)
register_model("resunet_maxpool")(_resunet_maxpool)
register_model("res_unet")(_res_unet)
register_model("resunet2d")(_resunet2d)
