"""Losses: known values, invalid pixels ignored, gradients finite."""

from __future__ import annotations

import math

import pytest
import torch

from roadseg.training.losses import bce_loss, dice_loss, get_loss, mse_loss


def test_mse_on_known_values():
    logits = torch.zeros(1, 1, 2, 2)  # p = 0.5 everywhere
    target = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    weight = torch.ones_like(target)
    assert mse_loss(logits, target, weight).item() == pytest.approx(0.25)
    assert bce_loss(logits, target, weight).item() == pytest.approx(math.log(2))


def test_invalid_pixels_are_ignored():
    logits = torch.tensor([[[[5.0, -5.0]]]])
    target = torch.tensor([[[[1.0, 1.0]]]])
    only_first = torch.tensor([[[[1.0, 0.0]]]])
    assert bce_loss(logits, target, only_first).item() < 0.01
    assert dice_loss(logits, target, only_first).item() < 0.01


def test_gradients_finite_and_unknown_name():
    logits = torch.randn(2, 1, 8, 8, requires_grad=True)
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    get_loss("bce_dice")(logits, target, torch.ones_like(target)).backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match="bce_dice"):
        get_loss("focal")
