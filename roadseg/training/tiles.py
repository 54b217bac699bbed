"""Whole training tiles held in memory at the training ground sample distance (GSD).

A tile is an image (bands, H, W) uint8, a soft road label (H, W) float32 in
[0, 1] and a validity mask (H, W) bool. Invalid pixels are the no-imagery areas
of Massachusetts tiles: pure white (255 in every band), through which the labels
carry on although nothing can be seen.

Resampling to a coarser training GSD uses area averaging (``F.interpolate`` with
``mode="area"``) for the image and the label alike, so a 7 px road at 1 m becomes
a 3.5 px road at 2 m whose edge pixels carry fractional labels. A pixel of the
coarse grid is valid when at least half of the fine pixels it covers are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from roadseg.errors import InputError
from roadseg.raster.georef import gsd_m as raster_gsd_m
from roadseg.raster.io import open_raster

log = logging.getLogger(__name__)


@dataclass
class TrainingTile:
    """One image/label pair at the training GSD."""

    name: str
    image: np.ndarray  # (bands, H, W) uint8
    label: np.ndarray  # (H, W) float32 in [0, 1]
    valid: np.ndarray  # (H, W) bool

    @property
    def shape(self) -> tuple[int, int]:
        return self.label.shape  # type: ignore[return-value]


def white_mask(image: np.ndarray) -> np.ndarray:
    """Pixels that are 255 in every band: the no-imagery areas of Massachusetts tiles."""
    return np.all(image == 255, axis=0)


def _read(path: Path) -> tuple[np.ndarray, float | None]:
    """Read all bands and the pixel size in metres (``None`` without georeferencing)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with open_raster(path) as src:
                data = src.read()
                gsd = raster_gsd_m(src.crs, src.transform, src.width, src.height)
    except RasterioIOError as exc:
        raise InputError(f"{path}: cannot read as a raster ({exc})") from exc
    return data, gsd


def _area_resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))[None]
    return F.interpolate(t, size=size, mode="area")[0].numpy()


def load_tile(
    image_path: str | Path,
    label_path: str | Path,
    gsd_m: float,
    source_gsd_m: float | None = None,
    bands: int = 3,
) -> TrainingTile:
    """Load an image and its road mask, resampled to ``gsd_m`` metres per pixel.

    Args:
        image_path: RGB(A) image (GeoTIFF, TIFF or PNG).
        label_path: road mask, {0, 255} or {0, 1}, same size as the image.
        gsd_m: training GSD in metres.
        source_gsd_m: the image's GSD when the file has no georeferencing
            (Massachusetts PNG copies: 1.0); a georeferenced file's own pixel
            size wins.
        bands: number of leading bands to keep (drops an alpha band).
    """
    image_path, label_path = Path(image_path), Path(label_path)
    image, gsd_img = _read(image_path)
    label, _ = _read(label_path)
    if image.shape[0] < bands:
        raise InputError(f"{image_path}: has {image.shape[0]} band(s), training needs {bands}")
    image = image[:bands]
    if image.dtype != np.uint8:
        raise InputError(f"{image_path}: training expects 8-bit imagery, got {image.dtype}")
    if label.shape[1:] != image.shape[1:]:
        raise InputError(
            f"{label_path}: label is {label.shape[1]}x{label.shape[2]} but the image "
            f"{image_path.name} is {image.shape[1]}x{image.shape[2]}"
        )
    road = (label[0] > 0).astype(np.float32)
    valid = ~white_mask(image)
    src_gsd = gsd_img if gsd_img is not None else source_gsd_m
    if src_gsd is None:
        raise InputError(f"{image_path}: no georeferencing; give the source GSD in metres")
    factor = gsd_m / src_gsd
    if abs(factor - 1.0) > 1e-6:
        h, w = road.shape
        size = (max(1, round(h / factor)), max(1, round(w / factor)))
        image = np.clip(np.rint(_area_resize(image, size)), 0, 255).astype(np.uint8)
        road = _area_resize(road[None], size)[0]
        valid = _area_resize(valid[None].astype(np.float32), size)[0] >= 0.5
    return TrainingTile(image_path.stem, image, road.astype(np.float32), valid)
