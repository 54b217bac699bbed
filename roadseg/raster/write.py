"""Windowed GeoTIFF writers: probabilities streamed out strip by strip.

Output format (the probability raster)
    single band ``uint8``, tiled 256 x 256, DEFLATE-compressed (horizontal
    predictor), BigTIFF when needed, same CRS and transform as the input. The
    predictor streams it through this writer into a tiled GeoTIFF and publishes
    it as a cloud-optimised GeoTIFF with overviews (:mod:`roadseg.raster.cog`).
    A probability ``p`` is stored as ``round(255 · p)``, so the full 0..255
    range carries probabilities (``p = v / 255``).

Nodata (documented choice)
    The input's nodata *value* has no meaning for a probability (an input
    nodata of 0 would collide with "certainly not a road"), so nodata is not
    a value: pixels that are nodata in the input are written as 0 **and**
    flagged invalid in an internal GDAL mask band (``GDAL_TIFF_INTERNAL_MASK``).
    Every GDAL reader honours it: ``rasterio``'s ``read(masked=True)`` and
    ``dataset_mask()``, QGIS, ``gdalwarp``. The same *pixels* are nodata in the
    output as in the input. A scene without any nodata gets no mask band.

Writes are buffered to whole 256-row block rows so that GDAL never has to
re-read, re-compress and append a half-written block; GDAL compresses the
blocks of a block row on all CPUs (``NUM_THREADS``), and :class:`BackgroundWriter`
moves the writing onto its own thread so that it overlaps the model.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> from affine import Affine
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "prob.tif"
    >>> with StripWriter(p, height=3, width=4, crs=None, transform=Affine.translation(0, 3) @ Affine.scale(1, -1)) as w:
    ...     w.write_rows(0, np.full((3, 4), 0.5, np.float32))
    >>> import rasterio
    >>> with rasterio.open(p) as d:
    ...     int(d.read(1)[0, 0])
    128
"""

from __future__ import annotations

import os
import queue
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from roadseg.atomic import no_space_left
from roadseg.errors import OutputError
from roadseg.raster.gdal_messages import gdal_thread, route_libtiff_messages
from roadseg.raster.quantise import quantise

BLOCK = 256
#: GDAL compresses the blocks of one write on this many threads
NUM_THREADS = "ALL_CPUS"


