"""Small generated rasters for the raster and inference tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine

UTM19N = "EPSG:32619"


def utm_transform(gsd: float = 1.0) -> Affine:
    """North-up grid in UTM 19N (Massachusetts) with ``gsd`` metre pixels."""
    return Affine(gsd, 0.0, 300000.0, 0.0, -gsd, 4700000.0)


def write_raster(
    path: Path,
    data: np.ndarray,
    crs: Any = UTM19N,
    transform: Affine | None = None,
    nodata: float | None = None,
    alpha: bool = False,
    **extra: Any,
) -> Path:
    """Write ``(bands, H, W)`` ``data`` as a GeoTIFF (last band marked alpha if ``alpha``)."""
    count, height, width = data.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": str(data.dtype),
        "transform": transform if transform is not None else utm_transform(),
        **extra,
    }
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    if alpha:  # the last band is an alpha band (GTiff ALPHA=YES)
        profile["photometric"] = "RGB" if count == 4 else "MINISBLACK"
        profile["alpha"] = "YES"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def random_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random uint8 RGB image ``(3, H, W)``."""
    return np.random.default_rng(seed).integers(0, 256, (3, height, width), dtype=np.uint8)
