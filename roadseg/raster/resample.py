"""On-the-fly resampling to the model's training GSD, and back to the scene's grid.

A model trained at ``g_model`` metres per pixel sees roads of a fixed width in
pixels. Two ways to get there and back; the output always has the input's grid:

* the common case, a scene an integer factor ``f`` finer than the model whose
  sides are multiples of ``f`` (1 m or 0.5 m imagery, 2 m model): the strips
  are read at the scene's resolution and averaged over ``f x f`` blocks on the
  device (:func:`area_pool`, GDAL's ``average`` for integer factors, rounded
  to the scene's integer type as GDAL does), and the blended probabilities are
  interpolated back bilinearly, row strip by row strip, on the device
  (:class:`Upsampler`, GDAL's ``bilinear`` for an enlargement, pixel centres
  aligned: source coordinate ``(i + 0.5) / f - 0.5``, clamped at the edges);
* any other ratio: the scene is read through a :class:`rasterio.vrt.WarpedVRT`
  at the model's GSD (GDAL's multi-threaded warper), predicted into a
  temporary float32 raster, then warped back window by window (:func:`warp_back`).

Resampling happens only when the relative difference exceeds a tolerance::

    |g_scene / g_model - 1| > tolerance          (default 5 %)

The model grid covers exactly the scene's extent: along each axis
``n' = max(1, round(n · g_scene / g_model))`` pixels of size ``extent / n'``,
so the GSD used differs from ``g_model`` by less than half a pixel over the
scene, and no edge pixel of the scene falls outside the model grid.

Example:
    >>> needs_resampling(0.3, 1.0), needs_resampling(1.02, 1.0)
    (True, False)
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
import torch.nn.functional as F
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from roadseg.raster.georef import GSD_TOLERANCE  # defined there: light to import
from roadseg.raster.scene import RasterView, Scene
from roadseg.raster.write import BLOCK, StripWriter

log = logging.getLogger(__name__)



def needs_resampling(
    scene_gsd_m: float | None, model_gsd_m: float, tolerance: float = GSD_TOLERANCE
) -> bool:
    """Whether ``|scene / model - 1| > tolerance``; ``False`` when the scene GSD is unknown."""
    if tolerance < 0:
        raise ValueError(f"gsd tolerance must be >= 0, got {tolerance}")
    if scene_gsd_m is None or model_gsd_m is None or model_gsd_m <= 0:
        return False
    return abs(scene_gsd_m / model_gsd_m - 1.0) > tolerance


@dataclass(frozen=True)
class ModelGrid:
    """The scene's extent on a grid at the model's GSD."""

    height: int
    width: int
    transform: Affine


def model_grid(scene: Scene, model_gsd_m: float) -> ModelGrid:
    """Grid over the scene's extent with pixels of (about) ``model_gsd_m`` metres."""
    if scene.gsd_xy_m is None:
        raise ValueError("a scene without CRS has no GSD and cannot be resampled")
    gx, gy = scene.gsd_xy_m
    width = max(1, round(scene.width * gx / model_gsd_m))
    height = max(1, round(scene.height * gy / model_gsd_m))
    t = scene.transform @ Affine.scale(scene.width / width, scene.height / height)
    if width * height > 4 * scene.width * scene.height:
        log.warning(
            "%s: GSD %.2f m is much coarser than the model's %.2f m; the scene is enlarged "
            "%.1fx per side and thin roads may be invisible to the model",
            scene.path,
            scene.gsd_m,
            model_gsd_m,
            math.sqrt(width * height / (scene.width * scene.height)),
        )
    return ModelGrid(height=height, width=width, transform=t)


def integer_factor(scene_shape: tuple[int, int], grid: ModelGrid) -> int | None:
    """``f`` when the model grid is exactly the scene averaged over ``f x f`` blocks, else ``None``."""
    h, w = scene_shape
    if grid.height < 1 or h % grid.height or w % grid.width:
        return None
    f = h // grid.height
    return f if f > 1 and w // grid.width == f else None


def pool_valid(valid: np.ndarray, factor: int) -> np.ndarray:
    """A model pixel is valid when any of its ``factor x factor`` scene pixels is."""
    if factor == 1:
        return valid
    n, m = valid.shape[0] // factor, valid.shape[1] // factor
    blocks = valid[: n * factor, : m * factor].reshape(n, factor, m, factor)
    return np.asarray(blocks.any(axis=(1, 3)))


