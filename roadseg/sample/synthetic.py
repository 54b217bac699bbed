"""Synthetic scenes with known roads, and a model whose output is known exactly.

Tests and benchmarks of the whole pipeline need results they can predict. Two
pieces give them:

* :func:`write_road_scene`: a georeferenced RGB GeoTIFF, dark ground with bright
  straight roads of a given width drawn between pixel end points;
* :func:`brightness_checkpoint`: a real ResUNet checkpoint whose weights are set by
  hand so that it is a *pointwise* brightness detector. Every convolution is zero
  except the two 1×1 shortcut projections that carry the mean normalised band
  value from the input through the level-1 skip connection to the head, so

  .. math::  \\text{logit}(p) = g \\cdot \\frac{1}{B}\\sum_b \\frac{v_b/s - \\mu_b}{\\sigma_b} + c

  (``g`` = ``gain``, ``c`` = ``bias``; BN layers are at their initial running
  statistics, i.e. the identity up to ``1/sqrt(1 + 1e-5)``). Bright roads get
  probabilities near 1 and dark ground near 0, whatever the tile layout, so a scene
  cut into pieces has exactly the same probabilities as the whole.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

Line = tuple[tuple[float, float], tuple[float, float]]


def brightness_checkpoint(
    path: str | os.PathLike[str],
    filters: Sequence[int] = (4, 8),
    gsd_m: float = 2.0,
    threshold: float | None = 0.5,
    gain: float = 4.0,
    bias: float = 0.0,
    in_bands: int = 3,
) -> Path:
    """Write a ResUNet checkpoint that maps brightness to road probability (see module doc)."""
    import torch

    from roadseg.models import CheckpointMeta, Normalisation, build_model, save_checkpoint

    filters = [int(f) for f in filters]
    if filters[0] == in_bands:
        raise ValueError(f"filters[0] must differ from in_bands ({in_bands}) for a 1x1 projection")
    model: Any = build_model("resunet", in_channels=in_bands, filters=filters)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.zero_()
                if module.bias is not None:
                    module.bias.zero_()
        # input -> level-1 channel 0: the mean of the normalised bands
        first_proj = model.encoder[0].shortcut[0]
        first_proj.weight[0, :, 0, 0] = 1.0 / in_bands
        # level-1 skip (after the upsampled deeper features in the concat) -> channel 0
        last_proj = model.decoder[-1].shortcut[0]
        last_proj.weight[0, filters[1], 0, 0] = 1.0
        model.head.weight[0, 0, 0, 0] = gain
        model.head.bias[0] = bias
    meta = CheckpointMeta(
        architecture="resunet",
        arch_args={"filters": filters},
        in_bands=in_bands,
        band_names=["red", "green", "blue"][:in_bands] + [f"b{i}" for i in range(3, in_bands)],
        normalisation=Normalisation(mean=[0.5] * in_bands, std=[0.25] * in_bands),
        gsd_m=gsd_m,
        threshold=threshold,
        tile=64,
        provenance={"kind": "synthetic brightness detector (hand-set weights)"},
    )
    save_checkpoint(path, model, meta)
    return Path(path)


def draw_roads(
    height: int, width: int, lines: Sequence[Line], road_width_px: int = 3
) -> np.ndarray:
    """Boolean (height, width) mask of straight roads between ``(row, col)`` end points."""
    from scipy import ndimage
    from skimage.draw import line as draw_line

    mask = np.zeros((height, width), dtype=bool)
    for (r0, c0), (r1, c1) in lines:
        rr, cc = draw_line(int(round(r0)), int(round(c0)), int(round(r1)), int(round(c1)))
        keep = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
        mask[rr[keep], cc[keep]] = True
    if road_width_px > 1:
        structure = np.ones((road_width_px, road_width_px), dtype=bool)
        mask = ndimage.binary_dilation(mask, structure=structure)
    return mask


def write_road_scene(
    path: str | os.PathLike[str],
    lines: Sequence[Line],
    height: int = 256,
    width: int = 256,
    gsd_m: float = 2.0,
    origin: tuple[float, float] = (500000.0, 5000000.0),
    crs: str | None = "EPSG:32633",
    road_width_px: int = 3,
    ground: int = 25,
    road: int = 230,
    nodata: int | None = None,
    nodata_mask: np.ndarray | None = None,
) -> Path:
    """Write an RGB GeoTIFF of bright roads on dark ground; returns ``path``.

    ``origin`` is the upper-left corner (x, y) in ``crs``; pixels are ``gsd_m``
    square, north-up. ``crs=None`` writes a raster without georeferencing.
    Pixels where ``nodata_mask`` is true get the value ``nodata``.
    """
    from rasterio.transform import from_origin

    from roadseg.raster.io import open_raster

    roads = draw_roads(height, width, lines, road_width_px)
    image = np.where(roads, road, ground).astype(np.uint8)
    image = np.repeat(image[None], 3, axis=0)
    if nodata_mask is not None:
        if nodata is None:
            raise ValueError("nodata_mask needs a nodata value")
        image[:, nodata_mask] = nodata
    profile = dict(
        driver="GTiff",
        width=width,
        height=height,
        count=3,
        dtype="uint8",
        tiled=True,
        blockxsize=128,
        blockysize=128,
        compress="deflate",
    )
    if crs is not None:
        profile.update(crs=crs, transform=from_origin(origin[0], origin[1], gsd_m, gsd_m))
    if nodata is not None:
        profile["nodata"] = nodata
    with open_raster(path, "w", **profile) as dst:
        dst.write(image)
    return Path(path)
