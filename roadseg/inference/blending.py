"""Blending weights for overlapping tiles.

Every tile's prediction ``p_t`` is accumulated with a weight window ``w_t`` and
the scene's value is the weighted mean over the tiles covering a pixel::

    P(x) = Σ_t w_t(x) · p_t(x) / Σ_t w_t(x)

The window is separable, ``w(r, c) = a(r) · b(c)``, and each 1-D profile is 1
everywhere except inside the ``overlap`` pixels next to a side that does *not*
touch the raster edge, where it ramps up with ``t = (k + 0.5) / overlap``
(``k = 0 .. overlap-1`` counted from that side, so ``0 < t < 1`` and no weight
is ever 0):

* ``mean``   ``f(t) = 1``                       plain average in the overlap (the paper)
* ``linear`` ``f(t) = t``
* ``cosine`` ``f(t) = (1 - cos(π t)) / 2``      (a raised-cosine / Hann half-window)
* ``spline`` ``f(t) = 2 t²`` for ``t < ½``, ``1 - 2 (1 - t)²`` otherwise
  (piecewise quadratic, C¹, as in the "smooth tiled predictions" spline window)

All ramps satisfy ``f(t) + f(1 - t) = 1``, so where two neighbouring tiles
overlap by exactly ``overlap`` pixels their weights sum to 1; where the last
tile was pulled back (a larger overlap) the division by ``Σ w`` still gives a
proper weighted mean. Sides on the raster edge keep weight 1: the edge pixels
are seen by one tile only and must come out valid.

Example:
    >>> import numpy as np
    >>> ramp(4, BlendMode.LINEAR)
    array([0.125, 0.375, 0.625, 0.875], dtype=float32)
    >>> w = weight_window(8, 2, "cosine", edges=(True, False, True, False))
    >>> float(w[0, 0]), float(w[-1, -1]) < 0.2
    (1.0, True)
"""

from __future__ import annotations

import functools
from enum import Enum

import numpy as np


class BlendMode(str, Enum):
    """How overlapping tile predictions are combined (see the module docstring)."""

    MEAN = "mean"
    LINEAR = "linear"
    COSINE = "cosine"
    SPLINE = "spline"

    @classmethod
    def parse(cls, value: BlendMode | str) -> BlendMode:
        """``BlendMode`` from its name; ``ValueError`` listing the valid names otherwise."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            names = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown blend mode {value!r}; expected one of {names}") from None


#: The blending of overlapping tiles unless asked otherwise (``mean`` is the paper's; the
#: cosine ramp removes its seams, see the module docstring).
DEFAULT_BLEND = BlendMode.COSINE


def ramp(overlap: int, mode: BlendMode | str) -> np.ndarray:
    """The rising part of the 1-D profile: ``f((k + 0.5) / overlap)``, ``k = 0..overlap-1``."""
    mode = BlendMode.parse(mode)
    if overlap <= 0:
        return np.ones(0, dtype=np.float32)
    t = (np.arange(overlap, dtype=np.float64) + 0.5) / overlap
    if mode is BlendMode.MEAN:
        f = np.ones_like(t)
    elif mode is BlendMode.LINEAR:
        f = t
    elif mode is BlendMode.COSINE:
        f = 0.5 - 0.5 * np.cos(np.pi * t)
    else:  # SPLINE
        f = np.where(t < 0.5, 2.0 * t**2, 1.0 - 2.0 * (1.0 - t) ** 2)
    return f.astype(np.float32)


def profile(
    tile: int, overlap: int, mode: BlendMode | str, start_edge: bool, end_edge: bool
) -> np.ndarray:
    """1-D weights along one tile side: ramps inside the overlap, none on raster edges."""
    if 2 * overlap > tile:
        raise ValueError(f"overlap {overlap} is more than half the tile {tile}")
    p = np.ones(tile, dtype=np.float32)
    r = ramp(overlap, mode)
    if overlap and not start_edge:
        p[:overlap] = r
    if overlap and not end_edge:
        p[tile - overlap :] = r[::-1]
    return p


@functools.lru_cache(maxsize=64)
def _window(
    tile: int, overlap: int, mode: BlendMode, edges: tuple[bool, bool, bool, bool]
) -> np.ndarray:
    top, bottom, left, right = edges
    w = np.outer(
        profile(tile, overlap, mode, top, bottom), profile(tile, overlap, mode, left, right)
    )
    w.setflags(write=False)  # shared through the cache
    return w


def weight_window(
    tile: int,
    overlap: int,
    mode: BlendMode | str,
    edges: tuple[bool, bool, bool, bool] = (False, False, False, False),
) -> np.ndarray:
    """``tile x tile`` float32 weights, tapered only on sides not in ``edges``.

    Args:
        tile: tile side in pixels.
        overlap: taper width in pixels (``0 <= overlap <= tile // 2``).
        mode: a :class:`BlendMode` or its name.
        edges: ``(top, bottom, left, right)``; ``True`` means that side lies on
            the raster edge and keeps weight 1.

    The returned array is read-only (cached); all values are in ``(0, 1]``.
    """
    return _window(int(tile), int(overlap), BlendMode.parse(mode), tuple(bool(e) for e in edges))