class StripWriter:
    """Write a single-band raster by consecutive row strips, buffered to block rows.

    Args:
        path: the file to create (pass the temporary path of :func:`roadseg.atomic.atomic_path`).
        height, width, crs, transform: the output grid.
        masked: write an internal mask band from the ``valid`` arrays.
        dtype: ``"uint8"`` (probabilities, quantised with :func:`quantise`
            unless they arrive as uint8 already) or
            ``"float32"`` (values as given, invalid pixels NaN; used for the
            temporary raster at the model's GSD).

    Rows must arrive in order, without gaps: ``write_rows(0, a)``,
    ``write_rows(len(a), b)``, ...
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        height: int,
        width: int,
        crs: Any,
        transform: Any,
        masked: bool = False,
        dtype: str = "uint8",
        tags: dict[str, str] | None = None,
    ) -> None:
        if dtype not in ("uint8", "float32"):
            raise ValueError(f"dtype must be 'uint8' or 'float32', got {dtype!r}")
        self.path = Path(path)
        self.height, self.width = int(height), int(width)
        self.masked = masked and dtype == "uint8"
        self.dtype = dtype
        self.next_row = 0
        self._pending: list[tuple[np.ndarray, np.ndarray | None]] = []
        self._pending_rows = 0
        self.windows_written: list[Window] = []
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "height": self.height,
            "width": self.width,
            "count": 1,
            "dtype": dtype,
            "crs": crs,
            "transform": transform,
            "tiled": True,
            "blockxsize": BLOCK,
            "blockysize": BLOCK,
            "compress": "deflate",
            "predictor": 2 if dtype == "uint8" else 3,
            "BIGTIFF": "IF_SAFER",
            "NUM_THREADS": NUM_THREADS,
        }
        if dtype == "float32":
            profile["nodata"] = float("nan")
        route_libtiff_messages()  # a full disk: one error from us, no raw libtiff lines
        self._env = rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True)
        self._env.__enter__()
        try:
            with warnings.catch_warnings():
                # a scene without CRS keeps its (often identity) pixel grid on purpose
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._dst = rasterio.open(self.path, "w", **profile)
        except (RasterioError, OSError) as exc:
            self._env.__exit__(None, None, None)
            raise OutputError(f"{self.path}: cannot create GeoTIFF ({exc})") from exc
        if tags:
            self._dst.update_tags(**tags)

    def write_rows(self, row_off: int, values: np.ndarray, valid: np.ndarray | None = None) -> None:
        """Queue rows ``[row_off, row_off + len(values))``; full block rows are written."""
        if row_off != self.next_row:
            raise ValueError(
                f"rows must arrive in order: expected row {self.next_row}, got {row_off}"
            )
        if values.shape[1] != self.width or row_off + values.shape[0] > self.height:
            raise ValueError(
                f"strip {values.shape} at row {row_off} does not fit {self.height}x{self.width}"
            )
        self._pending.append((values, valid))
        self._pending_rows += values.shape[0]
        self.next_row += values.shape[0]
        if self._pending_rows >= BLOCK or self.next_row == self.height:
            self._drain(final=self.next_row == self.height)

    def _drain(self, final: bool) -> None:
        values = np.concatenate([v for v, _ in self._pending], axis=0)
        valid: np.ndarray | None = None  # None: every pixel valid (no mask work per pixel)
        if any(m is not None for _, m in self._pending):
            valids = [m if m is not None else np.ones(v.shape, bool) for v, m in self._pending]
            valid = np.concatenate(valids, axis=0)
        start = self.next_row - values.shape[0]
        n = values.shape[0] if final else (values.shape[0] // BLOCK) * BLOCK
        # keep block rows aligned: write whole multiples of BLOCK, carry the rest
        if (start % BLOCK) != 0:
            raise AssertionError("internal: pending rows do not start on a block boundary")
        self._write(start, values[:n], None if valid is None else valid[:n])
        rest_v, rest_m = values[n:], (None if valid is None else valid[n:])
        self._pending = [(rest_v, rest_m)] if rest_v.shape[0] else []
        self._pending_rows = rest_v.shape[0]

    def _write(self, row_off: int, values: np.ndarray, valid: np.ndarray | None) -> None:
        if values.shape[0] == 0:
            return
        window = Window(0, row_off, self.width, values.shape[0])
        try:
            if self.dtype == "uint8":
                data = values if values.dtype == np.uint8 else quantise(values)
                if valid is not None:
                    data[~valid] = 0
                self._dst.write(data, 1, window=window)
                if self.masked:
                    mask = (
                        np.full(data.shape, 255, np.uint8)
                        if valid is None
                        else np.where(valid, 255, 0).astype(np.uint8)
                    )
                    self._dst.write_mask(mask, window=window)
            else:
                data = values.astype(np.float32, copy=False)
                if valid is not None:
                    data = np.where(valid, data, np.nan).astype(np.float32)
                self._dst.write(data, 1, window=window)
        except (RasterioError, OSError) as exc:
            raise OutputError(f"{self.path}: write failed ({exc})") from exc
        self.windows_written.append(window)

    def close(self) -> None:
        """Close the file; raises if rows are missing (an incomplete raster is an error)."""
        if getattr(self, "_dst", None) is None:
            return
        try:
            if self._pending_rows:
                self._drain(final=True)
            self._dst.close()
        finally:
            self._dst = None
            self._env.__exit__(None, None, None)
        if self.next_row != self.height:
            raise OutputError(
                f"{self.path}: only {self.next_row} of {self.height} rows were written"
            )

    def __enter__(self) -> StripWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:  # the caller's error wins; just release the file
            try:
                self._dst.close()
            finally:
                self._dst = None
                self._env.__exit__(None, None, None)


class BackgroundWriter:
    """Feed a :class:`StripWriter` from a thread: :meth:`write_rows` only queues the rows.

    ``convert(values, valid) -> (values, valid)`` runs on that thread first (the
    predictor quantises device tensors to uint8 numpy arrays there, so that it
    overlaps the next batch on another core).

    A write error is raised by the next :meth:`write_rows` or by :meth:`close`;
    use as a context manager (on an exception inside it, queued rows are dropped).
    """

    def __init__(self, writer: StripWriter, depth: int = 2, convert: Any = None) -> None:
        self.writer = writer
        self.convert = convert
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=gdal_thread(self._run), name="roadseg-writer", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is None:
                try:
                    row_off, values, valid = item
                    if self.convert is not None:
                        values, valid = self.convert(values, valid)
                    self.writer.write_rows(row_off, values, valid)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write_rows(self, row_off: int, values: Any, valid: Any = None) -> None:
        self._check()
        self._q.put((row_off, values, valid))

    def close(self) -> None:
        """Wait for the queued rows to be written; raise the first write error."""
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()
        self._check()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._error = self._error or RuntimeError("aborted")
            self._q.put(None)
            self._thread.join()


def verify_written(
    path: str | os.PathLike[str], shape: tuple[int, int], name: str | os.PathLike[str] | None = None
) -> None:
    """Read every block of a freshly written raster; raise :class:`OutputError` if one fails.

    GDAL reports some failed writes (a full disk, a file-size limit) only on its
    error stream and still closes the file, so a raster that "was written" can be
    truncated. Called on the temporary file before it is renamed into place, this
    keeps a truncated raster from ever appearing under the output's name.
    """
    label = name if name is not None else path
    try:
        # whole block rows, decoded on all CPUs: every block is still read
        with rasterio.open(path, NUM_THREADS=NUM_THREADS) as ds:
            if (ds.height, ds.width) != tuple(shape):
                raise OutputError(
                    f"{label}: written with shape {ds.shape}, expected {tuple(shape)}"
                )
            step = 4 * BLOCK
            for row in range(0, ds.height, step):
                ds.read(1, window=Window(0, row, ds.width, min(step, ds.height - row)))
    except RasterioError as exc:
        reason = str(exc).split(": ", 1)[-1]
        full = no_space_left(Path(path).parent)
        why = full or f"is the disk full?: {reason}"
        raise OutputError(
            f"{label}: the raster was not written completely ({why}); nothing was left behind"
        ) from exc
