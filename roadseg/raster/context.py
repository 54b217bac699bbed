"""A scene with its neighbours' pixels around it: a context window on one grid.

Scenes cut from one grid (tiles of an orthophoto, quadrants of a scene, strips
with or without overlap) are predicted one at a time, but a model tile near a
scene's edge should see what lies beyond it, as it would in the mosaic the
scenes were cut from. :func:`write_context_vrt` writes a GDAL VRT over a window
of the scene's grid that reaches into its neighbours (the scene's own pixels on
top, pixels no scene covers marked no-data by the VRT's mask band); the
probabilities of that window are then cut back to the scene's own grid by
:func:`crop_to_scene`. Where the window is chosen by
:func:`roadseg.raster.grid.lattice_window`, the scene's probabilities are those of
the mosaic, pixel for pixel (see :mod:`roadseg.pipeline.context`).

No pixel is resampled here: only scenes on the scene's own grid (same CRS, pixel
size and pixel corners, :func:`roadseg.raster.georef.grid_offset`) and with the
same bands can be neighbours.

Example:
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from rasterio.transform import from_origin
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> prof = dict(driver="GTiff", height=2, width=2, count=1, dtype="uint8", crs="EPSG:32631")
    >>> for name, x0, v in (("a.tif", 0, 10), ("b.tif", 2, 20)):
    ...     with rasterio.open(d / name, "w", transform=from_origin(x0, 2, 1, 1), **prof) as ds:
    ...         ds.write(np.full((1, 2, 2), v, np.uint8))
    >>> b = Neighbour(str(d / "b.tif"), Rect(0, 2, 2, 2))
    >>> ctx = SceneContext(Rect(-1, 0, 3, 4), (b,), (2, 2))  # a row above
    >>> vrt = write_context_vrt(d / "a.tif", ctx, d / "a.context.vrt")
    >>> with rasterio.open(vrt) as ds:
    ...     ds.read(1).tolist(), ds.read_masks(1)[0].tolist()
    ([[0, 0, 0, 0], [10, 10, 20, 20], [10, 10, 20, 20]], [0, 0, 0, 0])
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from affine import Affine

from roadseg.atomic import atomic_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle: ``(row, col)`` of its top-left corner, and its size."""

    row: int
    col: int
    height: int
    width: int

    def intersection(self, other: Rect) -> Rect | None:
        r0, c0 = max(self.row, other.row), max(self.col, other.col)
        r1 = min(self.row + self.height, other.row + other.height)
        c1 = min(self.col + self.width, other.col + other.width)
        return Rect(r0, c0, r1 - r0, c1 - c0) if r1 > r0 and c1 > c0 else None


@dataclass(frozen=True)
class Neighbour:
    """Another scene on the scene's grid: its file and where its pixels lie there."""

    path: str
    rect: Rect


@dataclass(frozen=True)
class SceneContext:
    """The window a scene is predicted in, on its own grid (the scene is at (0, 0)), and
    the neighbours whose pixels fill it, painted in this order (the scene last)."""

    window: Rect
    neighbours: tuple[Neighbour, ...]
    size: tuple[int, int]  # the scene's own (rows, cols)

    def describe(self) -> dict[str, object]:
        """What identifies the context in a cache key (the files' identities come apart)."""
        w = self.window
        return {
            "window": [w.row, w.col, w.height, w.width],
            "neighbours": [
                [n.path, n.rect.row, n.rect.col, n.rect.height, n.rect.width]
                for n in self.neighbours
            ],
            "size": list(self.size),
        }


def _source(path: str, band: str, src: Rect, dst: Rect) -> str:
    return (
        "<SimpleSource>"
        f'<SourceFilename relativeToVRT="0">{escape(path)}</SourceFilename>'
        f"<SourceBand>{band}</SourceBand>"
        f'<SrcRect xOff="{src.col}" yOff="{src.row}" xSize="{src.width}" ySize="{src.height}"/>'
        f'<DstRect xOff="{dst.col}" yOff="{dst.row}" xSize="{dst.width}" ySize="{dst.height}"/>'
        "</SimpleSource>"
    )


def _placements(scene: str, ctx: SceneContext) -> list[tuple[str, Rect, Rect]]:
    """Each painted file with its rectangle read (its pixels) and written (the window's)."""
    out = []
    w = ctx.window
    placed = [(os.path.abspath(n.path), n.rect) for n in ctx.neighbours]
    for path, rect in [*placed, (scene, Rect(0, 0, *ctx.size))]:
        inter = w.intersection(rect)
        if inter is None:
            continue
        src = Rect(inter.row - rect.row, inter.col - rect.col, inter.height, inter.width)
        dst = Rect(inter.row - w.row, inter.col - w.col, inter.height, inter.width)
        out.append((path, src, dst))
    return out


def write_context_vrt(
    scene: str | os.PathLike[str], ctx: SceneContext, out: str | os.PathLike[str]
) -> Path:
    """Write the VRT of ``ctx.window`` around ``scene`` (see the module docstring).

    The bands keep the scene's data types, colour interpretation and descriptions
    (band choice reads them); validity is the VRT's mask band, painted from every
    file's own mask (a nodata value, an alpha or a mask band; all valid without).
    """
    from roadseg.raster.io import open_raster

    scene = os.path.abspath(scene)  # the VRT lives in the cache folder, not where it ran
    with open_raster(scene) as ds:
        count, dtypes = ds.count, ds.dtypes
        interp = [c.name.capitalize() for c in ds.colorinterp]
        descriptions = list(ds.descriptions)
        crs_wkt = ds.crs.to_wkt() if ds.crs is not None else None
        t = ds.transform @ Affine.translation(ctx.window.col, ctx.window.row)
    placements = _placements(scene, ctx)
    bands = []
    for b in range(1, count + 1):
        gdal_type = _GDAL_TYPES[dtypes[b - 1]]
        desc = descriptions[b - 1]
        bands.append(
            f'<VRTRasterBand dataType="{gdal_type}" band="{b}">'
            f"<ColorInterp>{interp[b - 1]}</ColorInterp>"
            + (f"<Description>{escape(desc)}</Description>" if desc else "")
            + "".join(_source(p, str(b), s, d) for p, s, d in placements)
            + "</VRTRasterBand>"
        )
    mask = (
        '<MaskBand><VRTRasterBand dataType="Byte">'
        + "".join(_source(p, "mask,1", s, d) for p, s, d in placements)
        + "</VRTRasterBand></MaskBand>"
    )
    w = ctx.window
    xml = (
        f'<VRTDataset rasterXSize="{w.width}" rasterYSize="{w.height}">'
        + (f"<SRS>{escape(crs_wkt)}</SRS>" if crs_wkt else "")
        + f"<GeoTransform>{', '.join(repr(v) for v in t.to_gdal())}</GeoTransform>"
        + "".join(bands)
        + mask
        + "</VRTDataset>\n"
    )
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_text(xml)
    return out


#: numpy data type names as GDAL's VRT spells them
_GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "uint64": "UInt64",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
}


def crop_to_scene(
    probability: str | os.PathLike[str], ctx: SceneContext, out: str | os.PathLike[str]
) -> Path:
    """Cut the window's probability raster back to the scene (``ctx.size``), as a
    cloud-optimised GeoTIFF with the window's tags and mask, written atomically."""
    from roadseg.raster.cog import write_cog

    out = Path(out)
    h, w = ctx.size
    src = f"vrt://{os.fspath(probability)}?srcwin={-ctx.window.col},{-ctx.window.row},{w},{h}"
    with atomic_path(out) as tmp:
        write_cog(src, tmp, out)
    return out
