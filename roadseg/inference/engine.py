"""The streaming tiled predictor: read strips, batch tiles, blend, flush finished rows.

The raster is processed one *tile row* at a time (all tiles with the same row
offset, see :class:`roadseg.raster.grid.TileGrid`):

1. a background reader thread reads the full-width strip of rows
   ``[r_i, r_i + tile)`` (scaled to 0..255, in the raster's compact type),
   cuts it into tiles, stacks and prepares (normalises) each batch and queues
   it (``prefetch`` batches ahead) while the model runs on the previous ones;
   normalising by batch rather than by strip keeps the float32 copies at
   batch size (a float32 strip of a 20000 px wide RGB scene is 54 MB);
2. the main thread runs the model on each batch and accumulates, for every
   tile, ``Σ w·p`` and ``Σ w`` (:mod:`roadseg.inference.blending`) into two
   ``tile x width`` buffers that cover only the rows still open;
3. once tile row ``i`` is complete, rows ``[r_i, r_{i+1})`` are final (no later
   tile touches them): ``P = Σ w·p / Σ w`` is handed to the ``sink`` (a
   windowed writer or an in-memory array) and the buffers shift down.

Memory is ``O(tile · width)``, never ``O(height · width)``. Tiles with no
valid pixel are not sent to the model at all.

Example (an identity "model" returns its input exactly):
    >>> import numpy as np
    >>> img = np.random.rand(1, 50, 70).astype(np.float32)
    >>> out = blend_tiles(lambda x: x, img, tile=32, overlap=8, outputs="probabilities")
    >>> bool(np.allclose(out, img[0], atol=1e-6))
    True
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from roadseg.inference.blending import BlendMode, weight_window
from roadseg.inference.device import ForwardFn, make_forward, resolve_device
from roadseg.raster.grid import TileGrid, TileWindow, crop_to, pad_to_tile

log = logging.getLogger(__name__)

#: ``(row_off, n_rows) -> (image (C, n_rows, width), valid (n_rows, width) bool | None)``
StripReader = Callable[[int, int], tuple[np.ndarray, "np.ndarray | None"]]
#: ``(row_off, values (h, width) float32, valid (h, width) bool)``
Sink = Callable[[int, np.ndarray, np.ndarray], None]


@dataclass
class RunStats:
    """What a tiled run did: tiles in the grid, tiles sent to the model, batches."""

    tiles: int = 0
    tiles_predicted: int = 0
    batches: int = 0
    strips_read: int = 0


_DONE = object()


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _producer(
    grid: TileGrid,
    read_strip: StripReader,
    batch_size: int,
    q: queue.Queue,
    stop: threading.Event,
    prepare: Callable[[np.ndarray], np.ndarray] | None,
) -> None:
    """Reader thread: strips -> tiles -> batches on ``q`` (``("valid", i, mask)`` first per row)."""
    try:
        tile = grid.tile
        n_rows = min(tile, grid.height)
        items: list[TileWindow] = []
        arrays: list[np.ndarray] = []

        def batch() -> tuple[str, list[TileWindow], np.ndarray]:
            stacked = np.stack(arrays)
            if prepare is not None:
                stacked = prepare(stacked)
            return ("batch", items, stacked.astype(np.float32, copy=False))

        for i, r in enumerate(grid.row_starts):
            if stop.is_set():
                return
            image, valid = read_strip(r, n_rows)
            image = pad_to_tile(image, tile)
            if valid is not None:
                valid = pad_to_tile(valid, tile)
            if not _put(q, ("valid", i, valid), stop):
                return
            for win in grid.row_windows(i):
                cols = slice(win.col_off, win.col_off + tile)
                if valid is not None and not valid[:, cols].any():
                    if not _put(q, ("skip", win), stop):
                        return
                    continue
                items.append(win)
                arrays.append(image[:, :, cols])
                if len(items) == batch_size:
                    if not _put(q, batch(), stop):
                        return
                    items, arrays = [], []
        if items and not _put(q, batch(), stop):
            return
        _put(q, _DONE, stop)
    except BaseException as exc:  # forwarded to the main thread, which re-raises it
        _put(q, ("error", exc), stop)


class _StripAccumulator:
    """``Σ w·p`` and ``Σ w`` for the grid rows ``[base, base + tile)``, flushed by tile row."""

    def __init__(self, grid: TileGrid, blend: BlendMode, sink: Sink) -> None:
        self.grid = grid
        self.blend = blend
        self.sink = sink
        pw = grid.padded_shape[1]
        self.num = np.zeros((grid.tile, pw), dtype=np.float32)
        self.den = np.zeros((grid.tile, pw), dtype=np.float32)
        self.base = 0
        self.row = 0  # next tile row to flush
        self.valid: dict[int, np.ndarray | None] = {}

    def add(self, win: TileWindow, prob: np.ndarray) -> None:
        while win.row_index > self.row:
            self.flush_row()
        w = weight_window(self.grid.tile, self.grid.overlap, self.blend, win.edges)
        r0 = win.row_off - self.base
        rows = slice(r0, r0 + self.grid.tile)
        cols = slice(win.col_off, win.col_off + self.grid.tile)
        self.num[rows, cols] += w * prob
        self.den[rows, cols] += w

    def flush_row(self) -> None:
        """Rows finished by tile row ``self.row``: divide, mask, crop, hand to the sink."""
        grid = self.grid
        start, stop = grid.final_rows(self.row)
        n = stop - start
        lo = start - self.base
        num, den = self.num[lo : lo + n], self.den[lo : lo + n]
        covered = den > 0
        values = np.divide(num, den, out=np.zeros_like(num), where=covered)
        valid_strip = self.valid.pop(self.row, None)
        valid = covered if valid_strip is None else covered & valid_strip[:n]
        values[~valid] = 0.0
        # crop the padding of rasters smaller than a tile
        keep = max(0, min(stop, grid.height) - start)
        if keep:
            self.sink(start, crop_to(values, keep, grid.width), crop_to(valid, keep, grid.width))
        # shift the open rows [stop, base + tile) to the top of the buffers
        shift = stop - self.base
        if shift:
            for buf in (self.num, self.den):
                buf[: grid.tile - shift] = buf[shift:]
                buf[grid.tile - shift :] = 0.0
        self.base = stop
        self.row += 1

    def finish(self) -> None:
        while self.row < len(self.grid.row_starts):
            self.flush_row()


def run_tiles(
    grid: TileGrid,
    read_strip: StripReader,
    forward: ForwardFn,
    sink: Sink,
    blend: BlendMode | str = BlendMode.COSINE,
    batch_size: int = 8,
    prefetch: int = 2,
    progress: Any = None,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> RunStats:
    """Predict every tile of ``grid`` and stream the blended result to ``sink``.

    Args:
        grid: the tile geometry (raster size, tile, overlap).
        read_strip: reads ``n_rows`` full-width rows from ``row_off`` (raster
            coordinates, ``n_rows = min(tile, height)``), plus their valid
            mask or ``None``; invalid pixels should already be filled.
        forward: ``(N, C, tile, tile) float32 -> (N, tile, tile) float32``
            (see :func:`roadseg.inference.device.make_forward`).
        sink: receives the final rows in order: ``(row_off, values, valid)``;
            invalid or uncovered pixels are 0 in ``values`` and ``False`` in ``valid``.
        blend: a :class:`BlendMode` or its name.
        batch_size: tiles per forward call (batches span tile rows).
        prefetch: batches the reader thread may prepare ahead.
        progress: an object with ``update(n)`` (a tqdm bar), advanced per tile.
        prepare: applied to every stacked ``(N, C, tile, tile)`` batch in the
            reader thread (e.g. ``meta.normalisation.apply``); the result is
            cast to float32.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    blend = BlendMode.parse(blend)
    stats = RunStats(tiles=grid.n_tiles)
    acc = _StripAccumulator(grid, blend, sink)
    q: queue.Queue = queue.Queue(maxsize=max(1, prefetch) + 1)
    stop = threading.Event()
    reader = threading.Thread(
        target=_producer,
        args=(grid, read_strip, batch_size, q, stop, prepare),
        name="roadseg-reader",
        daemon=True,
    )
    reader.start()
    try:
        while True:
            msg = q.get()
            if msg is _DONE:
                break
            kind = msg[0]
            if kind == "error":
                raise msg[1]
            if kind == "valid":
                acc.valid[msg[1]] = msg[2]
                stats.strips_read += 1
            elif kind == "skip":
                # rows are flushed by later tiles or at the end, never here: a
                # skip can overtake the still-filling batch of an earlier row
                if progress is not None:
                    progress.update(1)
            else:
                _, wins, batch = msg
                probs = forward(batch)
                if probs.shape != (len(wins), grid.tile, grid.tile):
                    raise ValueError(
                        f"forward returned {probs.shape}, expected {(len(wins), grid.tile, grid.tile)}"
                    )
                for win, p in zip(wins, probs):
                    acc.add(win, p)
                stats.batches += 1
                stats.tiles_predicted += len(wins)
                if progress is not None:
                    progress.update(len(wins))
        acc.finish()
    finally:
        stop.set()
        # wait for the reader: it may be inside a read of a dataset the caller closes next
        reader.join()
    return stats


