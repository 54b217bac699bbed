"""The ResUNet variants in circulation, each as a PyTorch model returning logits.

All of them return **logits** ``(N, out, H, W)`` (or ``(N, out, D, H, W)`` for the 3-D
``res_unet``): the published networks end in a sigmoid (or softmax), which the caller
applies as ``torch.sigmoid``; training uses ``BCEWithLogits``, numerically safer than a
sigmoid inside the model. Each model exposes ``down_factor``: the input's spatial sizes
must be multiples of it.

Models (registry names in brackets):

* :class:`KerasResUNet` (``resunet_keras``): the widely copied Keras ``build_resunet``:
  the paper's layout (3 encoder units, bridge, 3 decoder units, pre-activation, stride-2
  downsampling) with a 1x1 convolution (with bias, no BN) on *every* shortcut, the
  first unit's included.
* :class:`ResUNetMaxPool` (``resunet_maxpool``): the paper's residual units with 2x2
  max-pooling between them instead of stride-2 convolutions. The published Keras
  version adds the block input to its output unchanged, which fails with a shape error
  wherever a unit changes the channel count (every unit of the ResUNet layout);
  **fixed** with a 1x1 convolution projection on such shortcuts (identity elsewhere).
* :class:`DepthResUNet` (``res_unet``): the depth-parametric Keras
  ``res_unet(filter_root, depth, n_class, input_size, activation, batch_norm,
  final_activation)``, in 2-D or 3-D (``dims=3``: Conv3d / MaxPool3d / Upsample on
  ``(N, C, D, H, W)`` volumes).
* :class:`ResUnet2D` (``resunet2d``): five encoder levels (a stem, then four residual
  blocks that downsample with stride-2 3x3 convolutions), 3x3 conv + BN shortcuts, a
  two-convolution bridge at 16x ``filters``, four decoder levels; BN switchable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from roadseg.models.resunet import FirstResidualUnit, PreActResidualUnit, ResUNet, ShortcutKind
from roadseg.models.shapes import check_spatial

# --------------------------------------------------------------------------- Keras build_resunet


class KerasResUNet(ResUNet):
    """The Keras ``build_resunet``: the paper's ResUNet with a 1x1 conv on every shortcut.

    Published layout (``filters = (64, 128, 256, 512)``)::

        s1 = conv3x3(64) -> BN -> ReLU -> conv3x3(64)  +  conv1x1(64)(input)
        s2 = residual_block(s1, 128, strides=2)      # BN-ReLU-conv, BN-ReLU-conv + conv1x1
        s3 = residual_block(s2, 256, strides=2)
        b  = residual_block(s3, 512, strides=2)      # bridge
        decoder_block(b, s3, 256), (., s2, 128), (., s1, 64)   # up x2, concat, block
        conv1x1(1), sigmoid

    This equals ``ResUNet(shortcut="conv")`` except that the first unit's shortcut stays a
    1x1 convolution even when ``in_channels == filters[0]`` (the Keras code always
    projects). Trainable parameters at the published width: 8,220,993 (the paper's main
    path 7,789,313 plus 431,680 in the seven projections); Keras' "total params" adds
    6,400 BN moving statistics: 8,227,393.
    """

    def __init__(
        self,
        in_channels: int = 3,
        filters: Sequence[int] = (64, 128, 256, 512),
        out_channels: int = 1,
    ) -> None:
        super().__init__(
            in_channels=in_channels, filters=filters, shortcut="conv", out_channels=out_channels
        )
        first = self.encoder[0]
        if isinstance(first.shortcut, nn.Identity):
            first.shortcut = nn.Conv2d(in_channels, self.filters[0], kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spatial(x, self.down_factor)
        return super().forward(x)


# --------------------------------------------------------------------------- max-pool ResUNet


class ResUNetMaxPool(nn.Module):
    """The paper's residual units with 2x2 max-pooling between them.

    Layout for ``filters = (64, 128, 256, 512)``::

        level 1  first unit (conv-BN-ReLU-conv) in -> 64          (skip 1)
        level 2  maxpool 2x2, pre-activation unit 64 -> 128       (skip 2)
        level 3  maxpool 2x2, pre-activation unit 128 -> 256      (skip 3)
        bridge   maxpool 2x2, pre-activation unit 256 -> 512
        decoder  up x2 (nearest), concat skip, pre-activation unit -> 256, 128, 64
        output   conv1x1 64 -> out_channels (logits)

    Every unit here changes the channel count, so every shortcut is a projection: a 1x1
    convolution (``shortcut="conv"``, default) or 1x1 conv + BN (``"conv_bn"``); the
    published code's bare ``add([x, shortcut])`` cannot run there (fix, see module
    docstring). Trainable parameters at the published width: 8,220,993 (as
    ``resunet_keras``: pooling has no weights and the 1x1 shortcuts see the pooled input
    instead of striding).
    """

    def __init__(
        self,
        in_channels: int = 3,
        filters: Sequence[int] = (64, 128, 256, 512),
        out_channels: int = 1,
        shortcut: ShortcutKind = "conv",
    ) -> None:
        super().__init__()
        filters = [int(f) for f in filters]
        if len(filters) < 2 or min(filters) < 1:
            raise ValueError(f"filters needs at least 2 positive levels, got {filters}")
        if shortcut not in ("conv", "conv_bn"):
            raise ValueError(f"shortcut must be 'conv' or 'conv_bn', got {shortcut!r}")
        self.filters = filters
        self.down_factor = 2 ** (len(filters) - 1)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.encoder = nn.ModuleList([FirstResidualUnit(in_channels, filters[0], shortcut)])
        for cin, cout in zip(filters[:-1], filters[1:]):
            self.encoder.append(PreActResidualUnit(cin, cout, stride=1, shortcut=shortcut))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.decoder = nn.ModuleList(
            PreActResidualUnit(deeper + skip, skip, 1, shortcut)
            for deeper, skip in zip(filters[::-1][:-1], filters[::-1][1:])
        )
        self.head = nn.Conv2d(filters[0], out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spatial(x, self.down_factor)
        skips: list[torch.Tensor] = []
        for i, unit in enumerate(self.encoder):
            x = unit(self.pool(x) if i else x)
            skips.append(x)
        x = skips.pop()
        for unit in self.decoder:
            x = unit(torch.cat([self.up(x), skips.pop()], dim=1))
        return self.head(x)


# --------------------------------------------------------------------------- depth-parametric


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    # tf.nn.leaky_relu's default slope
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
}


def _activation(name: str) -> nn.Module:
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {', '.join(sorted(_ACTIVATIONS))}"
        ) from None


class _DepthLevel(nn.Module):
    """``act(identity1x1(x) + BN(conv3x3(act(BN(conv3x3(x))))))``: one res_unet block."""

    def __init__(
        self,
        conv: type[nn.Module],
        bn: type[nn.Module],
        cin: int,
        cout: int,
        activation: str,
        batch_norm: bool,
    ) -> None:
        super().__init__()
        self.identity = conv(cin, cout, kernel_size=1, bias=False)
        self.conv1 = conv(cin, cout, kernel_size=3, padding=1)
        self.bn1 = bn(cout) if batch_norm else nn.Identity()
        self.act1 = _activation(activation)
        self.conv2 = conv(cout, cout, kernel_size=3, padding=1)
        self.bn2 = bn(cout) if batch_norm else nn.Identity()
        self.act2 = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(self.identity(x) + y)


class DepthResUNet(nn.Module):
    """The depth-parametric Keras ``res_unet``, 2-D or 3-D.

    Per encoder level ``i = 0 .. depth-1`` with ``c_i = filter_root * 2**i`` channels::

        res  = conv1x1(c_i, bias=False)(x)                    # "Identity" conv
        y    = act(BN(conv3x3(c_i)(x)));  y = BN(conv3x3(c_i)(y))
        x    = act(res + y);  max-pool 2 (all levels but the last)

    Per decoder level ``i = depth-2 .. 0``::

        u    = conv2x2(c_i, padding same)(upsample x2(x)), activation
        cat  = concat(u, skip_i)
        y    = act(BN(conv3x3(c_i)(cat)));  y = BN(conv3x3(c_i)(y))
        x    = act(conv1x1(c_i, bias=False)(cat) + y)

    Output: conv1x1 ``c_0 -> n_class``, then ``final_activation``.

    Args:
        filter_root: channels of the first level.
        depth: levels, including the bottom one (``depth - 1`` poolings, so
            ``down_factor = 2 ** (depth - 1)``; the published docstring's "multiple of
            2^depth" is stricter than needed).
        n_class: output channels (1 for roads; the published default is 2 with softmax).
        in_channels: input bands.
        activation: activation name (relu, elu, selu, gelu, silu/swish, tanh, sigmoid,
            leaky_relu).
        batch_norm: BN after each 3x3 convolution.
        final_activation: ``None`` (default: return logits, for training with
            ``BCEWithLogits``; apply ``torch.sigmoid`` to get the published output),
            ``"sigmoid"`` or ``"softmax"`` (over channels; refused for one channel, where
            it is identically 1).
        dims: 2 for images ``(N, C, H, W)``, 3 for volumes ``(N, C, D, H, W)``
            (the published code picks Conv3D when ``input_size`` has four entries).

    Fixes to the published code: the 2x2 up-convolution and the first decoder 3x3
    convolution share the layer name ``upConv{i}_1``, so Keras refuses to build any model
    with ``depth >= 2`` (names are distinct module attributes here); the 2x2
    up-convolution hard-codes ``activation='relu'`` whatever ``activation`` says (it
    follows ``activation`` here; identical for the default ``relu``); softmax over a
    single output channel is refused instead of silently giving a constant 1.
    Keras' ``padding='same'`` 2x2 convolution pads one row/column at the bottom/right
    (and one trailing slice in 3-D); the explicit zero padding here does the same.
    """

    def __init__(
        self,
        filter_root: int = 16,
        depth: int = 4,
        n_class: int = 1,
        in_channels: int = 3,
        activation: str = "relu",
        batch_norm: bool = True,
        final_activation: str | None = None,
        dims: int = 2,
    ) -> None:
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims!r}")
        if int(depth) < 1 or int(filter_root) < 1 or int(n_class) < 1 or int(in_channels) < 1:
            raise ValueError(
                f"depth, filter_root, n_class and in_channels must be positive, got "
                f"depth={depth}, filter_root={filter_root}, n_class={n_class}, "
                f"in_channels={in_channels}"
            )
        if final_activation not in (None, "sigmoid", "softmax"):
            raise ValueError(
                f"final_activation must be None, 'sigmoid' or 'softmax', got {final_activation!r}"
            )
        if final_activation == "softmax" and n_class == 1:
            raise ValueError(
                "final_activation='softmax' over n_class=1 is constant 1; use 'sigmoid'"
            )
        _activation(activation)  # validate early
        conv: type[nn.Module] = nn.Conv2d if dims == 2 else nn.Conv3d
        bn: type[nn.Module] = nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d
        pool: type[nn.Module] = nn.MaxPool2d if dims == 2 else nn.MaxPool3d
        self.dims = dims
        self.filter_root = int(filter_root)
        self.depth = int(depth)
        self.down_factor = 2 ** (self.depth - 1)
        widths = [self.filter_root * 2**i for i in range(self.depth)]
        self.down = nn.ModuleList()
        cin = int(in_channels)
        for c in widths:
            self.down.append(_DepthLevel(conv, bn, cin, c, activation, batch_norm))
            cin = c
        self.pool = pool(kernel_size=2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.upconv = nn.ModuleList()
        self.upact = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in range(self.depth - 2, -1, -1):
            c = widths[i]
            # Keras 'same' for an even kernel pads one trailing row/column (and slice)
            pad = nn.ZeroPad2d((0, 1, 0, 1)) if dims == 2 else nn.ZeroPad3d((0, 1) * 3)
            self.upconv.append(nn.Sequential(pad, conv(widths[i + 1], c, kernel_size=2)))
            self.upact.append(_activation(activation))
            self.up.append(_DepthLevel(conv, bn, 2 * c, c, activation, batch_norm))
        self.head = conv(widths[0], int(n_class), kernel_size=1)
        self.final_activation = final_activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spatial(x, self.down_factor, self.dims)
        skips: list[torch.Tensor] = []
        for i, level in enumerate(self.down):
            x = level(self.pool(x) if i else x)
            skips.append(x)
        x = skips.pop()
        for upconv, upact, level in zip(self.upconv, self.upact, self.up):
            u = upact(upconv(self.upsample(x)))
            x = level(torch.cat([u, skips.pop()], dim=1))
        x = self.head(x)
        if self.final_activation == "sigmoid":
            return torch.sigmoid(x)
        if self.final_activation == "softmax":
            return torch.softmax(x, dim=1)
        return x


# --------------------------------------------------------------------------- ResUnet2D


def _bn(c: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(c) if batch_norm else nn.Identity()


class _Stem(nn.Module):
    """``conv3x3 -> BN -> ReLU -> conv3x3`` plus a ``conv3x3 -> BN`` shortcut."""

    def __init__(self, cin: int, cout: int, batch_norm: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            _bn(cout, batch_norm),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), _bn(cout, batch_norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class _ResBlock(nn.Module):
    """``(BN -> ReLU -> conv3x3) x 2`` (first conv strided) plus ``conv3x3 -> BN`` shortcut."""

    def __init__(self, cin: int, cout: int, stride: int, batch_norm: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _bn(cin, batch_norm),
            nn.ReLU(inplace=False),
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
            _bn(cout, batch_norm),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1), _bn(cout, batch_norm)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class ResUnet2D(nn.Module):
    """Five-level residual U-Net with 3x3 conv + BN shortcuts.

    Layout (``f = filters``; the published default is 16)::

        e1  stem           in -> f                                  (full resolution)
        e2  res block      f  -> 2f,  stride 2                      (1/2)
        e3  res block      2f -> 4f,  stride 2                      (1/4)
        e4  res block      4f -> 8f,  stride 2                      (1/8)
        e5  res block      8f -> 16f, stride 2                      (1/16)
        bridge  (BN -> ReLU -> conv3x3 16f) x 2
        d1  up x2, concat e4, res block 16f + 8f -> 16f
        d2  up x2, concat e3, res block 16f + 4f -> 8f
        d3  up x2, concat e2, res block 8f + 2f  -> 4f
        d4  up x2, concat e1, res block 4f + f   -> 2f
        output conv1x1 2f -> out_channels (logits; the published sigmoid is the caller's)

    Residual blocks are pre-activation (``BN -> ReLU -> conv``); each shortcut is a 3x3
    convolution (with the block's stride) followed by BN. ``batch_norm=False`` removes
    every BN (main paths and shortcuts). ``down_factor = 16``.

    "Five downsampling levels" is read as five encoder levels of which four halve the
    resolution: that is what four decoder levels can bring back to the input size.
    Registry widths: ``filters="paper"`` is the published 16 (a 256-channel bridge,
    about 6.3 M parameters), ``"lite"`` a quarter of it, 4 (about 0.4 M), matching the
    other models' lite/paper ratio.
    """

    def __init__(
        self,
        filters: int = 16,
        in_channels: int = 3,
        out_channels: int = 1,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        f = int(filters)
        if f < 1 or in_channels < 1 or out_channels < 1:
            raise ValueError(
                f"filters, in_channels and out_channels must be positive, got {filters}, "
                f"{in_channels}, {out_channels}"
            )
        self.filters = f
        self.down_factor = 16
        widths = [f, 2 * f, 4 * f, 8 * f, 16 * f]
        self.encoder = nn.ModuleList([_Stem(in_channels, f, batch_norm)])
        for cin, cout in zip(widths[:-1], widths[1:]):
            self.encoder.append(_ResBlock(cin, cout, 2, batch_norm))
        b = widths[-1]
        self.bridge = nn.Sequential(
            _bn(b, batch_norm),
            nn.ReLU(inplace=False),
            nn.Conv2d(b, b, 3, padding=1),
            _bn(b, batch_norm),
            nn.ReLU(inplace=True),
            nn.Conv2d(b, b, 3, padding=1),
        )
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.decoder = nn.ModuleList()
        deeper = b
        for skip, out in zip(widths[3::-1], (16 * f, 8 * f, 4 * f, 2 * f)):
            self.decoder.append(_ResBlock(deeper + skip, out, 1, batch_norm))
            deeper = out
        self.head = nn.Conv2d(2 * f, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spatial(x, self.down_factor)
        skips: list[torch.Tensor] = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        x = self.bridge(skips.pop())
        for block in self.decoder:
            x = block(torch.cat([self.up(x), skips.pop()], dim=1))
        return self.head(x)
