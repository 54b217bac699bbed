"""Helpers shared by tests/postprocess and tests/vector: small GeoTIFFs and fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import Affine, from_origin

DATA = Path(__file__).resolve().parents[1] / "data" / "masks"
MASS_CROP = DATA / "massachusetts_10078735_15_crop384.png"
PARIS_GRID = DATA / "spacenet_paris_img1447_grid.json"

#: a UTM 31N grid at 1 m (Paris area), used by most synthetic tests
UTM31 = "EPSG:32631"
UTM31_TRANSFORM = from_origin(448_000.0, 5_411_000.0, 1.0, 1.0)


def write_tif(
    path: Path,
    array: np.ndarray,
    crs: str | None = UTM31,
    transform: Affine = UTM31_TRANSFORM,
    nodata=None,
) -> Path:
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    profile = {
        "driver": "GTiff",
        "height": a.shape[0],
        "width": a.shape[1],
        "count": 1,
        "dtype": a.dtype,
        "transform": transform,
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(a[None])
    return path


def massachusetts_crop() -> np.ndarray:
    from PIL import Image

    return np.array(Image.open(MASS_CROP))


def paris_grid() -> dict:
    return json.loads(PARIS_GRID.read_text())
