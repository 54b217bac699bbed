"""Parameter arithmetic for the published layer lists (no model code involved).

A k x k convolution ``cin -> cout`` with bias has ``k*k*cin*cout + cout`` weights (``k**3``
in 3-D); batch normalisation over ``c`` channels has ``2c`` trainable weights (gamma,
beta) and ``2c`` running statistics (mean, var) that Keras reports as non-trainable.
"""

from __future__ import annotations

from torch import nn


def conv(cin: int, cout: int, k: int, bias: bool = True, dims: int = 2) -> int:
    return k**dims * cin * cout + (cout if bias else 0)


def bn(c: int) -> int:
    return 2 * c


def trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def bn_running_stats(model: nn.Module) -> int:
    """Elements of BN running mean + var (what Keras adds as 'non-trainable params')."""
    total = 0
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            assert m.running_var is not None  # tracked together with the mean
            total += m.running_mean.numel() + m.running_var.numel()
    return total


def resunet_main_path(filters: list[int], in_ch: int = 3, out_ch: int = 1) -> int:
    """Zhang et al. Table I generalised to any width/depth: the main path, no shortcuts.

    Level 1: conv3x3, BN, ReLU, conv3x3. Every other unit: BN, ReLU, conv3x3, BN, ReLU,
    conv3x3 (encoder units ``f[i-1] -> f[i]``; decoder units ``f[i+1] + f[i] -> f[i]``).
    """
    total = conv(in_ch, filters[0], 3) + bn(filters[0]) + conv(filters[0], filters[0], 3)
    for cin, c in zip(filters[:-1], filters[1:]):
        total += bn(cin) + conv(cin, c, 3) + bn(c) + conv(c, c, 3)
    for deeper, c in zip(filters[::-1][:-1], filters[::-1][1:]):
        total += bn(deeper + c) + conv(deeper + c, c, 3) + bn(c) + conv(c, c, 3)
    return total + conv(filters[0], out_ch, 1)


def resunet_projections(filters: list[int], in_ch: int = 3) -> list[tuple[int, int]]:
    """(cin, cout) of the 1x1 shortcut projections of the ResUNet layout."""
    enc = [(in_ch, filters[0])] + list(zip(filters[:-1], filters[1:]))
    dec = [(d + c, c) for d, c in zip(filters[::-1][:-1], filters[::-1][1:])]
    return enc + dec