def array_reader(image: np.ndarray, valid: np.ndarray | None = None) -> StripReader:
    """A :data:`StripReader` over an in-memory ``(C, H, W)`` array; invalid pixels read as 0."""
    if image.ndim != 3:
        raise ValueError(f"image must be (bands, height, width), got shape {image.shape}")
    if valid is not None and valid.shape != image.shape[1:]:
        raise ValueError(f"valid mask {valid.shape} does not match the image {image.shape[1:]}")

    def read(row_off: int, n_rows: int) -> tuple[np.ndarray, np.ndarray | None]:
        strip = image[:, row_off : row_off + n_rows]
        mask = None if valid is None else valid[row_off : row_off + n_rows]
        if mask is not None and not mask.all():
            strip = strip.copy()
            strip[:, ~mask] = 0.0
        return strip, mask

    return read


def blend_tiles(
    model: Callable[[torch.Tensor], torch.Tensor],
    image: np.ndarray,
    tile: int,
    overlap: int,
    blend: BlendMode | str = BlendMode.COSINE,
    outputs: str = "logits",
    batch_size: int = 8,
    valid: np.ndarray | None = None,
    device: str | torch.device = "cpu",
    tta: bool = False,
    prefetch: int = 2,
) -> np.ndarray:
    """Tile, predict and blend an in-memory ``(C, H, W)`` image; returns ``(H, W)`` float32.

    ``model`` maps ``(N, C, tile, tile)`` float tensors to ``(N, 1, tile, tile)``:
    logits when ``outputs="logits"`` (sigmoid applied before blending), or
    values blended as is when ``outputs="probabilities"``. ``image`` is fed as
    given (already normalised). Pixels where ``valid`` is ``False`` are 0.
    """
    _, h, w = image.shape
    grid = TileGrid(h, w, tile, overlap)
    out = np.zeros((h, w), dtype=np.float32)

    def sink(row_off: int, values: np.ndarray, _valid: np.ndarray) -> None:
        out[row_off : row_off + values.shape[0]] = values

    fwd = make_forward(model, device=resolve_device(device), outputs=outputs, tta=tta)
    run_tiles(grid, array_reader(image, valid), fwd, sink, blend, batch_size, prefetch)
    return out
