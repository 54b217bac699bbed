"""The classic U-Net (Ronneberger, Fischer & Brox, MICCAI 2015), the ResUNet paper's baseline.

Layout for the published width ``filters = (64, 128, 256, 512, 1024)``::

    level 1  [conv3x3 -> ReLU] x 2          in  -> 64      (skip 1)
             maxpool 2x2
    level 2  [conv3x3 -> ReLU] x 2          64  -> 128     (skip 2)
             maxpool 2x2
    level 3  [conv3x3 -> ReLU] x 2          128 -> 256     (skip 3)
             maxpool 2x2
    level 4  [conv3x3 -> ReLU] x 2          256 -> 512     (skip 4)
             maxpool 2x2
    bottom   [conv3x3 -> ReLU] x 2          512 -> 1024, dropout ("at the end of the
                                                            contracting path")
    up 4     up-conv 2x2 (stride 2) 1024 -> 512, concat skip 4, [conv3x3 -> ReLU] x 2 -> 512
    up 3     up-conv 2x2 512 -> 256,  concat skip 3, [conv3x3 -> ReLU] x 2 -> 256
    up 2     up-conv 2x2 256 -> 128,  concat skip 2, [conv3x3 -> ReLU] x 2 -> 128
    up 1     up-conv 2x2 128 -> 64,   concat skip 1, [conv3x3 -> ReLU] x 2 -> 64
    output   conv1x1 64 -> out_channels

Deviations from the published network, each deliberate:

* **Padded convolutions.** The original uses *valid* (unpadded) 3x3 convolutions, so a
  572x572 input gives a 388x388 output and the skips are centre-cropped before
  concatenation. Here every 3x3 convolution has ``padding=1``: the output has the
  input's size, no cropping is needed, and the tiled predictor can treat every model
  alike. The parameter count is unchanged (padding has no weights).
* **One logit, no softmax.** The original ends in a 2-class softmax; a road mask needs
  one channel, so the head is ``64 -> 1`` and returns **logits**. The caller applies
  ``torch.sigmoid`` (the 2-class softmax over (background, road) equals a sigmoid of
  the logit difference).
* ``batch_norm=True`` inserts BN after every 3x3 convolution (off by default: the 2015
  network predates BN). Dropout: the paper names dropout "at the end of the contracting
  path" without a rate; 0.5 is the rate of the widely copied Keras port (which also
  drops the level-4 output; here only the bottom level, as the paper's words say).

Parameters at the published width with one output: **31,031,745**, i.e. the well-known
31,031,810 of the 2-class original minus one output channel (64 weights + 1 bias);
see ``tests/models/test_unet.py`` for the level-by-level sum.

Example:
    >>> import torch
    >>> net = UNet(filters=(8, 16, 32, 64, 128))
    >>> net(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 1, 32, 32])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from roadseg.models.shapes import check_spatial


def _double_conv(cin: int, cout: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((cin, cout), (cout, cout)):
        layers.append(nn.Conv2d(a, b, kernel_size=3, padding=1, bias=True))
        if batch_norm:
            layers.append(nn.BatchNorm2d(b))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """Classic U-Net with padded convolutions, returning logits.

    Args:
        in_channels: input bands.
        filters: channels per level, the last entry is the bottom level;
            ``(64, 128, 256, 512, 1024)`` is the paper.
        out_channels: output maps (1 for roads).
        batch_norm: add BN after every 3x3 convolution (not in the original).
        dropout: dropout rate at the end of the contracting path (0 disables it).

    ``down_factor = 2 ** (len(filters) - 1)`` (16 for the paper): input H and W must be
    multiples of it.
    """

    def __init__(
        self,
        in_channels: int = 3,
        filters: Sequence[int] = (64, 128, 256, 512, 1024),
        out_channels: int = 1,
        batch_norm: bool = False,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        filters = [int(f) for f in filters]
        if len(filters) < 2 or min(filters) < 1:
            raise ValueError(f"filters needs at least 2 positive levels, got {filters}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if in_channels < 1 or out_channels < 1:
            raise ValueError("in_channels and out_channels must be positive")
        self.filters = filters
        self.down_factor = 2 ** (len(filters) - 1)
        self.down = nn.ModuleList()
        cin = in_channels
        for f in filters:
            self.down.append(_double_conv(cin, f, batch_norm))
            cin = f
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.upconv = nn.ModuleList()
        self.up = nn.ModuleList()
        for deeper, skip in zip(filters[::-1][:-1], filters[::-1][1:]):
            # the 2x2 "up-convolution that halves the number of feature channels"
            self.upconv.append(nn.ConvTranspose2d(deeper, skip, kernel_size=2, stride=2))
            self.up.append(_double_conv(2 * skip, skip, batch_norm))
        self.head = nn.Conv2d(filters[0], out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spatial(x, self.down_factor)
        skips: list[torch.Tensor] = []
        for i, block in enumerate(self.down):
            if i:
                x = self.pool(x)
            x = block(x)
            skips.append(x)
        x = self.dropout(skips.pop())
        for upconv, block in zip(self.upconv, self.up):
            x = block(torch.cat([skips.pop(), upconv(x)], dim=1))
        return self.head(x)
