"""The streaming tiled blender: exact round trip, no seams, bounded memory, skipped nodata tiles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from roadseg.inference.blending import BlendMode
from roadseg.inference.device import make_forward
from roadseg.inference.engine import array_reader, blend_tiles, run_tiles
from roadseg.raster.grid import TileGrid


def identity(x: torch.Tensor) -> torch.Tensor:
    """A "model" returning its first input band: blending must give the input back."""
    return x[:, :1]


class Constant(torch.nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :1], self.value)


@pytest.mark.parametrize("mode", list(BlendMode))
@pytest.mark.parametrize(
    "shape,tile,overlap",
    [
        ((97, 131), 32, 8),
        ((64, 64), 32, 16),
        ((33, 250), 32, 5),
        ((20, 7), 64, 14),
        ((1, 1), 16, 4),
    ],
)
def test_identity_round_trip(mode, shape, tile, overlap):
    rng = np.random.default_rng(sum(shape))
    img = rng.random((2, *shape), dtype=np.float32)
    out = blend_tiles(identity, img, tile, overlap, mode, outputs="probabilities", batch_size=3)
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_allclose(out, img[0], rtol=0, atol=2e-7)


@pytest.mark.parametrize("mode", list(BlendMode))
def test_constant_model_has_no_seams_edges_included(mode):
    img = np.zeros((3, 211, 157), np.float32)
    out = blend_tiles(Constant(0.3), img, 48, 12, mode, outputs="probabilities", batch_size=5)
    np.testing.assert_allclose(out, 0.3, atol=1e-6)
    # and on logits: sigmoid is applied before blending
    out = blend_tiles(Constant(0.0), img, 48, 12, mode, outputs="logits")
    np.testing.assert_allclose(out, 0.5, atol=1e-6)


def test_identity_with_tta_is_still_exact():
    img = np.random.default_rng(1).random((1, 70, 90), dtype=np.float32)
    out = blend_tiles(identity, img, 32, 8, "cosine", outputs="probabilities", tta=True)
    np.testing.assert_allclose(out, img[0], atol=1e-6)


def test_streaming_reads_strips_and_keeps_only_open_rows():
    """Reads are full-width strips of at most one tile; rows reach the sink once, in order."""
    h, w, tile, overlap = 500, 90, 32, 8
    img = np.random.default_rng(2).random((1, h, w), dtype=np.float32)
    grid = TileGrid(h, w, tile, overlap)
    reads: list[tuple[int, int]] = []
    base = array_reader(img)

    def read_strip(row_off, n_rows):
        reads.append((row_off, n_rows))
        return base(row_off, n_rows)

    written: list[tuple[int, int]] = []
    out = np.full((h, w), np.nan, np.float32)

    def sink(row_off, values, valid):
        assert values.shape[1] == w and valid.all()
        written.append((row_off, values.shape[0]))
        out[row_off : row_off + len(values)] = values

    fwd = make_forward(identity, outputs="probabilities")
    stats = run_tiles(grid, read_strip, fwd, sink, "spline", batch_size=4, prefetch=1)
    assert reads == [(r, tile) for r in grid.row_starts]
    assert stats.tiles == stats.tiles_predicted == grid.n_tiles
    # consecutive, non-overlapping row spans covering the raster; none taller than a tile
    assert written[0][0] == 0 and sum(n for _, n in written) == h
    assert all(a + n == b for (a, n), (b, _) in zip(written, written[1:]))
    assert max(n for _, n in written) <= tile
    np.testing.assert_allclose(out, img[0], atol=2e-7)


def test_nodata_tiles_are_skipped_and_stay_invalid():
    h, w = 100, 100
    img = np.random.default_rng(3).random((1, h, w), dtype=np.float32)
    valid = np.ones((h, w), bool)
    valid[:, :60] = False  # the left tiles see no valid pixel
    grid = TileGrid(h, w, 32, 8)
    got_valid = np.zeros((h, w), bool)
    out = np.zeros((h, w), np.float32)

    def sink(row_off, values, v):
        out[row_off : row_off + len(values)] = values
        got_valid[row_off : row_off + len(values)] = v

    calls = []

    def fwd(batch):
        calls.append(len(batch))
        return batch[:, 0]

    stats = run_tiles(grid, array_reader(img, valid), fwd, sink, "cosine", batch_size=2)
    assert stats.tiles_predicted < stats.tiles and sum(calls) == stats.tiles_predicted
    np.testing.assert_array_equal(got_valid, valid)
    assert (out[~valid] == 0).all()
    np.testing.assert_allclose(out[valid], img[0][valid], atol=2e-7)


def test_reader_errors_reach_the_caller():
    grid = TileGrid(100, 100, 32, 8)

    def broken(row_off, n_rows):
        if row_off > 40:
            raise OSError("disk gone")
        return np.zeros((1, n_rows, 100), np.float32), None

    with pytest.raises(OSError, match="disk gone"):
        run_tiles(grid, broken, lambda b: b[:, 0], lambda *a: None, batch_size=2)


def test_model_with_wrong_output_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(N, 1, h, w\)"):
        blend_tiles(lambda x: x, np.zeros((3, 40, 40), np.float32), 32, 8, outputs="probabilities")


def test_fixed_batch_pads_the_last_batch_and_drops_the_padding():
    seen = []

    def model(x):
        seen.append(x.shape[0])
        return x[:, :1]

    fwd = make_forward(model, outputs="probabilities", fixed_batch=4)
    x = np.random.default_rng(4).random((3, 2, 16, 16), dtype=np.float32)
    np.testing.assert_array_equal(fwd(x), x[:, 0])
    assert seen == [4]


@pytest.mark.parametrize("height", [600, 2400])
def test_memory_stays_flat_in_height_for_a_mostly_nodata_scene(height):
    """Rows of skipped (all-nodata) tiles are flushed as read; nothing grows with the height."""
    w, tile, overlap = 300, 32, 8
    img = np.zeros((1, height, w), np.float32)
    valid = np.zeros((height, w), bool)
    valid[-20:, 100:140] = True  # one small patch at the very bottom
    img[0, valid] = 0.7
    grid = TileGrid(height, w, tile, overlap)
    rows_out: list[int] = []

    def sink(row_off, values, v):
        rows_out.append(row_off)
        assert not v[: max(0, height - 20 - row_off)].any()

    stats = run_tiles(
        grid, array_reader(img, valid), make_forward(identity, outputs="probabilities"), sink,
        batch_size=4, prefetch=1,
    )  # fmt: skip
    assert stats.tiles_predicted <= 9 and len(rows_out) == len(grid.row_starts)
    # the accumulator's tile rows plus the masks of at most a couple of tile rows
    assert stats.max_rows_held <= 2 * tile, stats.max_rows_held


def test_rows_held_do_not_depend_on_the_height_with_sparse_patches():
    held = []
    for height in (500, 3000):
        valid = np.zeros((height, 200), bool)
        valid[::250, ::50] = True  # scattered single valid pixels
        img = np.where(valid, 0.5, 0.0)[None].astype(np.float32)
        stats = run_tiles(
            TileGrid(height, 200, 32, 8), array_reader(img, valid),
            lambda b: b[:, 0], lambda *a: None, batch_size=8,
        )  # fmt: skip
        held.append(stats.max_rows_held)
    assert max(held) <= 6 * 32, held


def test_tensor_sink_and_integer_factor_on_the_cpu_device():
    """The device code path (tensors in the sink, area pooling) runs with device="cpu"."""
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (3, 128, 192), dtype=np.uint8)
    got: list[torch.Tensor] = []

    def sink(row_off, values, v):
        assert isinstance(values, torch.Tensor) and values.device.type == "cpu" and v.all()
        got.append(values)

    grid = TileGrid(64, 96, 32, 8)
    run_tiles(
        grid, array_reader(img), make_forward(identity, outputs="probabilities"), sink,
        batch_size=3, device="cpu", factor=2, tensor_sink=True,
    )  # fmt: skip
    out = torch.cat(got).numpy()
    pooled = img[0].reshape(64, 2, 96, 2).astype(np.float64).mean(axis=(1, 3))
    np.testing.assert_allclose(out, np.floor(pooled + 0.5), atol=1e-4)
