"""The mosaic of many scenes' probability rasters: one grid, one value per pixel.

Many scenes give the network of their mosaic when the *probabilities* are
mosaicked first and the mosaic is vectorised as one large scene (by blocks with
a halo, :func:`roadseg.vector.vectorize_raster`): a road is then skeletonised
once wherever the scenes overlap, and nothing is cut where they meet.

The grid (rule)
    The first scene's CRS, pixel size and pixel alignment, extended (by whole
    pixels) to the bounding box of every scene. A scene on that grid (same CRS,
    same pixel size, origin on a pixel corner) is read pixel for pixel; any
    other scene is warped onto it with bilinear resampling (``WarpedVRT``).
    Scenes without a CRS can only be mosaicked with each other, on the grid
    their geotransforms give.

Overlaps (rule)
    A pixel covered by several scenes gets the weighted mean of their
    probabilities, each weighted by ``d_row · d_col``: the distances (metres)
    from the pixel centre to the nearer of that scene's top/bottom edges and to
    the nearer of its left/right edges. Predictions near a scene's edge have
    seen the least context and are the least reliable; the weights fade them
    out linearly across the overlap, so the mosaic has no step at any scene's
    edge (a product, not the smaller distance, so that an edge two scenes share
    weighs both alike and leaves the fade across the overlap as it is), and
    identical scenes give exactly their own values (the mean of equal values). A scene's no-data pixels (its mask band) weigh nothing; a pixel no
    scene covers is 0 and no-data in the mosaic.

Example:
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from rasterio.transform import from_origin
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> prof = dict(driver="GTiff", height=4, width=4, count=1, dtype="uint8", crs="EPSG:32631")
    >>> for name, x0, v in (("a.tif", 0, 100), ("b.tif", 2, 200)):
    ...     with rasterio.open(d / name, "w", transform=from_origin(x0, 4, 1, 1), **prof) as ds:
    ...         ds.write(np.full((1, 4, 4), v, np.uint8))
    >>> plan = plan_mosaic([d / "a.tif", d / "b.tif"])
    >>> plan.grid.shape
    (4, 6)
    >>> out = write_mosaic(plan, d / "m.tif")
    >>> with rasterio.open(out) as ds:
    ...     ds.read(1)[0].tolist()  # a, the overlap fading from a to b, b
    [100, 100, 125, 175, 200, 200]
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from shapely.geometry import Polygon

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.raster.georef import SceneGrid, grid_offset

log = logging.getLogger(__name__)

#: Side of the blocks the mosaic is computed and written by (a multiple of the 256-px tiles).
BLOCK = 1024


@dataclass(frozen=True)
class MosaicSource:
    """One scene's raster placed on the mosaic grid.

    ``offset`` is its (row, col) in the mosaic when it lies on the grid, ``None``
    when it is warped; ``footprint`` its outline in the mosaic's CRS.
    """

    path: Path
    grid: SceneGrid
    offset: tuple[int, int] | None
    footprint: Polygon
    gsd: float  # metres per pixel (mean of the axes; map units without CRS)


@dataclass(frozen=True)
class MosaicPlan:
    """The mosaic grid and its sources, in the order given."""

    grid: SceneGrid
    sources: tuple[MosaicSource, ...]

    @property
    def warped(self) -> list[Path]:
        return [s.path for s in self.sources if s.offset is None]


def _apply(t: Affine, cols: Any, rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates of (fractional) pixel positions through ``t``, for arrays."""
    cols, rows = np.asarray(cols, np.float64), np.asarray(rows, np.float64)
    return t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f


def _grid_of(path: Path) -> SceneGrid:
    if not path.is_file():
        raise InputError(f"{path}: no such probability raster")
    return SceneGrid.from_raster(path)


def _pixel_size(g: SceneGrid) -> float:
    t = g.transform
    return math.sqrt(abs(t.a * t.e - t.b * t.d))


