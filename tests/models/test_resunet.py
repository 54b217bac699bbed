"""ResUNet of Zhang, Liu & Wang (2018), Table I: structure, shapes, parameter counts."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from roadseg.models import ResUNet
from tests.models.param_arith import (
    bn,
    bn_running_stats,
    conv,
    resunet_main_path,
    resunet_projections,
    trainable,
)

PAPER = (64, 128, 256, 512)
LITE = (16, 32, 64, 128)


def _paper_main_path() -> int:
    """Table I, main path only (what the paper's 7.8 M counts)."""
    level1 = conv(3, 64, 3) + bn(64) + conv(64, 64, 3)  # conv, BN, ReLU, conv (no pre-act)
    level2 = bn(64) + conv(64, 128, 3) + bn(128) + conv(128, 128, 3)  # stride-2 first conv
    level3 = bn(128) + conv(128, 256, 3) + bn(256) + conv(256, 256, 3)
    bridge = bn(256) + conv(256, 512, 3) + bn(512) + conv(512, 512, 3)
    level5 = bn(512 + 256) + conv(768, 256, 3) + bn(256) + conv(256, 256, 3)
    level6 = bn(256 + 128) + conv(384, 128, 3) + bn(128) + conv(128, 128, 3)
    level7 = bn(128 + 64) + conv(192, 64, 3) + bn(64) + conv(64, 64, 3)
    head = conv(64, 1, 1)
    return level1 + level2 + level3 + bridge + level5 + level6 + level7 + head


# 1x1 projections on the seven units' shortcuts (every unit changes channels or resolution)
_PROJ = [(3, 64), (64, 128), (128, 256), (256, 512), (768, 256), (384, 128), (192, 64)]
# BN channels on the main path: 64 + (64+128) + (128+256) + (256+512) + (768+256)
#                               + (384+128) + (192+64) = 3200 -> 6400 running statistics
_MAIN_BN_CHANNELS = 64 + 192 + 384 + 768 + 1024 + 512 + 256


def test_paper_parameter_counts_match_table_one() -> None:
    main = _paper_main_path()
    assert main == 7_789_313  # summed by hand as well: 38,848 + 221,824 + 886,016
    # + 3,541,504 + 2,361,856 + 591,104 + 148,096 + 65
    assert resunet_main_path(list(PAPER)) == main  # the general form used elsewhere
    assert resunet_projections(list(PAPER)) == _PROJ
    proj = sum(conv(a, b, 1) for a, b in _PROJ)
    proj_bn = sum(bn(b) for _, b in _PROJ)
    assert (proj, proj_bn) == (431_680, 2_816)

    net = ResUNet(filters=PAPER, shortcut="conv_bn")
    assert trainable(net) == main + proj + proj_bn == 8_223_809
    assert trainable(ResUNet(filters=PAPER, shortcut="conv")) == main + proj == 8_220_993

    main_params = sum(p.numel() for name, p in net.named_parameters() if ".shortcut." not in name)
    assert main_params == main
    main_stats = sum(
        b.numel()
        for name, b in net.named_buffers()
        if ".shortcut." not in name and name.endswith(("running_mean", "running_var"))
    )
    assert main_stats == 2 * _MAIN_BN_CHANNELS == 6_400
    # the paper's "7.8 M": Keras' total (trainable + BN moving statistics), main path only
    assert main + main_stats == 7_795_713
    assert bn_running_stats(net) == 6_400 + 2 * sum(b for _, b in _PROJ)


def test_structure_is_pre_activation_with_stride_two_and_no_pooling() -> None:
    net: Any = ResUNet(filters=LITE)  # submodules by attribute: torch types them loosely
    assert not any(isinstance(m, nn.MaxPool2d | nn.AvgPool2d) for m in net.modules())
    # level 1 starts with a conv (not pre-activated); the others with BN -> ReLU -> conv
    assert isinstance(net.encoder[0].body[0], nn.Conv2d)
    for unit in list(net.encoder[1:]) + list(net.decoder):
        assert isinstance(unit.body[0], nn.BatchNorm2d)
        assert isinstance(unit.body[1], nn.ReLU)
    assert [u.body[2].stride for u in net.encoder[1:]] == [(2, 2)] * 3
    assert [u.body[2].stride for u in net.decoder] == [(1, 1)] * 3
    assert len(net.encoder) == 4 and len(net.decoder) == 3  # 3 encoders + bridge, 3 decoders

    sizes: list[int] = []
    hooks = [
        u.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1])) for u in net.encoder
    ]
    net.eval()(torch.zeros(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    assert sizes == [64, 32, 16, 8]


@pytest.mark.parametrize("shortcut", ["conv_bn", "conv"])
def test_forward_shape_and_range(shortcut: str) -> None:
    torch.manual_seed(0)
    net = ResUNet(filters=LITE, shortcut=shortcut).eval()  # type: ignore[arg-type]
    assert net.down_factor == 8
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 1, 64, 64)
    assert torch.isfinite(y).all()
    assert y.std() > 0  # logits vary over the image
    p = torch.sigmoid(y)
    assert ((p > 0) & (p < 1)).all()


def test_width_depth_and_bands_are_configurable() -> None:
    net = ResUNet(in_channels=4, filters=(8, 16, 32, 64, 128)).eval()
    assert net.down_factor == 16
    with torch.no_grad():
        assert net(torch.randn(1, 4, 32, 32)).shape == (1, 1, 32, 32)
    small = ResUNet(filters=(8, 16))
    assert small.down_factor == 2 and len(small.decoder) == 1


def test_every_parameter_gets_a_gradient() -> None:
    net = ResUNet(filters=(8, 16, 32, 64)).train()
    net(torch.randn(2, 3, 32, 32)).mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 levels"):
        ResUNet(filters=(64,))
    with pytest.raises(ValueError, match="shortcut"):
        ResUNet(filters=LITE, shortcut="identity")  # type: ignore[arg-type]
