"""A picture of a conflation: missing roads, mapped roads and unconfirmed OSM roads.

Colours: roads missing from OSM in ``MISSING_COLOUR`` (magenta), detected roads OSM
already has in ``MAPPED_COLOUR`` (green), OSM roads nothing detected supports in
``UNCONFIRMED_COLOUR`` (cyan), drawn in that order under one another (missing on
top). With a scene, over the dimmed imagery read at a reduced size (the scene
quicklook's drawing: :mod:`roadseg.evaluation.quicklook`); without one, on grey over
the extent of the lines. A legend and the summary line are drawn below. Written
atomically.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.atomic import atomic_path
from roadseg.conflate.conflation import ConflateResult

MISSING_COLOUR = (230, 40, 200)
MAPPED_COLOUR = (40, 190, 60)
UNCONFIRMED_COLOUR = (0, 200, 230)
#: Without a scene, the picture's longer side in pixels.
PLAIN_SIDE = 1024


def _unit(c: tuple[int, int, int]) -> tuple[float, float, float]:
    """An 8-bit colour as matplotlib's 0..1 floats."""
    return (c[0] / 255, c[1] / 255, c[2] / 255)


def _background(
    result: ConflateResult, scene: Path | None, max_side: int
) -> tuple[np.ndarray, Any, Any]:
    """The picture's background, its affine transform and CRS."""
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning

    from roadseg.evaluation.overlay import to_rgb8
    from roadseg.evaluation.quicklook import quicklook_shape
    from roadseg.raster.io import open_raster

    if scene is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with open_raster(scene) as ds:
                shape = quicklook_shape(ds.height, ds.width, max_side)
                bands = [1, 2, 3] if ds.count >= 3 else [1]
                image = ds.read(
                    bands, out_shape=(len(bands), *shape), resampling=Resampling.average
                )
                transform = ds.transform @ Affine.scale(ds.width / shape[1], ds.height / shape[0])
                rgb = (to_rgb8(image, shape).astype(np.float32) * 0.6).astype(np.uint8)
                return rgb, transform, ds.crs
    tables = [
        t for t in (result.missing, result.mapped, result.unconfirmed) if t is not None and len(t)
    ]
    if not tables:
        return to_rgb8(None, (256, 256)), Affine.identity(), result.crs
    b = np.array([t.total_bounds for t in tables])
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    pad = 0.03 * max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    res = max(x1 - x0, y1 - y0) / min(max_side, PLAIN_SIDE)
    shape = (max(1, math.ceil((y1 - y0) / res)), max(1, math.ceil((x1 - x0) / res)))
    return to_rgb8(None, shape), Affine(res, 0, x0, 0, -res, y1), result.crs


def conflation_rgb(
    result: ConflateResult, scene: str | os.PathLike[str] | None = None, max_side: int = 2048
) -> np.ndarray:
    """The picture as an ``h x w x 3`` uint8 array (see the module docstring)."""
    from roadseg.evaluation.quicklook import _lines_mask

    rgb, transform, crs = _background(result, Path(scene) if scene is not None else None, max_side)
    shape = rgb.shape[:2]
    for table, colour in (
        (result.unconfirmed, UNCONFIRMED_COLOUR),
        (result.mapped, MAPPED_COLOUR),
        (result.missing, MISSING_COLOUR),
    ):
        if table is None or len(table) == 0:
            continue
        geoms = table.to_crs(crs).geometry if crs is not None else table.geometry
        rgb[_lines_mask(geoms, shape, transform)] = colour
    return rgb


def write_conflation_quicklook(
    result: ConflateResult,
    out: str | os.PathLike[str],
    scene: str | os.PathLike[str] | None = None,
    max_side: int = 2048,
) -> Path:
    """Write :func:`conflation_rgb` with a legend and the summary below it, as PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rgb = conflation_rgb(result, scene, max_side)
    h, w = rgb.shape[:2]
    zoom = max(1, math.ceil(480 / w))
    rgb = np.repeat(np.repeat(rgb, zoom, axis=0), zoom, axis=1)
    h, w = h * zoom, w * zoom
    dpi, font = 100, max(7.0, min(11.0, w / 60))
    s = result.summary()
    caption = (
        f"missing {s['missing_km']:.2f} km, mapped {s['mapped_km']:.2f} km"
        + (f", unconfirmed {s['unconfirmed_km']:.2f} km" if s["unconfirmed_km"] is not None else "")
        + f"; buffer {result.buffer_m:g} m"
    )
    band = 0.6
    fig = Figure(figsize=(w / dpi, h / dpi + band), dpi=dpi)
    FigureCanvasAgg(fig)
    frac = band / (h / dpi + band)
    ax = fig.add_axes((0, frac, 1, 1 - frac))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    handles = [
        Patch(color=_unit(MISSING_COLOUR), label="missing from OSM"),
        Patch(color=_unit(MAPPED_COLOUR), label="mapped in OSM"),
    ]
    if result.unconfirmed is not None:
        handles.append(Patch(color=_unit(UNCONFIRMED_COLOUR), label="OSM, not detected"))
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, frac),
        ncol=len(handles),
        frameon=False,
        fontsize=font,
        handlelength=1.0,
    )
    fig.text(0.5, 0.08 * frac, caption, ha="center", va="bottom", fontsize=font)
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return out