def _block_sum(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Sum ``(n·f, m·f, c)`` over ``f x f`` blocks with strided adds (a 5-D ``sum`` is ~7x slower)."""
    h, w, c = x.shape
    n, m = h // factor, w // factor
    v = x[: n * factor, : m * factor].reshape(n, factor, m * factor * c)
    rows = v[:, 0].clone()
    for k in range(1, factor):
        rows += v[:, k]
    r = rows.view(n, m, factor, c)
    out = r[:, :, 0].clone()
    for k in range(1, factor):
        out += r[:, :, k]
    return out


def area_pool(x: torch.Tensor, factor: int, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Average ``(rows, cols, bands)`` over ``factor x factor`` blocks (valid pixels only).

    Integer input is summed exactly and the mean rounded to the nearest
    integer, as GDAL's ``average`` resampling does when it writes the scene's
    own type.
    """
    integer = not x.dtype.is_floating_point
    exact = torch.int16 if factor * factor * 255 < 2**15 and x.dtype == torch.uint8 else torch.int32
    xs = x.to(exact if integer else torch.float32)
    if valid is None:
        out = _block_sum(xs, factor).to(torch.float32).mul_(1.0 / (factor * factor))
    else:
        vm = valid.to(xs.dtype)[..., None]
        count = _block_sum(vm, factor).to(torch.float32)
        out = _block_sum(xs * vm, factor).to(torch.float32) / count.clamp_(min=1.0)
    if integer:
        out = out.add_(0.5).floor_()
    return out


def _lerp_index(n_out: int, n_in: int, factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbours and weight of output pixel centres in input pixels (edges clamped)."""
    s = (np.arange(n_out) + 0.5) / factor - 0.5
    fl = np.floor(s)
    i0 = np.clip(fl, 0, n_in - 1).astype(np.int64)
    i1 = np.clip(fl + 1, 0, n_in - 1).astype(np.int64)
    return i0, i1, (s - fl).astype(np.float32)


class Upsampler:
    """Stream model-grid rows back to the scene grid (an integer factor finer) bilinearly.

    :meth:`push` takes the model grid's final rows in order (tensors on the
    device, as :func:`roadseg.inference.engine.run_tiles` gives them with
    ``tensor_sink``) and hands every scene row whose two source rows have
    arrived to ``sink(row_off, values, valid)``; only one model row is carried
    over. With ``masked`` (the scene has nodata), invalid model pixels do not contribute (the weights of the valid
    ones are renormalised, as GDAL does); a scene pixel is valid when some
    contributing model pixel is and ``valid_reader`` (the scene's own mask at
    full resolution, so input nodata stays exactly nodata) says so.
    """

    def __init__(
        self,
        model_shape: tuple[int, int],
        scene_shape: tuple[int, int],
        sink: Any,
        device: torch.device,
        valid_reader: Any = None,
        masked: bool = True,
    ) -> None:
        (self.hm, wm), (self.h, w) = model_shape, scene_shape
        if self.h % self.hm or w % wm or self.h // self.hm != w // wm:
            raise ValueError(f"{scene_shape} is not an integer multiple of {model_shape}")
        self.factor = self.h // self.hm
        self.sink, self.device, self.valid_reader = sink, device, valid_reader
        self.masked = masked
        self.r0, self.r1, _ = _lerp_index(self.h, self.hm, self.factor)
        self.values: torch.Tensor | None = None  # model rows [self.start, self.received)
        self.valid: torch.Tensor | None = None
        self.start = self.received = self.next_row = 0

    def push(self, row_off: int, values: torch.Tensor, valid: torch.Tensor) -> None:
        if row_off != self.received:
            raise ValueError(f"model rows must arrive in order: expected {self.received}")
        if self.values is None or self.valid is None:
            self.values, self.valid = values, valid
        else:
            self.values = torch.cat([self.values, values])
            self.valid = torch.cat([self.valid, valid])
        self.received += values.shape[0]
        last = self.next_row
        while last < self.h and (self.r1[last] < self.received or self.received == self.hm):
            last += 1
        if last > self.next_row:
            self._emit(self.next_row, last)
            self.next_row = last
            if last < self.h:  # drop the model rows no later scene row needs
                drop = int(self.r0[last]) - self.start
                self.values, self.valid = self.values[drop:], self.valid[drop:]
                self.start += drop

    def _emit(self, a: int, b: int) -> None:
        assert self.values is not None and self.valid is not None
        f = self.factor
        lo, hi = int(self.r0[a]), int(self.r1[b - 1]) + 1
        # interpolating the chunk [lo, hi) is exact for rows a..b-1: their source
        # rows lie inside it, so the edge clamping of the chunk never applies to them
        chunk = self.values[lo - self.start : hi - self.start]
        rows = slice(a - lo * f, b - lo * f)
        size = ((hi - lo) * f, chunk.shape[1] * f)
        if not self.masked:  # every model pixel valid: plain bilinear interpolation
            values = F.interpolate(chunk[None, None], size=size, mode="bilinear")[0, 0, rows]
            self.sink(a, values, torch.ones_like(values, dtype=torch.bool))
            return
        m = self.valid[lo - self.start : hi - self.start].to(torch.float32)
        both = F.interpolate(torch.stack([chunk * m, m])[None], size=size, mode="bilinear")
        num, den = both[0, 0, rows], both[0, 1, rows]
        valid = den > 1e-6
        values = (num / den).masked_fill_(~valid, 0.0)
        if self.valid_reader is not None:
            scene_valid = self.valid_reader(a, b - a)
            if scene_valid is not None:
                valid &= torch.from_numpy(scene_valid).to(self.device)
                values.masked_fill_(~valid, 0.0)
        self.sink(a, values, valid)

    def finish(self) -> None:
        if self.next_row != self.h:
            raise ValueError(f"only {self.next_row} of {self.h} rows were resampled back")


def _resampling_to(src_gsd: float, dst_gsd: float) -> Resampling:
    # averaging when shrinking avoids aliasing; bilinear when enlarging
    return Resampling.average if dst_gsd > src_gsd * 1.05 else Resampling.bilinear


@contextlib.contextmanager
def warped_view(scene: Scene, model_gsd_m: float) -> Iterator[tuple[RasterView, ModelGrid]]:
    """A :class:`RasterView` of the scene resampled to ``model_gsd_m`` (a WarpedVRT)."""
    grid = model_grid(scene, model_gsd_m)
    vrt_kwargs: dict[str, Any] = {}
    if scene.dataset.nodata is not None:
        vrt_kwargs["src_nodata"] = scene.dataset.nodata
        vrt_kwargs["nodata"] = scene.dataset.nodata
    with WarpedVRT(
        scene.dataset,
        src_transform=scene.transform,  # differs from the file's for a local grid (--gsd)
        crs=scene.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=_resampling_to(scene.gsd_m or model_gsd_m, model_gsd_m),
        **vrt_kwargs,
    ) as vrt:
        yield scene.view(vrt), grid


def warp_back(
    model_raster: str | Path,
    scene: Scene,
    writer: StripWriter,
    rows_per_read: int = BLOCK,
    progress: Any = None,
) -> None:
    """Warp the float32 probability raster at model GSD onto the scene grid, by strips.

    Output validity: the scene's own valid mask (read on the original grid, so
    input nodata stays exactly nodata) and a finite warped value.
    """
    view = scene.view()
    with (
        rasterio.open(model_raster) as src,
        WarpedVRT(
            src,
            crs=scene.crs,
            transform=scene.transform,
            width=scene.width,
            height=scene.height,
            resampling=Resampling.bilinear,
            src_nodata=float("nan"),
            nodata=float("nan"),
        ) as vrt,
    ):
        for row in range(0, scene.height, rows_per_read):
            n = min(rows_per_read, scene.height - row)
            window = Window(0, row, scene.width, n)
            values = vrt.read(1, window=window)
            valid = np.isfinite(values)
            if scene.masked:
                scene_valid = view.read_valid(window)
                if scene_valid is not None:
                    valid &= scene_valid
            writer.write_rows(row, np.nan_to_num(values, nan=0.0), valid)
            if progress is not None:
                progress.update(n)
