"""Classic U-Net (Ronneberger et al. 2015) with padded convolutions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from roadseg.models import UNet, build_model
from tests.models.param_arith import bn, conv, trainable


def _unet_params(
    widths: list[int], in_ch: int = 3, out_ch: int = 1, batch_norm: bool = False
) -> int:
    """Published layer list: per level two 3x3 conv(+ReLU); per up level a 2x2 up-conv
    halving the channels, concat, two 3x3 convs; a final 1x1 conv."""
    total, cin = 0, in_ch
    for w in widths:  # contracting path (the last level is the bottom)
        total += conv(cin, w, 3) + conv(w, w, 3) + (2 * bn(w) if batch_norm else 0)
        cin = w
    for deeper, skip in zip(widths[::-1][:-1], widths[::-1][1:]):  # expanding path
        total += conv(deeper, skip, 2)  # transposed 2x2: 4*deeper*skip + skip
        total += conv(2 * skip, skip, 3) + conv(skip, skip, 3) + (2 * bn(skip) if batch_norm else 0)
    return total + conv(widths[0], out_ch, 1)


def test_paper_parameter_count() -> None:
    paper = [64, 128, 256, 512, 1024]
    # contracting 18,843,200 + expanding 12,188,480 + head 65
    assert _unet_params(paper) == 31_031_745
    # the 2-class original: the well-known 31,031,810 (head 64*2 + 2 = 130)
    assert _unet_params(paper, out_ch=2) == 31_031_810
    assert trainable(build_model("unet", filters="paper")) == 31_031_745
    assert trainable(UNet(filters=paper, out_channels=2)) == 31_031_810


def test_lite_and_batchnorm_counts() -> None:
    lite = [16, 32, 64, 128, 256]
    assert trainable(build_model("unet", filters="lite")) == _unet_params(lite) == 1_941_105
    assert trainable(UNet(filters=lite, batch_norm=True)) == _unet_params(lite, batch_norm=True)
    assert trainable(UNet(in_channels=4, filters=lite)) == _unet_params(lite, in_ch=4)


def test_layout_four_pools_and_halving_upconvs() -> None:
    net = UNet(filters=(8, 16, 32, 64, 128))
    assert net.down_factor == 16 and len(net.down) == 5 and len(net.up) == 4
    ups = [m for m in net.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(u.in_channels, u.out_channels, u.kernel_size, u.stride) for u in ups] == [
        (128, 64, (2, 2), (2, 2)),
        (64, 32, (2, 2), (2, 2)),
        (32, 16, (2, 2), (2, 2)),
        (16, 8, (2, 2), (2, 2)),
    ]
    convs3 = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs3) == 18 and all(c.padding == (1, 1) for c in convs3)  # padded (a fix)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())


def test_forward_keeps_size_and_returns_finite_logits() -> None:
    torch.manual_seed(0)
    net = UNet(filters=(8, 16, 32, 64, 128)).eval()
    with torch.no_grad():
        y = net(torch.randn(2, 3, 32, 48))
    assert y.shape == (2, 1, 32, 48)  # padded convs: output size == input size
    assert torch.isfinite(y).all() and y.std() > 0
    p = torch.sigmoid(y)
    assert ((p > 0) & (p < 1)).all()


def test_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    net = UNet(filters=(4, 8, 16), dropout=0.5)
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        net.eval()
        assert torch.equal(net(x), net(x))
        net.train()
        assert not torch.equal(net(x), net(x))


def test_bad_input_and_arguments() -> None:
    net = UNet(filters=(4, 8, 16))
    with pytest.raises(ValueError, match="multiple of the model's down_factor 4"):
        net(torch.zeros(1, 3, 18, 16))
    with pytest.raises(ValueError, match="4-D input"):
        net(torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="dropout"):
        UNet(dropout=1.0)
    with pytest.raises(ValueError, match="at least 2"):
        UNet(filters=(64,))
