"""The published ResUNet variants: Keras build_resunet, max-pool ResUNet, res_unet, ResUnet2D.

Expected parameter counts are derived from each published layer list with the
arithmetic of ``param_arith`` (conv k x k with bias: k*k*cin*cout + cout; BN: 2c).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from roadseg.models import (
    DepthResUNet,
    KerasResUNet,
    ResUNet,
    ResUnet2D,
    ResUNetMaxPool,
    build_model,
)
from tests.models.param_arith import (
    bn,
    bn_running_stats,
    conv,
    resunet_main_path,
    resunet_projections,
    trainable,
)

PAPER = [64, 128, 256, 512]
LITE = [16, 32, 64, 128]


def _logits_ok(y: torch.Tensor, shape: tuple[int, ...]) -> None:
    assert y.shape == shape
    assert torch.isfinite(y).all() and y.std() > 0
    p = torch.sigmoid(y)
    assert ((p > 0) & (p < 1)).all()


def _level_sizes(units: nn.ModuleList, net: nn.Module, x: torch.Tensor) -> list[int]:
    sizes: list[int] = []
    hooks = [u.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1])) for u in units]
    with torch.no_grad():
        net.eval()(x)
    for h in hooks:
        h.remove()
    return sizes


# ------------------------------------------------------------------ Keras build_resunet


def test_keras_resunet_parameter_count() -> None:
    # build_resunet: the paper's main path + a 1x1 conv (bias, no BN) on all 7 shortcuts
    main = resunet_main_path(PAPER)  # 7,789,313
    proj = sum(conv(a, b, 1) for a, b in resunet_projections(PAPER))  # 431,680
    net = build_model("resunet_keras", filters="paper")
    assert isinstance(net, KerasResUNet)
    assert trainable(net) == main + proj == 8_220_993
    # Keras' "Total params" adds the 6,400 BN moving mean/var elements
    assert trainable(net) + bn_running_stats(net) == 8_227_393
    lite = build_model("resunet_keras", filters="lite")
    assert trainable(lite) == resunet_main_path(LITE) + sum(
        conv(a, b, 1) for a, b in resunet_projections(LITE)
    )


def test_keras_resunet_projects_every_shortcut_and_matches_resunet_conv() -> None:
    net = KerasResUNet(in_channels=16, filters=LITE)  # in == filters[0]: still projected
    shortcuts = [u.shortcut for u in list(net.encoder) + list(net.decoder)]
    assert all(isinstance(s, nn.Conv2d) and s.kernel_size == (1, 1) for s in shortcuts)
    assert [s.stride for s in shortcuts] == [(1, 1)] + [(2, 2)] * 3 + [(1, 1)] * 3

    torch.manual_seed(0)
    keras = KerasResUNet(filters=LITE).eval()
    ref = ResUNet(filters=LITE, shortcut="conv").eval()
    ref.load_state_dict(keras.state_dict(), strict=True)  # same layers, same names
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = keras(x)
        assert torch.equal(y, ref(x))
    _logits_ok(y, (2, 1, 32, 32))


# ------------------------------------------------------------------ max-pool ResUNet


def test_maxpool_resunet_count_structure_and_forward() -> None:
    # same weights as build_resunet: pooling is weight-free, the 1x1 projections (the fix
    # for the published bare add) see the pooled input instead of striding
    expected = resunet_main_path(PAPER) + sum(conv(a, b, 1) for a, b in resunet_projections(PAPER))
    assert trainable(build_model("resunet_maxpool", filters="paper")) == expected == 8_220_993
    with_bn = ResUNetMaxPool(filters=LITE, shortcut="conv_bn")
    assert trainable(with_bn) == resunet_main_path(LITE) + sum(
        conv(a, b, 1) + bn(b) for a, b in resunet_projections(LITE)
    )

    torch.manual_seed(0)
    net: Any = build_model("resunet_maxpool", filters="lite")
    strided = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.stride != (1, 1)]
    assert strided == [] and net.down_factor == 8
    assert _level_sizes(net.encoder, net, torch.zeros(1, 3, 64, 64)) == [64, 32, 16, 8]
    with torch.no_grad():
        _logits_ok(net(torch.randn(2, 3, 64, 64)), (2, 1, 64, 64))


def test_maxpool_resunet_shortcuts_project_where_channels_change() -> None:
    net: Any = ResUNetMaxPool(filters=LITE)
    for unit in list(net.encoder) + list(net.decoder):
        conv1 = next(m for m in unit.body if isinstance(m, nn.Conv2d))
        assert isinstance(unit.shortcut, nn.Conv2d)  # every unit changes channels here
        assert unit.shortcut.in_channels == conv1.in_channels
        assert unit.shortcut.out_channels == conv1.out_channels


# ------------------------------------------------------------------ res_unet (depth-parametric)


def _res_unet_params(
    root: int, depth: int, in_ch: int, n_class: int, dims: int, bnorm: bool
) -> int:
    """Published layer list of res_unet, per level c = root * 2**i."""
    b = bn if bnorm else (lambda c: 0)
    widths = [root * 2**i for i in range(depth)]
    total, cin = 0, in_ch
    for c in widths:  # Identity 1x1 (no bias), Conv-BN-act, Conv-BN, add, act
        total += conv(cin, c, 1, bias=False, dims=dims)
        total += conv(cin, c, 3, dims=dims) + b(c) + conv(c, c, 3, dims=dims) + b(c)
        cin = c
    for i in range(depth - 2, -1, -1):  # up, 2x2 conv, concat, 2 convs, 1x1 identity
        c = widths[i]
        total += conv(widths[i + 1], c, 2, dims=dims)
        total += conv(2 * c, c, 3, dims=dims) + b(c) + conv(c, c, 3, dims=dims) + b(c)
        total += conv(2 * c, c, 1, bias=False, dims=dims)
    return total + conv(widths[0], n_class, 1, dims=dims)


def test_res_unet_parameter_counts() -> None:
    # 2-D, root 16, depth 4: encoder 2,880 + 14,528 + 57,728 + 230,144,
    # decoder (37c^2 + 7c) 152,000 + 38,112 + 9,584, head 17
    assert _res_unet_params(16, 4, 3, 1, 2, True) == 504_993
    assert trainable(build_model("res_unet", filters="lite")) == 504_993
    assert trainable(build_model("res_unet", filter_root=16, depth=4)) == 504_993
    assert trainable(DepthResUNet(16, 4, batch_norm=False)) == _res_unet_params(
        16, 4, 3, 1, 2, False
    )
    assert trainable(DepthResUNet(8, 3, n_class=2, in_channels=4)) == _res_unet_params(
        8, 3, 4, 2, 2, True
    )
    # 3-D, root 4, depth 3, one band: 568 + 2,672 + 10,592 + 6,392 + 1,612 + 5
    assert _res_unet_params(4, 3, 1, 1, 3, True) == 21_841
    assert trainable(DepthResUNet(4, 3, in_channels=1, dims=3)) == 21_841


def test_res_unet_forward_2d_and_3d() -> None:
    torch.manual_seed(0)
    net = DepthResUNet(filter_root=8, depth=4).eval()
    assert net.down_factor == 8
    with torch.no_grad():
        _logits_ok(net(torch.randn(2, 3, 32, 32)), (2, 1, 32, 32))
    vol = DepthResUNet(filter_root=4, depth=3, in_channels=1, dims=3).eval()
    assert any(isinstance(m, nn.Conv3d) for m in vol.modules())
    assert any(isinstance(m, nn.MaxPool3d) for m in vol.modules())
    assert not any(isinstance(m, nn.Conv2d) for m in vol.modules())
    with torch.no_grad():
        _logits_ok(vol(torch.randn(1, 1, 8, 16, 12)), (1, 1, 8, 16, 12))
    with pytest.raises(ValueError, match="5-D input"):
        vol(torch.randn(1, 1, 16, 16))
    flat = DepthResUNet(filter_root=4, depth=1).eval()  # depth 1: no pooling at all
    assert flat.down_factor == 1
    with torch.no_grad():
        assert flat(torch.randn(1, 3, 7, 5)).shape == (1, 1, 7, 5)


def test_res_unet_final_activation_and_activation_choice() -> None:
    torch.manual_seed(0)
    logits = DepthResUNet(filter_root=4, depth=2).eval()
    sig = DepthResUNet(filter_root=4, depth=2, final_activation="sigmoid").eval()
    sig.load_state_dict(logits.state_dict())
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(sig(x), torch.sigmoid(logits(x)))
        soft = DepthResUNet(4, 2, n_class=2, final_activation="softmax").eval()(x)
    assert soft.shape == (1, 2, 16, 16)
    assert torch.allclose(soft.sum(dim=1), torch.ones(1, 16, 16))
    elu: Any = DepthResUNet(4, 3, activation="elu")
    assert not any(isinstance(m, nn.ReLU) for m in elu.modules())  # up-conv follows it too
    # Keras 'same' for the 2x2 up-conv pads the trailing row and column
    pad = elu.upconv[0][0]
    assert isinstance(pad, nn.ZeroPad2d) and tuple(pad.padding) == (0, 1, 0, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dims": 4}, "dims"),
        ({"depth": 0}, "positive"),
        ({"activation": "mish2"}, "unknown activation"),
        ({"final_activation": "softmax"}, "constant 1"),
        ({"final_activation": "relu"}, "final_activation"),
    ],
)
def test_res_unet_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DepthResUNet(**kwargs)


def test_res_unet_registry_widths() -> None:
    net = build_model("res_unet", filters="paper")
    assert (net.filter_root, net.depth) == (64, 4)
    net = build_model("res_unet", filters=[8, 16, 32])
    assert (net.filter_root, net.depth, net.down_factor) == (8, 3, 4)
    with pytest.raises(ValueError, match="double"):
        build_model("res_unet", filters=[8, 12])
    with pytest.raises(ValueError, match="either"):
        build_model("res_unet", filters="lite", filter_root=8)


# ------------------------------------------------------------------ ResUnet2D


def _resunet2d_params(f: int, in_ch: int = 3, out_ch: int = 1, bnorm: bool = True) -> int:
    b = bn if bnorm else (lambda c: 0)

    def block(cin: int, c: int) -> int:  # BN-ReLU-conv, BN-ReLU-conv + (conv3x3 + BN)
        return b(cin) + conv(cin, c, 3) + b(c) + conv(c, c, 3) + conv(cin, c, 3) + b(c)

    stem = conv(in_ch, f, 3) + b(f) + conv(f, f, 3) + conv(in_ch, f, 3) + b(f)
    encoder = block(f, 2 * f) + block(2 * f, 4 * f) + block(4 * f, 8 * f) + block(8 * f, 16 * f)
    bridge = 2 * (b(16 * f) + conv(16 * f, 16 * f, 3))
    decoder = (
        block(16 * f + 8 * f, 16 * f)
        + block(16 * f + 4 * f, 8 * f)
        + block(8 * f + 2 * f, 4 * f)
        + block(4 * f + f, 2 * f)
    )
    return stem + encoder + bridge + decoder + conv(2 * f, out_ch, 1)


def test_resunet2d_parameter_counts() -> None:
    assert trainable(build_model("resunet2d", filters="paper")) == _resunet2d_params(16)
    assert _resunet2d_params(16) == 6_280_817
    assert trainable(build_model("resunet2d", filters="lite")) == _resunet2d_params(4) == 394_733
    assert trainable(ResUnet2D(8, batch_norm=False)) == _resunet2d_params(8, bnorm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in ResUnet2D(8, batch_norm=False).modules())
    assert trainable(ResUnet2D(8, in_channels=4)) == _resunet2d_params(8, in_ch=4)


def test_resunet2d_structure_and_forward() -> None:
    torch.manual_seed(0)
    net: Any = ResUnet2D(filters=4).eval()
    assert net.down_factor == 16
    assert _level_sizes(net.encoder, net, torch.zeros(1, 3, 32, 32)) == [32, 16, 8, 4, 2]
    for block in net.encoder[1:]:
        sc = block.shortcut
        assert sc[0].kernel_size == (3, 3) and sc[0].stride == (2, 2)
        assert isinstance(sc[1], nn.BatchNorm2d)
    assert net.bridge[2].in_channels == net.bridge[5].out_channels == 64  # 16 x filters
    with torch.no_grad():
        _logits_ok(net(torch.randn(2, 3, 32, 32)), (2, 1, 32, 32))
    with pytest.raises(ValueError, match="down_factor 16"):
        net(torch.zeros(1, 3, 40, 40))