def _footprint_in(g: SceneGrid, crs: Any) -> Polygon:
    """``g``'s outline in ``crs`` (edges densified, so a reprojected outline stays close)."""
    from rasterio.warp import transform as warp_xy

    n = 16
    t = g.transform
    cols = np.concatenate(
        [np.linspace(0, g.width, n), np.full(n, g.width), np.linspace(g.width, 0, n), np.zeros(n)]
    )
    rows = np.concatenate(
        [
            np.zeros(n),
            np.linspace(0, g.height, n),
            np.full(n, g.height),
            np.linspace(g.height, 0, n),
        ]
    )
    xs, ys = _apply(t, cols, rows)
    if crs is not None and g.crs is not None and g.crs != crs:
        wx, wy = warp_xy(g.crs, crs, xs.tolist(), ys.tolist())
        xs, ys = np.asarray(wx), np.asarray(wy)
    return Polygon(np.column_stack([xs, ys]))


def plan_mosaic(paths: Sequence[str | os.PathLike[str]]) -> MosaicPlan:
    """The mosaic grid of ``paths`` (see the module docstring for the rule).

    Raises:
        InputError: no raster given, a raster unreadable or missing, or rasters with
            and without a CRS mixed.
    """
    grids = [_grid_of(Path(p)) for p in paths]
    if not grids:
        raise InputError("no probability rasters to mosaic")
    ref = grids[0]
    if any((g.crs is None) != (ref.crs is None) for g in grids):
        bad = next(Path(p) for p, g in zip(paths, grids) if (g.crs is None) != (ref.crs is None))
        raise InputError(
            f"{bad}: cannot mosaic rasters with and without a CRS (the first, {paths[0]}, "
            f"{'has none' if ref.crs is None else 'has one'})"
        )
    feet = [_footprint_in(g, ref.crs) for g in grids]
    x0, y0, x1, y1 = np.array([f.bounds for f in feet]).T
    inv = ~ref.transform
    corners = [inv @ (x, y) for x in (x0.min(), x1.max()) for y in (y0.min(), y1.max())]
    cols, rows = zip(*corners)
    c0, r0 = math.floor(min(cols) + 1e-6), math.floor(min(rows) + 1e-6)
    c1, r1 = math.ceil(max(cols) - 1e-6), math.ceil(max(rows) - 1e-6)
    grid = SceneGrid(c1 - c0, r1 - r0, ref.transform @ Affine.translation(c0, r0), ref.crs)
    sources = []
    for p, g, f in zip(paths, grids, feet):
        at = grid_offset(g, grid)
        size = g.gsd_m() or _pixel_size(g)
        sources.append(MosaicSource(Path(p), g, at, f, size))  # type: ignore[arg-type]
    plan = MosaicPlan(grid, tuple(sources))
    if plan.warped:
        log.info(
            "mosaic: %d raster(s) not on the first one's grid, warped onto it (bilinear): %s",
            len(plan.warped),
            ", ".join(p.name for p in plan.warped),
        )
    return plan


def islands(plan: MosaicPlan, gap: float) -> list[list[int]]:
    """Groups of sources (indices) whose footprints lie within ``gap`` (map units) of each
    other, directly or through others: each group is one mosaic, apart from the rest.

    Scenes far apart would otherwise span a mosaic of mostly empty blocks.
    """
    return groups_within([s.footprint for s in plan.sources], gap)


