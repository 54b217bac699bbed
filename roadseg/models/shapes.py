"""Input-shape checks shared by the models."""

from __future__ import annotations

import torch


def check_spatial(x: torch.Tensor, down_factor: int, dims: int = 2) -> None:
    """Refuse an input whose spatial sizes are not multiples of ``down_factor``."""
    if x.ndim != dims + 2:
        raise ValueError(
            f"expected a {dims + 2}-D input (N, C, {'D, ' if dims == 3 else ''}H, W), "
            f"got shape {tuple(x.shape)}"
        )
    sizes = tuple(x.shape[2:])
    if any(s % down_factor for s in sizes):
        raise ValueError(
            f"input spatial size {sizes} must be a multiple of the model's down_factor "
            f"{down_factor}"
        )
