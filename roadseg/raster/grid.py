"""Tile geometry: where the square model tiles sit on a raster (no I/O here).

The grid follows the paper (224 px tiles, 14 px overlap) and keeps every tile
full size:

* along an axis of length ``L`` the tiles start at ``0, s, 2s, ...`` with the
  stride ``s = tile - overlap``, as long as the tile still fits, and the last
  tile is *pulled back* to start at ``L - tile`` so that it ends on the raster
  edge (its overlap with the previous tile is then larger than ``overlap``);
* an axis shorter than ``tile`` gets one tile: the raster is padded (reflect)
  up to ``tile`` on the far side, and the result is cropped back
  (:func:`pad_to_tile`, :func:`crop_to`).

Each :class:`TileWindow` records which of its sides touch the raster edge, so
that blending never tapers there (edge pixels are covered by one tile only and
must keep a full weight).

Example:
    >>> tile_starts(500, 224, 14)
    [0, 210, 276]
    >>> grid = TileGrid(height=100, width=500, tile=224, overlap=14)
    >>> [(w.row_off, w.col_off) for w in grid.windows()]
    [(0, 0), (0, 210), (0, 276)]
    >>> grid.padded_shape
    (224, 500)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


def check_tile_overlap(tile: int, overlap: int) -> None:
    """Raise ``ValueError`` unless ``tile >= 1`` and ``0 <= overlap <= tile // 2``.

    Two tapers of ``overlap`` pixels must fit in one tile (left and right), so
    the overlap may be at most half the tile.
    """
    if int(tile) != tile or tile < 1:
        raise ValueError(f"tile must be a positive whole number of pixels, got {tile!r}")
    if int(overlap) != overlap or overlap < 0 or 2 * overlap > tile:
        raise ValueError(
            f"overlap must be a whole number of pixels in 0..{tile // 2} (half the "
            f"{tile} px tile), got {overlap!r}"
        )


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of full-size tiles covering ``[0, length)`` along one axis.

    The stride is ``tile - overlap``; the last start is pulled back to
    ``length - tile``. An axis shorter than ``tile`` yields ``[0]`` (the caller
    pads it, see :func:`pad_to_tile`).

    Example:
        >>> tile_starts(224, 224, 14), tile_starts(435, 224, 14), tile_starts(10, 224, 14)
        ([0], [0, 210, 211], [0])
    """
    check_tile_overlap(tile, overlap)
    if length < 1:
        raise ValueError(f"length must be at least 1 pixel, got {length}")
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)  # pulled back: the last tile ends on the edge
    return starts


def lattice_window(start: int, stop: int, length: int, tile: int, overlap: int) -> tuple[int, int]:
    """The part of ``[0, length)`` whose own tiles are the tiles of ``[0, length)`` over
    ``[start, stop)``.

    Predicting the returned window ``[a, b)`` alone lays tiles at ``tile_starts(b - a)
    + a``: exactly the tiles that :func:`tile_starts` lays on the whole axis and that
    intersect ``[start, stop)``. Every pixel of ``[start, stop)`` is then covered by the
    same tiles, with the same blending weights, as when the whole axis is predicted
    (the window's own edges lie at least ``overlap`` pixels beyond ``[start, stop)``,
    outside every taper that reaches into it). Many scenes cut from one grid are
    predicted this way with their neighbours' pixels around them, so that their
    probabilities are those of the mosaic they were cut from.

    Example:
        >>> tile_starts(1000, 224, 14)
        [0, 210, 420, 630, 776]
        >>> lattice_window(300, 500, 1000, 224, 14)  # tiles 210 and 420
        (210, 644)
        >>> lattice_window(700, 1000, 1000, 224, 14)  # tiles 630 and 776 (pulled back)
        (630, 1000)
    """
    if not 0 <= start < stop <= length:
        raise ValueError(f"need 0 <= start < stop <= length, got {start}, {stop}, {length}")
    starts = tile_starts(length, tile, overlap)
    hit = [s for s in starts if s < stop and s + tile > start]
    return hit[0], min(length, max(s + tile for s in hit))


