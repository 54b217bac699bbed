"""Probability -> uint8 level: the one rounding rule of a probability raster.

A probability ``p`` in [0, 1] is stored as the level ``floor(255 p + 0.5)`` (round half up;
NaN -> 0, values outside [0, 1] clipped), and a level ``v`` reads back as ``p = v / 255``.
The predictor writes its GeoTIFFs with this rule, and the evaluation and the trainer's
validation quantise in-memory probabilities with it, so that a probability scores the same
whether it went through a file or not.

>>> import numpy as np
>>> quantise(np.array([0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 2.0, np.nan], dtype=np.float32))
array([  0,   1,   2, 128, 255, 255,   0], dtype=uint8)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def quantise(prob: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] -> uint8 ``floor(255 p + 0.5)`` (NaN -> 0)."""
    q = np.nan_to_num(prob, nan=0.0) * np.float32(255.0) + np.float32(0.5)
    return np.clip(q, 0, 255).astype(np.uint8)


def quantise_tensor(prob: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`quantise` for a torch tensor on its device (invalid pixels -> 0).

    Pass ``valid=None`` when invalid pixels are 0 in ``prob`` already.
    """
    import torch

    q = prob.mul(255.0).add_(0.5).clamp_(0, 255)
    if q.device.type == "cpu":  # numpy's float -> uint8 cast is several times faster there
        q = torch.from_numpy(q.numpy().astype(np.uint8))
    else:
        q = q.to(torch.uint8)
    return q if valid is None else q.masked_fill_(~valid, 0)
