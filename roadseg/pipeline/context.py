"""Which neighbours each scene of a many-scene run is predicted with (its context window).

Scenes cut from one grid are predicted as if their mosaic were predicted whole:
a model tile that reaches across a cut sees the neighbour's pixels, as it would
in the mosaic, instead of the reflection a scene's own edge gives. For each
*group* (scenes on one grid, same bands, within one model tile of each other,
directly or through other scenes) the tiles are laid on the group's bounding
box, as :func:`roadseg.raster.grid.tile_starts` lays them on one scene; a scene
is predicted over :func:`roadseg.raster.grid.lattice_window`, the union of the
tiles that touch it, filled from the group's scenes
(:func:`roadseg.raster.context.write_context_vrt`), and cut back to its own
grid. Every pixel of the scene then gets the tiles, the blending weights and the
pixels those tiles see in the mosaic, so the scenes' probabilities *are* the
mosaic's (exactly, at the model's GSD or an integer multiple of it whose grid
divides the group; within the resampling's rounding otherwise), and the network
of their mosaic (:mod:`roadseg.pipeline.mosaic`) is the network of the mosaic
predicted whole: four quadrants of a tile give the tile's network.

The price: a scene's tiles within one tile of its cut edges are predicted by
both scenes (for scenes much larger than a tile, a few per cent more tiles).
Not grouped, each predicted alone as before: scenes on other grids (another CRS,
pixel size or a sub-pixel shift; the mosaic warps those), URLs, a run with
``--bbox``, and runs with ``cluster.context`` off.

Example:
    >>> group_extent([Rect(0, 0, 750, 750), Rect(0, 750, 750, 750)])
    Rect(row=0, col=0, height=750, width=1500)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from roadseg.pipeline.config import ExtractConfig
from roadseg.raster.context import Neighbour, Rect, SceneContext
from roadseg.raster.georef import SceneGrid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Placed:
    """A scene on the group's reference grid."""

    index: int
    path: str
    rect: Rect  # on the reference grid
    grid: SceneGrid
    bands: tuple[int, tuple[str, ...]]  # count and data types: only like scenes mix


@dataclass(frozen=True)
class Lattice:
    """Model tiles in model pixels, and scene pixels per model pixel along rows and cols."""

    tile: int
    overlap: int
    factor: tuple[float, float]


def group_extent(rects: Sequence[Rect]) -> Rect:
    """The bounding rectangle of ``rects``."""
    r0 = min(r.row for r in rects)
    c0 = min(r.col for r in rects)
    r1 = max(r.row + r.height for r in rects)
    c1 = max(r.col + r.width for r in rects)
    return Rect(r0, c0, r1 - r0, c1 - c0)


def axis_window(start: int, stop: int, length: int, lattice: Lattice, axis: int) -> tuple[int, int]:
    """:func:`~roadseg.raster.grid.lattice_window` in scene pixels (``axis``: 0 rows, 1 cols).

    The tiles are laid in model pixels (``round(length / f)`` of them, as the
    resampler sizes its grid); the window's ends map back to scene pixels, the far
    end being the axis' own end when the window reaches it.

    >>> axis_window(750, 1500, 1500, Lattice(224, 14, (2.0, 2.0)), 1)  # tiles 210...526
    (420, 1500)
    """
    from roadseg.raster.grid import lattice_window

    f = lattice.factor[axis]
    n = max(1, round(length / f))
    s0 = min(n - 1, math.floor(start / f))
    s1 = max(s0 + 1, min(n, math.ceil(stop / f)))
    a, b = lattice_window(s0, s1, n, lattice.tile, lattice.overlap)
    lo = min(start, math.floor(a * f))
    hi = length if b >= n else max(stop, min(length, math.ceil(b * f)))
    return lo, hi


def _lattice(config: ExtractConfig, grid: SceneGrid) -> Lattice | None:
    """The run's model tiles and the scale from the model's pixels to ``grid``'s."""
    from roadseg.errors import RoadsegError
    from roadseg.models.checkpoint import read_meta
    from roadseg.pipeline.stages import model_files
    from roadseg.raster.georef import pixel_size_m
    from roadseg.raster.resample import needs_resampling

    try:
        meta = read_meta(model_files(config)[0])
    except (RoadsegError, OSError) as exc:  # an ONNX graph, a broken file: the stage says
        log.info("scenes predicted alone: the model's tile size is unknown (%s)", exc)
        return None
    p = config.predict
    gsd = pixel_size_m(grid.crs, grid.transform, grid.width, grid.height)
    if gsd is None and p.gsd_m is not None:
        gsd = (p.gsd_m, p.gsd_m)
    factor = (1.0, 1.0)
    if gsd is not None and needs_resampling(sum(gsd) / 2, meta.gsd_m, p.gsd_tolerance):
        factor = (meta.gsd_m / gsd[1], meta.gsd_m / gsd[0])
    return Lattice(int(p.tile or meta.tile), int(p.overlap), factor)


