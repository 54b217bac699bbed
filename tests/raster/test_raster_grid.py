"""Tile geometry: full-size tiles, full coverage, pulled-back last tile, edge flags, padding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadseg.inference.blending import BlendMode
from roadseg.raster.grid import TileGrid, crop_to, lattice_window, pad_to_tile, tile_starts


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


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    tile=st.integers(8, 64),
    overlap_frac=st.floats(0, 0.5),
    mode=st.sampled_from(list(BlendMode)),
)
def test_lattice_window_gives_the_whole_axis_tiles_and_weights(
    data: st.DataObject, tile: int, overlap_frac: float, mode: BlendMode
) -> None:
    """Each pixel of [start, stop) gets the same tiles with the same normalised weights
    when only the lattice window is predicted as when the whole axis is."""
    from roadseg.inference.engine import _norm_profiles

    overlap = min(int(overlap_frac * tile), tile // 2)
    length = data.draw(st.integers(tile, 8 * tile))
    start = data.draw(st.integers(0, length - 1))
    stop = data.draw(st.integers(start + 1, length))
    a, b = lattice_window(start, stop, length, tile, overlap)
    assert 0 <= a <= start and stop <= b <= length

    def weights(n: int, shift: int) -> list[dict[int, float]]:
        grid = TileGrid(1, n, tile, overlap)
        starts = tile_starts(n, tile, overlap)
        per_pixel: list[dict[int, float]] = [{} for _ in range(n)]
        for s, (_, prof) in zip(starts, _norm_profiles(grid, mode, starts, n)):
            for k in range(tile):
                per_pixel[s + k][s + shift] = float(prof[k])
        return per_pixel

    whole, window = weights(length, 0), weights(b - a, a)
    for x in range(start, stop):
        assert window[x - a].keys() == whole[x].keys()
        for s, w in whole[x].items():
            assert window[x - a][s] == pytest.approx(w, abs=1e-6)