def groups_within(shapes: Sequence[Any], gap: float) -> list[list[int]]:
    """The indices of ``shapes`` grouped: two shapes within ``gap`` of each other are in one
    group, directly or through others (connected components; each group ascending, the
    groups by their first index).

    >>> from shapely.geometry import box
    >>> groups_within([box(0, 0, 1, 1), box(5, 0, 6, 1), box(1.5, 0, 2, 1)], 0.5)
    [[0, 2], [1]]
    """
    import shapely

    tree = shapely.STRtree(list(shapes))
    left, right = tree.query(list(shapes), predicate="dwithin", distance=gap)
    parent = list(range(len(shapes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left.tolist(), right.tolist()):
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in range(len(shapes)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def sub_plan(plan: MosaicPlan, indices: Sequence[int]) -> MosaicPlan:
    """The mosaic of ``indices`` of ``plan``'s sources alone (the first of them sets the grid)."""
    return plan_mosaic([plan.sources[i].path for i in indices])


# ----------------------------------------------------------------------------- blocks


def _blocks(grid: SceneGrid, size: int) -> Iterator[tuple[int, int, int, int]]:
    for r0 in range(0, grid.height, size):
        for c0 in range(0, grid.width, size):
            yield r0, min(r0 + size, grid.height), c0, min(c0 + size, grid.width)


def _edge_weight(rows: np.ndarray, cols: np.ndarray, g: SceneGrid, gsd: float) -> np.ndarray:
    """The overlap weight (m²) at fractional positions (row, col) of ``g``: the distance to
    its nearer top/bottom edge times the distance to its nearer left/right edge (0 outside)."""
    dr = np.clip(np.minimum(rows, g.height - rows), 0.0, None) * gsd
    dc = np.clip(np.minimum(cols, g.width - cols), 0.0, None) * gsd
    return dr * dc


class _Reader:
    """Windows of one source on the mosaic grid: values as probabilities, weights, validity."""

    def __init__(self, src: MosaicSource, grid: SceneGrid):
        import rasterio

        self.src, self.grid = src, grid
        self._ds = rasterio.open(src.path)
        self._view: Any = self._ds
        if src.offset is None:
            from rasterio.enums import Resampling
            from rasterio.vrt import WarpedVRT

            self._view = WarpedVRT(
                self._ds,
                crs=grid.crs,
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                resampling=Resampling.bilinear,
            )
        self._float = np.dtype(self._ds.dtypes[0]).kind == "f"

    def close(self) -> None:
        if self._view is not self._ds:
            self._view.close()
        self._ds.close()

    def window(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(probability, weight)`` over mosaic rows r0:r1, cols c0:c1, or None if disjoint."""
        from rasterio.windows import Window

        if self.src.offset is None:
            win = Window(c0, r0, c1 - c0, r1 - r0)
            a = self._view.read(1, window=win)
            valid = self._view.read_masks(1, window=win) > 0
            return self._prob(a), np.where(valid, self._warped_weight(r0, r1, c0, c1), 0.0)
        orow, ocol = self.src.offset
        g = self.src.grid
        sr0, sr1 = max(r0 - orow, 0), min(r1 - orow, g.height)
        sc0, sc1 = max(c0 - ocol, 0), min(c1 - ocol, g.width)
        if sr0 >= sr1 or sc0 >= sc1:
            return None
        win = Window(sc0, sr0, sc1 - sc0, sr1 - sr0)
        p = np.zeros((r1 - r0, c1 - c0), np.float64)
        w = np.zeros_like(p)
        rr = slice(sr0 + orow - r0, sr1 + orow - r0)
        cc = slice(sc0 + ocol - c0, sc1 + ocol - c0)
        p[rr, cc] = self._prob(self._ds.read(1, window=win))
        rows = np.arange(sr0, sr1, dtype=np.float64)[:, None] + 0.5
        cols = np.arange(sc0, sc1, dtype=np.float64)[None, :] + 0.5
        valid = self._ds.read_masks(1, window=win) > 0
        w[rr, cc] = np.where(valid, _edge_weight(rows, cols, g, self.src.gsd), 0.0)
        return p, w

    def _prob(self, a: np.ndarray) -> np.ndarray:
        if self._float:
            return np.clip(np.nan_to_num(a.astype(np.float64)), 0.0, 1.0)
        return a.astype(np.float64) / 255.0

    def _warped_weight(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The overlap weight at mosaic pixel centres, through this scene's CRS and grid."""
        from rasterio.warp import transform as warp_xy

        rows, cols = np.mgrid[r0:r1, c0:c1].astype(np.float64) + 0.5
        xs, ys = _apply(self.grid.transform, cols.ravel(), rows.ravel())
        g = self.src.grid
        if g.crs is not None and g.crs != self.grid.crs:
            xs, ys = map(np.asarray, warp_xy(self.grid.crs, g.crs, xs, ys))
        sc, sr = _apply(~g.transform, xs, ys)
        w = _edge_weight(np.asarray(sr), np.asarray(sc), g, self.src.gsd)
        return np.asarray(w).reshape(rows.shape)


def write_mosaic(
    plan: MosaicPlan,
    out: str | os.PathLike[str],
    tags: dict[str, str] | None = None,
    block: int = BLOCK,
) -> Path:
    """Write the mosaic of ``plan`` to ``out`` (atomically): a probability GeoTIFF like the
    inference stage's (uint8 ``round(255 p)``, 256-px tiles, DEFLATE, an internal mask
    band for the pixels no scene covers), with ``tags``. Memory: a few ``block``² arrays."""
    import rasterio

    out = Path(out)
    grid = plan.grid
    profile = {
        "driver": "GTiff",
        "height": grid.height,
        "width": grid.width,
        "count": 1,
        "dtype": "uint8",
        "crs": grid.crs,
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 2,
        "BIGTIFF": "IF_SAFER",
        "SPARSE_OK": True,  # blocks no scene covers are never written
    }
    readers = _Readers(plan)
    try:
        with atomic_path(out) as tmp, rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                ds = rasterio.open(tmp, "w", **profile)
            with ds:
                if tags:
                    ds.update_tags(**tags)
                for r0, r1, c0, c1 in _blocks(grid, block):
                    _write_block(ds, readers.over(r0, r1, c0, c1), r0, r1, c0, c1)
    finally:
        readers.close()
    return out


class _Readers:
    """The sources' readers, opened when a block first needs them and closed once more
    than ``keep`` are open (a mosaic of thousands of scenes stays within the open-file
    limit; blocks go row by row, so a scene is rarely reopened more than once a row)."""

    def __init__(self, plan: MosaicPlan, keep: int = 64):
        self.plan, self.keep = plan, keep
        self.open: dict[int, _Reader] = {}
        inv = ~plan.grid.transform
        self.boxes = []  # each source's bounding box in mosaic (row0, row1, col0, col1)
        for src in plan.sources:
            x0, y0, x1, y1 = src.footprint.bounds
            cols, rows = _apply(inv, [x0, x1, x0, x1], [y0, y0, y1, y1])
            self.boxes.append((rows.min(), rows.max(), cols.min(), cols.max()))

    def over(self, r0: int, r1: int, c0: int, c1: int) -> list[_Reader]:
        """The readers of the sources whose bounding box meets the block."""
        out = []
        for i, (br0, br1, bc0, bc1) in enumerate(self.boxes):
            if br1 <= r0 or br0 >= r1 or bc1 <= c0 or bc0 >= c1:
                continue
            rd = self.open.pop(i, None) or _Reader(self.plan.sources[i], self.plan.grid)
            self.open[i] = rd  # most recently used last
            out.append(rd)
        while len(self.open) > max(self.keep, len(out)):
            self.open.pop(next(iter(self.open))).close()
        return out

    def close(self) -> None:
        for rd in self.open.values():
            rd.close()
        self.open.clear()


def _write_block(ds: Any, readers: list[_Reader], r0: int, r1: int, c0: int, c1: int) -> None:
    from rasterio.windows import Window

    acc = np.zeros((r1 - r0, c1 - c0), np.float64)
    wsum = np.zeros_like(acc)
    for rd in readers:
        got = rd.window(r0, r1, c0, c1)
        if got is not None:
            p, w = got
            acc += w * p
            wsum += w
    if not (wsum > 0).any():
        return
    covered = wsum > 0
    p = np.divide(acc, wsum, out=np.zeros_like(acc), where=covered)
    codes = np.clip(np.rint(p * 255.0), 0, 255).astype(np.uint8)
    win = Window(c0, r0, c1 - c0, r1 - r0)
    ds.write(codes[None], window=win)
    ds.write_mask(np.where(covered, 255, 0).astype(np.uint8), window=win)