def _read(index: int, path: str) -> _Placed | None:
    from roadseg.raster.io import open_raster

    try:
        with open_raster(path) as ds:
            grid = SceneGrid(ds.width, ds.height, ds.transform, ds.crs)
            bands = (int(ds.count), tuple(ds.dtypes))
    except Exception as exc:  # noqa: BLE001 - the scene's own stage reports it, in one line
        log.debug("%s: no context (%s)", path, exc)
        return None
    if grid.transform.b or grid.transform.d:  # rotated: the mosaic warps it
        return None
    return _Placed(index, path, Rect(0, 0, grid.height, grid.width), grid, bands)


def _place(scenes: list[_Placed]) -> list[list[_Placed]]:
    """Scenes grouped by grid and bands, placed on the first one's grid."""
    from roadseg.raster.georef import grid_offset

    by_grid: list[list[_Placed]] = []
    for s in scenes:
        for group in by_grid:
            ref = group[0]
            at = grid_offset(s.grid, ref.grid)
            if at is not None and s.bands == ref.bands:
                r = Rect(at[0], at[1], s.rect.height, s.rect.width)
                group.append(_Placed(s.index, s.path, r, s.grid, s.bands))
                break
        else:
            by_grid.append([s])
    return by_grid


def _connected(group: list[_Placed], reach: int) -> list[list[_Placed]]:
    """Groups of two or more scenes within ``reach`` pixels of each other (directly or not)."""
    from shapely.geometry import box

    from roadseg.raster.mosaic import groups_within

    rects = [g.rect for g in group]
    shapes = [box(r.col, r.row, r.col + r.width, r.row + r.height) for r in rects]
    return [[group[i] for i in ids] for ids in groups_within(shapes, reach) if len(ids) > 1]


def _context(scene: _Placed, group: list[_Placed], lattice: Lattice) -> SceneContext | None:
    ext = group_extent([g.rect for g in group])
    r = scene.rect
    r0, r1 = axis_window(r.row - ext.row, r.row + r.height - ext.row, ext.height, lattice, 0)
    c0, c1 = axis_window(r.col - ext.col, r.col + r.width - ext.col, ext.width, lattice, 1)
    window = Rect(r0 + ext.row, c0 + ext.col, r1 - r0, c1 - c0)
    if window == r:
        return None
    neighbours = tuple(
        Neighbour(g.path, Rect(g.rect.row - r.row, g.rect.col - r.col, g.rect.height, g.rect.width))
        for g in group
        if g is not scene and window.intersection(g.rect) is not None
    )
    if not neighbours:
        return None
    local = Rect(window.row - r.row, window.col - r.col, window.height, window.width)
    return SceneContext(local, neighbours, (r.height, r.width))


def plan_contexts(scenes: Sequence[str], config: ExtractConfig) -> list[SceneContext | None]:
    """Each scene's context window (``None``: predicted alone), see the module docstring."""
    from roadseg.uri import is_remote

    out: list[SceneContext | None] = [None] * len(scenes)
    if not config.cluster.context or len(scenes) < 2 or config.predict.bbox is not None:
        return out
    read = [_read(i, s) for i, s in enumerate(scenes) if not is_remote(s)]
    placed = [p for p in read if p is not None]
    for same_grid in _place(placed):
        if len(same_grid) < 2:
            continue
        lattice = _lattice(config, same_grid[0].grid)
        if lattice is None:
            return out
        reach = math.ceil(lattice.tile * max(lattice.factor))
        for group in _connected(same_grid, reach):
            for scene in group:
                out[scene.index] = _context(scene, group, lattice)
    n = sum(c is not None for c in out)
    if n:
        log.info("%d of %d scene(s) predicted with their neighbours' pixels around them",
                 n, len(scenes))  # fmt: skip
    return out
