"""The deep residual U-Net of Zhang, Liu & Wang (IEEE GRSL 2018), Table I and Fig. 2.

Layout for the paper's width ``filters = (64, 128, 256, 512)`` and ``depth = 3``::

    level 1  encoder  unit(3   -> 64,  stride 1)   first unit: conv-BN-ReLU-conv (+ shortcut)
    level 2  encoder  unit(64  -> 128, stride 2)   pre-activation: BN-ReLU-conv, BN-ReLU-conv
    level 3  encoder  unit(128 -> 256, stride 2)
    level 4  bridge   unit(256 -> 512, stride 2)
    level 5  decoder  up x2, concat level 3, unit(512+256 -> 256)
    level 6  decoder  up x2, concat level 2, unit(256+128 -> 128)
    level 7  decoder  up x2, concat level 1, unit(128+64  -> 64)
    output   1x1 conv (64 -> 1); the paper's sigmoid is applied by the caller

Down-sampling is the stride-2 first convolution of levels 2-4; there is no pooling.

Shortcut projections (the paper is silent on them): wherever the shortcut changes
the channel count or the resolution -- every unit of the paper's layout, since each
one changes one or the other -- the shortcut is a 1x1 convolution with the unit's
stride, followed by batch normalisation (``shortcut="conv_bn"``, as in the Kaggle
``ResUNet()``; the widely copied Keras ``build_resunet`` has no BN there and is the
registry's ``resunet_keras``); ``shortcut="conv"`` drops that BN.  A unit whose input and
output shapes agree uses the identity.

Parameter count at the paper's width (see ``tests/models/test_resunet.py``):

* main path only, trainable: 7,789,313; plus the 6,400 BN running statistics that
  Keras counts as "non-trainable" = **7,795,713**, the paper's "7.8 M" (its count
  leaves the shortcut projections out);
* with ``shortcut="conv_bn"``: 8,223,809 trainable (the projections add 434,496).

The forward pass returns **logits**; ``torch.sigmoid`` gives the paper's output.
Training on logits (``BCEWithLogits``) is numerically safer than on probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from roadseg.models.shapes import check_spatial

ShortcutKind = Literal["conv_bn", "conv"]


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=True)


def _shortcut(cin: int, cout: int, stride: int, kind: ShortcutKind) -> nn.Module:
    if cin == cout and stride == 1:
        return nn.Identity()
    proj = nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=True)
    if kind == "conv_bn":
        return nn.Sequential(proj, nn.BatchNorm2d(cout))
    if kind == "conv":
        return proj
    raise ValueError(f"shortcut must be 'conv_bn' or 'conv', got {kind!r}")


class FirstResidualUnit(nn.Module):
    """Level-1 unit, not pre-activated: ``conv -> BN -> ReLU -> conv`` plus shortcut."""

    def __init__(self, cin: int, cout: int, shortcut: ShortcutKind = "conv_bn") -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv3x3(cin, cout), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), _conv3x3(cout, cout)
        )
        self.shortcut = _shortcut(cin, cout, 1, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class PreActResidualUnit(nn.Module):
    """Full pre-activation unit (He et al. 2016): ``(BN -> ReLU -> conv) x 2`` plus shortcut."""

    def __init__(
        self, cin: int, cout: int, stride: int = 1, shortcut: ShortcutKind = "conv_bn"
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.ReLU(inplace=False),
            _conv3x3(cin, cout, stride),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            _conv3x3(cout, cout),
        )
        self.shortcut = _shortcut(cin, cout, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class ResUNet(nn.Module):
    """Paper-exact ResUNet with configurable width and depth.

    Args:
        in_channels: input bands (3 for RGB).
        filters: channels per level, encoder first; the last entry is the bridge.
            ``(64, 128, 256, 512)`` is the paper; ``(16, 32, 64, 128)`` is ``lite``.
        shortcut: projection used where a unit changes shape (see module docstring).
        out_channels: output maps (1 for roads).

    The input height and width must be multiples of ``2 ** (len(filters) - 1)``
    (8 for the paper's depth); the tiled predictor guarantees it with 224 px tiles.

    Example:
        >>> import torch
        >>> net = ResUNet(filters=(16, 32, 64, 128))
        >>> net(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 1, 64, 64])
    """

    def __init__(
        self,
        in_channels: int = 3,
        filters: Sequence[int] = (64, 128, 256, 512),
        shortcut: ShortcutKind = "conv_bn",
        out_channels: int = 1,
    ) -> None:
        super().__init__()
        filters = [int(f) for f in filters]
        if len(filters) < 2:
            raise ValueError(f"filters needs at least 2 levels (encoder + bridge), got {filters}")
        self.filters = filters
        self.down_factor = 2 ** (len(filters) - 1)
        self.encoder = nn.ModuleList([FirstResidualUnit(in_channels, filters[0], shortcut)])
        for cin, cout in zip(filters[:-1], filters[1:]):
            # the last of these is the bridge
            self.encoder.append(PreActResidualUnit(cin, cout, stride=2, shortcut=shortcut))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.decoder = nn.ModuleList()
        for deeper, skip in zip(filters[::-1][:-1], filters[::-1][1:]):
            self.decoder.append(PreActResidualUnit(deeper + skip, skip, 1, shortcut))
        self.head = nn.Conv2d(filters[0], out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spatial(x, self.down_factor)
        skips: list[torch.Tensor] = []
        for unit in self.encoder:
            x = unit(x)
            skips.append(x)
        x = skips.pop()  # bridge output
        for unit in self.decoder:
            x = unit(torch.cat([self.up(x), skips.pop()], dim=1))
        return self.head(x)