@dataclass(frozen=True)
class TileWindow:
    """One tile: its offset on the (padded) grid and the raster edges it touches.

    Attributes:
        row_off, col_off: top-left pixel of the tile.
        size: tile side in pixels (tiles are square).
        row_index, col_index: position of the tile in the grid.
        top, bottom, left, right: whether that side lies on the raster edge.
    """

    row_off: int
    col_off: int
    size: int
    row_index: int
    col_index: int
    top: bool
    bottom: bool
    left: bool
    right: bool

    @property
    def edges(self) -> tuple[bool, bool, bool, bool]:
        """``(top, bottom, left, right)``: sides on the raster edge (never tapered)."""
        return (self.top, self.bottom, self.left, self.right)

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices of the tile in grid coordinates."""
        return (
            slice(self.row_off, self.row_off + self.size),
            slice(self.col_off, self.col_off + self.size),
        )


@dataclass(frozen=True)
class TileGrid:
    """Full-size square tiles with overlap over a ``height x width`` raster.

    ``padded_shape`` is the raster size after reflect-padding axes shorter
    than one tile; tile offsets refer to that padded raster (identical to the
    raster itself when both sides are at least ``tile``).
    """

    height: int
    width: int
    tile: int
    overlap: int

    def __post_init__(self) -> None:
        check_tile_overlap(self.tile, self.overlap)
        if self.height < 1 or self.width < 1:
            raise ValueError(f"raster must be at least 1x1, got {self.height}x{self.width}")

    @property
    def row_starts(self) -> list[int]:
        return tile_starts(self.height, self.tile, self.overlap)

    @property
    def col_starts(self) -> list[int]:
        return tile_starts(self.width, self.tile, self.overlap)

    @property
    def padded_shape(self) -> tuple[int, int]:
        return (max(self.height, self.tile), max(self.width, self.tile))

    @property
    def n_tiles(self) -> int:
        return len(self.row_starts) * len(self.col_starts)

    def row_windows(self, row_index: int) -> list[TileWindow]:
        """The tiles of one tile row, left to right."""
        rows, cols = self.row_starts, self.col_starts
        ph, pw = self.padded_shape
        r = rows[row_index]
        return [
            TileWindow(
                row_off=r,
                col_off=c,
                size=self.tile,
                row_index=row_index,
                col_index=j,
                top=r == 0,
                bottom=r + self.tile >= ph,
                left=c == 0,
                right=c + self.tile >= pw,
            )
            for j, c in enumerate(cols)
        ]

    def windows(self) -> Iterator[TileWindow]:
        """All tiles, row by row (the order the streaming predictor needs)."""
        for i in range(len(self.row_starts)):
            yield from self.row_windows(i)

    def final_rows(self, row_index: int) -> tuple[int, int]:
        """Grid rows ``[start, stop)`` that no tile after tile row ``row_index`` touches.

        Once tile row ``row_index`` has been accumulated these rows are final
        and can be written out.
        """
        rows = self.row_starts
        start = rows[row_index]
        stop = rows[row_index + 1] if row_index + 1 < len(rows) else self.padded_shape[0]
        return start, stop


def pad_to_tile(array: np.ndarray, tile: int) -> np.ndarray:
    """Reflect-pad the last two axes of ``array`` up to at least ``tile`` (far side only).

    Axes already ``>= tile`` are left alone; a length-1 axis is repeated
    (reflection of a single pixel is itself).

    Example:
        >>> pad_to_tile(np.arange(3).reshape(1, 3), 5)
        array([[0, 1, 2, 1, 0],
               [0, 1, 2, 1, 0],
               [0, 1, 2, 1, 0],
               [0, 1, 2, 1, 0],
               [0, 1, 2, 1, 0]])
    """
    h, w = array.shape[-2:]
    ph, pw = max(0, tile - h), max(0, tile - w)
    if ph == 0 and pw == 0:
        return array
    pad = [(0, 0)] * (array.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(array, pad, mode="reflect")


def crop_to(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop the last two axes back to ``height x width`` (undoes :func:`pad_to_tile`)."""
    return array[..., :height, :width]
