"""Tile geometry: full-size tiles, full coverage, pulled-back last tile, edge flags, padding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadseg.raster.grid import TileGrid, crop_to, pad_to_tile, tile_starts


def test_paper_grid_on_a_massachusetts_tile():
    # 1500 px, 224 px tiles, 14 px overlap: stride 210, last tile pulled back to 1276
    starts = tile_starts(1500, 224, 14)
    assert starts == [0, 210, 420, 630, 840, 1050, 1260, 1276]
    assert starts[-1] + 224 == 1500


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 2000),
    tile=st.integers(8, 300),
    frac=st.floats(0.0, 0.5),
)
def test_tiles_cover_every_pixel_full_size_inside(length, tile, frac):
    overlap = int(tile * frac)
    starts = tile_starts(length, tile, overlap)
    if length <= tile:
        assert starts == [0]
        return
    assert starts[0] == 0 and starts[-1] == length - tile
    assert all(0 <= s <= length - tile for s in starts)
    assert starts == sorted(set(starts))
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s : s + tile] = True
    assert covered.all()
    # neighbours overlap by at least `overlap` (more only for the pulled-back last tile)
    gaps = np.diff(starts)
    assert (gaps[:-1] == tile - overlap).all()
    assert 0 < gaps[-1] <= tile - overlap


def test_edge_flags_and_final_rows():
    grid = TileGrid(height=500, width=300, tile=224, overlap=14)
    wins = list(grid.windows())
    assert len(wins) == grid.n_tiles == 3 * 2
    first, last = wins[0], wins[-1]
    assert first.edges == (True, False, True, False)
    assert last.edges == (False, True, False, True)
    assert (last.row_off, last.col_off) == (276, 76)
    # the final rows of consecutive tile rows partition the raster
    spans = [grid.final_rows(i) for i in range(len(grid.row_starts))]
    assert spans[0][0] == 0 and spans[-1][1] == 500
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_small_raster_single_padded_tile():
    grid = TileGrid(height=37, width=5, tile=64, overlap=8)
    (win,) = list(grid.windows())
    assert win.edges == (True, True, True, True)
    assert grid.padded_shape == (64, 64)
    img = np.arange(3 * 37 * 5, dtype=np.float32).reshape(3, 37, 5)
    padded = pad_to_tile(img, 64)
    assert padded.shape == (3, 64, 64)
    np.testing.assert_array_equal(crop_to(padded, 37, 5), img)
    # reflect padding mirrors without repeating the edge pixel
    np.testing.assert_array_equal(padded[:, :37, 5], img[:, :, 3])


@pytest.mark.parametrize("tile,overlap", [(0, 0), (10, 6), (10, -1), (10, 2.5)])
def test_bad_tile_or_overlap_says_what_is_expected(tile, overlap):
    with pytest.raises(ValueError, match="tile|overlap"):
        tile_starts(100, tile, overlap)
