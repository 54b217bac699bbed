"""The streaming tiled predictor: read strips, batch tiles, blend, flush finished rows.

The raster is processed one *tile row* at a time (all tiles with the same row
offset, see :class:`roadseg.raster.grid.TileGrid`):

1. a background reader thread reads the full-width strip of rows
   ``[r_i, r_i + tile)`` (scaled to 0..255, in the raster's compact type,
   usually uint8), decides which of its tiles have a valid pixel, and queues
   the strip in pixel-interleaved (rows, cols, bands) order (``prefetch``
   strips ahead; pinned memory when the device is CUDA);
2. the main thread copies the strip to the device (non-blocking), averages it
   down when the model's GSD is an integer ``factor`` coarser than the
   strip's (:func:`roadseg.raster.resample.area_pool`), cuts the tiles, stacks
   them into batches (channels_last without a copy, thanks to the interleaved
   order), normalises each batch there (``prepare``) and runs the model;
3. each tile's probabilities are accumulated, on the device, as ``Σ w'·p``
   with the blending weights divided in advance by their sum over the grid,
   ``w' = w / Σ w`` (:mod:`roadseg.inference.blending`), into one
   ``tile x width`` buffer that covers only the rows still open;
4. once no queued or later tile can touch rows ``[r_i, r_{i+1})`` they are
   final: ``P = Σ w'·p`` goes to the ``sink`` (still on the device when
   ``tensor_sink``: the predictor quantises there and copies only uint8 back).

Memory is ``O(tile · width)``, never ``O(height · width)``, whatever the
nodata: tiles without a valid pixel are not sent to the model, a tile row
without any such tile is flushed as soon as no queued tile covers it, an
all-nodata span is held as a marker rather than a mask, and when the masks
held pass ``HELD_TILE_ROWS`` tile heights the queued tiles are run as a
smaller batch (see :attr:`RunStats.max_rows_held`).

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

from roadseg.inference.blending import DEFAULT_BLEND, BlendMode, profile
from roadseg.inference.config import DEFAULT_BATCH_SIZE, DEFAULT_PREFETCH
from roadseg.inference.device import ForwardFn, make_forward, pipeline_threads, resolve_device
from roadseg.raster.gdal_messages import gdal_thread
from roadseg.raster.grid import TileGrid, TileWindow, pad_to_tile
from roadseg.raster.resample import area_pool, pool_valid

# DEFAULT_BATCH_SIZE, DEFAULT_PREFETCH: defined with PredictConfig (light to import), used here

log = logging.getLogger(__name__)

#: ``(row_off, n_rows) -> (image (C, n_rows, width), valid (n_rows, width) bool | None)``
StripReader = Callable[[int, int], tuple[np.ndarray, "np.ndarray | None"]]
#: ``(row_off, values (h, width) float32, valid (h, width) bool)`` (numpy, or tensors
#: on the device with ``tensor_sink=True``)
Sink = Callable[[int, Any, Any], None]
#: applied on the device to every ``(N, C, tile, tile)`` float32 batch (e.g. normalisation)
Prepare = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class RunStats:
    """What a tiled run did.

    Attributes:
        tiles: tiles in the grid; tiles_predicted: those sent to the model.
        batches: forward calls; strips_read: strips read.
        max_rows_held: the most grid rows of valid masks held at once for rows
            not yet flushed, plus the accumulator's ``tile`` rows: bounded by
            about ``(HELD_TILE_ROWS + 2) · tile``, whatever the height.
    """

    tiles: int = 0
    tiles_predicted: int = 0
    batches: int = 0
    strips_read: int = 0
    max_rows_held: int = 0


@dataclass
class _Strip:
    index: int
    image: Any  # (rows, cols, bands) ndarray/tensor, or None when no tile is predicted
    valid: np.ndarray | None  # full-resolution valid mask (only needed when factor > 1)
    predicted: list[TileWindow]
    skipped: int
    final_valid: np.ndarray | None  # valid mask of the rows this tile row finalises


_DONE = object()
#: the valid mask of a span of rows without any valid pixel
_NO_VALID = np.zeros((0, 0), dtype=bool)
#: pending tiles are run early (a smaller batch) once the masks held exceed this many tiles
HELD_TILE_ROWS = 4


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _read_tile_row(
    grid: TileGrid, read_strip: StripReader, i: int, factor: int, pin: bool
) -> _Strip:
    tile, f = grid.tile, factor
    r = grid.row_starts[i]
    n_rows = min(tile, grid.height)
    image, valid = read_strip(r * f, n_rows * f)
    mvalid = pool_valid(valid, f) if valid is not None else None
    if mvalid is not None:
        mvalid = pad_to_tile(mvalid, tile)
    predicted, skipped = [], 0
    for win in grid.row_windows(i):
        cols = slice(win.col_off, win.col_off + tile)
        if mvalid is not None and not mvalid[:, cols].any():
            skipped += 1
        else:
            predicted.append(win)
    start, stop = grid.final_rows(i)
    final_valid = None if mvalid is None else mvalid[: stop - start]
    if final_valid is not None:
        # an all-nodata span is held as a marker, not as a full-width mask
        final_valid = final_valid.copy() if final_valid.any() else _NO_VALID
    hwc: Any = None
    if predicted:
        hwc = np.ascontiguousarray(np.moveaxis(image, 0, -1))
        if pin:
            hwc = torch.from_numpy(hwc).pin_memory()
    full_valid = valid if (f > 1 and predicted) else None
    return _Strip(i, hwc, full_valid, predicted, skipped, final_valid)


def _producer(
    grid: TileGrid,
    read_strip: StripReader,
    q: queue.Queue,
    stop: threading.Event,
    factor: int,
    pin: bool,
) -> None:
    """Reader thread: one :class:`_Strip` per tile row on ``q``, then ``_DONE``."""
    try:
        for i in range(len(grid.row_starts)):
            if stop.is_set():
                return
            if not _put(q, _read_tile_row(grid, read_strip, i, factor, pin), stop):
                return
        _put(q, _DONE, stop)
    except BaseException as exc:  # forwarded to the main thread, which re-raises it
        _put(q, ("error", exc), stop)


class _StripAccumulator:
    """``Σ (w / Σw)·p`` on the device for the grid rows ``[base, base + tile)``.

    The weights are divided by their sum in advance: the windows are separable
    and never 0, so ``Σ w`` over the tiles covering a pixel is ``R(r) · C(c)``,
    fixed by the grid, and each tile is accumulated with ``w / (R · C)``. That
    saves accumulating ``Σ w`` and a division per pixel. A skipped tile (no
    valid pixel) changes nothing: every pixel it covers is invalid, so no output
    value ever lacks the share of a tile that was not run.
    """

    def __init__(
        self, grid: TileGrid, blend: BlendMode, sink: Sink, device: torch.device, tensors: bool
    ) -> None:
        self.grid = grid
        self.blend = blend
        self.sink = sink
        self.device = device
        self.tensors = tensors
        ph, pw = grid.padded_shape
        self.num = torch.zeros((grid.tile, pw), dtype=torch.float32, device=device)
        self.all_valid = torch.ones((grid.tile, pw), dtype=torch.bool, device=device)
        self.base = 0
        self.row = 0  # next tile row to flush
        self.valid: dict[int, np.ndarray | None] = {}
        self._rows = _norm_profiles(grid, blend, grid.row_starts, ph)
        self._cols = _norm_profiles(grid, blend, grid.col_starts, pw)
        self._weights: dict[tuple[int, int], torch.Tensor] = {}

    def rows_held(self) -> int:
        return self.grid.tile + sum(v.shape[0] for v in self.valid.values() if v is not None)

    def _valid_rows(self, row: int, n: int) -> torch.Tensor | None:
        strip = self.valid.pop(row, None)
        if strip is None:
            return None
        if strip is _NO_VALID:
            return torch.zeros((n, self.num.shape[1]), dtype=torch.bool, device=self.device)
        return torch.from_numpy(strip[:n]).to(self.device, non_blocking=True)

    def _weight(self, win: TileWindow) -> torch.Tensor:
        (rkey, rprof), (ckey, cprof) = self._rows[win.row_index], self._cols[win.col_index]
        w = self._weights.get((rkey, ckey))
        if w is None:
            w = torch.from_numpy(np.outer(rprof, cprof)).to(self.device)
            self._weights[(rkey, ckey)] = w
        return w

    def add(self, win: TileWindow, prob: torch.Tensor) -> None:
        while win.row_index > self.row:
            self.flush_row()
        r0 = win.row_off - self.base
        rows = slice(r0, r0 + self.grid.tile)
        cols = slice(win.col_off, win.col_off + self.grid.tile)
        self.num[rows, cols].addcmul_(self._weight(win), prob)

    def flush_until(self, limit: int) -> None:
        """Flush every tile row before ``limit`` (their rows are final)."""
        while self.row < min(limit, len(self.grid.row_starts)):
            self.flush_row()

    def flush_row(self) -> None:
        """Rows finished by tile row ``self.row``: mask, crop, hand to the sink."""
        grid = self.grid
        start, stop = grid.final_rows(self.row)
        n = stop - start
        lo = start - self.base
        # a copy: the sink may hold it (a writer thread) while the buffer moves on
        values = self.num[lo : lo + n].clone()
        valid = self._valid_rows(self.row, n)
        if valid is None:
            valid = self.all_valid[:n]
        else:
            values.masked_fill_(~valid, 0.0)
        # crop the padding of rasters smaller than a tile
        keep = max(0, min(stop, grid.height) - start)
        if keep:
            v, m = values[:keep, : grid.width], valid[:keep, : grid.width]
            if self.tensors:
                self.sink(start, v, m)
            else:
                self.sink(start, v.cpu().numpy(), m.cpu().numpy())
        # shift the open rows [stop, base + tile) to the top of the buffer
        shift = stop - self.base
        if shift:
            buf = self.num
            buf[: grid.tile - shift] = buf[shift:].clone()
            buf[grid.tile - shift :] = 0.0
        self.base = stop
        self.row += 1

    def finish(self) -> None:
        self.flush_until(len(self.grid.row_starts))


def _norm_profiles(
    grid: TileGrid, blend: BlendMode, starts: list[int], length: int
) -> list[tuple[int, np.ndarray]]:
    """Per tile along one axis: its 1-D weight profile divided by the axis' profile sum.

    Returned as ``(key, profile)``; equal profiles share a key (interior tiles
    all have the same one), so few distinct 2-D windows are ever built.
    """
    t = grid.tile
    raw = [
        profile(t, grid.overlap, blend, start_edge=i == 0, end_edge=s + t >= length)
        for i, s in enumerate(starts)
    ]
    total = np.zeros(length, dtype=np.float32)
    for s, p in zip(starts, raw):
        total[s : s + t] += p
    keys: dict[bytes, int] = {}
    out = []
    for s, p in zip(starts, raw):
        q = (p / total[s : s + t]).astype(np.float32)
        out.append((keys.setdefault(q.tobytes(), len(keys)), q))
    return out


def _pad_index(n: int, size: int, device: torch.device) -> torch.Tensor | None:
    """Indices that reflect-pad an axis of ``n`` up to ``size`` (as :func:`pad_to_tile`)."""
    if n >= size:
        return None
    return torch.from_numpy(np.pad(np.arange(n), (0, size - n), mode="reflect")).to(device)


class _Batcher:
    """Device side: strips to tiles to batches to the model to the accumulator."""

    def __init__(
        self,
        grid: TileGrid,
        forward: ForwardFn,
        acc: _StripAccumulator,
        batch_size: int,
        prepare: Prepare | None,
        factor: int,
        stats: RunStats,
        progress: Any,
    ) -> None:
        self.grid, self.forward, self.acc = grid, forward, acc
        self.batch_size, self.prepare, self.factor = batch_size, prepare, factor
        self.stats, self.progress = stats, progress
        self.device = acc.device
        self.pending: list[tuple[TileWindow, torch.Tensor]] = []
        self._batch: torch.Tensor | None = None
        ph, pw = grid.padded_shape
        self.row_pad = _pad_index(min(grid.tile, grid.height), grid.tile, self.device)
        self.col_pad = _pad_index(grid.width, pw, self.device)

    def strip_to_device(self, s: _Strip) -> torch.Tensor:
        x = s.image if isinstance(s.image, torch.Tensor) else torch.from_numpy(s.image)
        x = x.to(self.device, non_blocking=True)
        if self.factor > 1:
            valid = None
            if s.valid is not None:
                valid = torch.from_numpy(s.valid).to(self.device, non_blocking=True)
            x = area_pool(x, self.factor, valid)
        if self.row_pad is not None:
            x = x.index_select(0, self.row_pad)
        if self.col_pad is not None:
            x = x.index_select(1, self.col_pad)
        return x

    def add_strip(self, s: _Strip) -> None:
        self.acc.valid[s.index] = s.final_valid
        self.stats.strips_read += 1
        self.stats.max_rows_held = max(self.stats.max_rows_held, self.acc.rows_held())
        if s.predicted:
            x = self.strip_to_device(s)
            t = self.grid.tile
            for win in s.predicted:
                self.pending.append((win, x[:, win.col_off : win.col_off + t]))
                if len(self.pending) == self.batch_size:
                    self.run_batch()
        if self.progress is not None and s.skipped:
            self.progress.update(s.skipped)
        # a long run of nodata after a few queued tiles: run them rather than hold masks
        if self.pending and self.acc.rows_held() > HELD_TILE_ROWS * self.grid.tile:
            self.run_batch()
        # rows of every tile row read so far are final unless a queued tile still covers them
        first_open = self.pending[0][0].row_index if self.pending else s.index + 1
        self.acc.flush_until(first_open)

    def run_batch(self) -> None:
        if not self.pending:
            return
        wins = [w for w, _ in self.pending]
        # (N, tile, tile, C) interleaved -> an (N, C, tile, tile) channels_last view;
        # each tile is converted to float32 while copied in (one pass), into a buffer
        # kept between batches (the forward is done with it before the next one)
        first = self.pending[0][1]
        shape = (len(wins), *first.shape)
        if self._batch is None or tuple(self._batch.shape) != shape:
            self._batch = torch.empty(shape, dtype=torch.float32, device=self.device)
        batch = self._batch
        for i, (_, t) in enumerate(self.pending):
            batch[i].copy_(t)
        batch = batch.permute(0, 3, 1, 2)
        self.pending = []
        if self.prepare is not None:
            batch = self.prepare(batch)
        probs = self.forward(batch)
        if tuple(probs.shape) != (len(wins), self.grid.tile, self.grid.tile):
            raise ValueError(
                f"forward returned {tuple(probs.shape)}, expected "
                f"{(len(wins), self.grid.tile, self.grid.tile)}"
            )
        for win, p in zip(wins, probs):
            self.acc.add(win, p)
        self.stats.batches += 1
        self.stats.tiles_predicted += len(wins)
        if self.progress is not None:
            self.progress.update(len(wins))


def run_tiles(
    grid: TileGrid,
    read_strip: StripReader,
    forward: ForwardFn,
    sink: Sink,
    blend: BlendMode | str = DEFAULT_BLEND,
    batch_size: int = DEFAULT_BATCH_SIZE,
    prefetch: int = DEFAULT_PREFETCH,
    progress: Any = None,
    prepare: Prepare | None = None,
    device: str | torch.device = "cpu",
    factor: int = 1,
    tensor_sink: bool = False,
) -> RunStats:
    """Predict every tile of ``grid`` and stream the blended result to ``sink``.

    Args:
        grid: the tile geometry (raster size, tile, overlap), on the model's grid.
        read_strip: reads ``n_rows`` full-width rows from ``row_off`` (raster
            coordinates, ``n_rows = factor · min(tile, height)``), plus their
            valid mask or ``None``; invalid pixels should already be filled.
        forward: ``(N, C, tile, tile)`` float32 tensor on ``device`` ->
            ``(N, tile, tile)`` probabilities there (see
            :func:`roadseg.inference.device.make_forward`).
        sink: receives the final rows in order: ``(row_off, values, valid)``;
            invalid or uncovered pixels are 0 in ``values`` and ``False`` in ``valid``.
        blend: a :class:`BlendMode` or its name.
        batch_size: tiles per forward call (batches span tile rows).
        prefetch: strips the reader thread may prepare ahead.
        progress: an object with ``update(n)`` (a tqdm bar), advanced per tile.
        prepare: applied on the device to every ``(N, C, tile, tile)`` float32
            batch (e.g. the model's normalisation).
        device: where batches, blending and (with ``tensor_sink``) the output live.
        factor: the strips are read ``factor`` times finer than ``grid`` and
            area-averaged on the device (integer GSD ratio).
        tensor_sink: hand the sink tensors on ``device`` instead of numpy arrays.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    blend = BlendMode.parse(blend)
    device = torch.device(device)
    stats = RunStats(tiles=grid.n_tiles)
    with pipeline_threads(device):  # filling the buffers on two threads costs more than one
        acc = _StripAccumulator(grid, blend, sink, device, tensor_sink)
        batcher = _Batcher(grid, forward, acc, batch_size, prepare, factor, stats, progress)
    q: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()
    reader = threading.Thread(
        target=gdal_thread(_producer),  # GDAL's messages on it logged, not printed raw
        args=(grid, read_strip, q, stop, factor, device.type == "cuda"),
        name="roadseg-reader",
        daemon=True,
    )
    reader.start()
    try:
        with torch.inference_mode(), pipeline_threads(device):
            while True:
                msg = q.get()
                if msg is _DONE:
                    break
                if isinstance(msg, tuple):
                    raise msg[1]
                batcher.add_strip(msg)
            batcher.run_batch()
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
    blend: BlendMode | str = DEFAULT_BLEND,
    outputs: str = "logits",
    batch_size: int = DEFAULT_BATCH_SIZE,
    valid: np.ndarray | None = None,
    device: str | torch.device = "cpu",
    tta: bool = False,
    prefetch: int = DEFAULT_PREFETCH,
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

    dev = resolve_device(device)
    fwd = make_forward(model, device=dev, outputs=outputs, tta=tta)
    run_tiles(grid, array_reader(image, valid), fwd, sink, blend, batch_size, prefetch, device=dev)
    return out
