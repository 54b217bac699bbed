"""Training losses on logits, with per-pixel weights (0 on invalid pixels).

With ``z`` the logits, ``p = σ(z)``, ``y`` the soft target and ``m`` the
validity weight, over the ``M = Σ m`` counted pixels:

* ``mse`` (the paper):  ``Σ m (p − y)² / M``. The paper writes the loss as the
  sum over the N pixels of a sample, ``L = 1/N Σ_i ‖p_i − y_i‖²`` per image
  averaged over the batch; the per-pixel mean used here differs only by the
  constant factor of pixels per crop, which SGD absorbs into the learning rate
  (so the paper's lr = 0.001 on the per-sample sum is far larger in effect).
* ``bce``: ``Σ m · BCE(z, y) / M`` computed from logits (stable).
* ``dice`` (soft): ``1 − (2 Σ m p y + ε) / (Σ m p + Σ m y + ε)``, over the batch.
* ``bce_dice``: ``bce + dice``, the modern recipe.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
_EPS = 1.0


def _masked_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (values * weight).sum() / weight.sum().clamp_min(1.0)


def mse_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return _masked_mean((torch.sigmoid(logits) - target) ** 2, weight)


def bce_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return _masked_mean(bce, weight)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits) * weight
    y = target * weight
    return 1.0 - (2.0 * (p * y).sum() + _EPS) / (p.sum() + y.sum() + _EPS)


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return bce_loss(logits, target, weight) + dice_loss(logits, target, weight)


LOSSES: dict[str, LossFn] = {
    "mse": mse_loss,
    "bce": bce_loss,
    "dice": dice_loss,
    "bce_dice": bce_dice_loss,
}


def get_loss(name: str) -> LossFn:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}") from None
