"""On-the-fly resampling to the model's training GSD, and back to the scene's grid.

A model trained at ``g_model`` metres per pixel sees roads of a fixed width in
pixels; a scene at another GSD is read through a :class:`rasterio.vrt.WarpedVRT`
at the model's GSD (nothing is written for the input), predicted there into a
temporary float32 raster, then warped back onto the scene's own grid window by
window (:func:`warp_back`). The output therefore always has the input's grid.

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
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from roadseg.raster.scene import RasterView, Scene
from roadseg.raster.write import BLOCK, StripWriter

log = logging.getLogger(__name__)


def needs_resampling(
    scene_gsd_m: float | None, model_gsd_m: float, tolerance: float = 0.05
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
