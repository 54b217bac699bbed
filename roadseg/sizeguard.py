"""Size guards: a run whose plan cannot fit the machine is refused before any work.

The predictor and the vectoriser know their plan before they allocate anything:
the grid the tiles run on (after resampling to the model's GSD), the number of
tiles, the rows of tiles held at once, the block and halo of the skeleton pass.
:func:`check_predict_plan` and :func:`check_vectorize_plan` estimate pixels, tiles
and peak memory from it, compare them with :class:`SizeLimits` (kept here, in one
place) and refuse with one line giving the estimate and a way forward. Typical
causes: a ``--gsd`` or a checkpoint ``gsd_m`` off by orders of magnitude (a
10⁹-fold resampling), a vectoriser GSD of nanometres.

The limits are configurable through the environment, for machines larger or
smaller than the defaults assume:

* ``ROADSEG_MAX_PIXELS``: pixels on the grid the model runs on (default
  :data:`MAX_PIXELS`, 2·10¹⁰: a 140 000² scene; a day of CPU time per 10⁹ pixels);
* ``ROADSEG_MAX_MEMORY_MB``: peak memory of the plan (default: 80 % of this
  machine's physical memory);
* ``ROADSEG_WARN_TILES``: above this many tiles the plan is timed and a warning
  gives the expected duration (default :data:`WARN_TILES`).

Example:
    >>> limits = SizeLimits(max_pixels=10**6, max_memory_mb=1000, warn_tiles=10**5)
    >>> est = estimate_predict((1000, 1000), tile=224, overlap=14, bands=3, batch_size=8)
    >>> est.tiles, round(est.filled, 2)
    (25, 0.8)
    >>> try:
    ...     check_predict_plan("s.tif", (2000, 2000), 224, 14, 3, 8, limits)
    ... except InputError as exc:
    ...     print(str(exc)[:62])
    s.tif: the plan is too large for this machine: 4e+06 pixels on
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from roadseg.errors import InputError

#: default most pixels on the model's grid (a ~140 000 x 140 000 px scene)
MAX_PIXELS = 20_000_000_000
#: default tile count above which the time of the plan is measured and announced
WARN_TILES = 100_000
#: bytes per pixel of the rows of tiles held at once (input bands as float32 are added):
#: the blended logits, their weights, the output row and the reader's double buffer
_STRIP_BYTES_PER_PX = 4 * 4
#: bytes per tile pixel of one batch through the ResUNet (activations of the widest level)
_BATCH_BYTES_PER_PX = 1200
#: bytes per pixel of one skeleton block (probabilities, mask, distance, labels, skeleton)
_BLOCK_BYTES_PER_PX = 24
#: what the process needs besides the plan (interpreter, PyTorch, GDAL cache)
_BASE_MB = 600


def _physical_mb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return 8192.0  # unknown: assume a small machine


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name}={text!r}: expected a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise InputError(f"{name}={text!r}: expected a positive number")
    return value


@dataclass(frozen=True)
class SizeLimits:
    """The largest plan a run may start (see the module doc for the environment overrides)."""

    max_pixels: float = MAX_PIXELS
    max_memory_mb: float = 0.0  # 0: 80 % of the physical memory
    warn_tiles: float = WARN_TILES

    @classmethod
    def from_env(cls) -> SizeLimits:
        """The defaults, overridden by ``ROADSEG_MAX_PIXELS`` / ``_MAX_MEMORY_MB`` / ``_WARN_TILES``."""
        return cls(
            max_pixels=_env_number("ROADSEG_MAX_PIXELS", MAX_PIXELS),
            max_memory_mb=_env_number("ROADSEG_MAX_MEMORY_MB", 0.8 * _physical_mb()),
            warn_tiles=_env_number("ROADSEG_WARN_TILES", WARN_TILES),
        )

    @property
    def memory_mb(self) -> float:
        return self.max_memory_mb or 0.8 * _physical_mb()


def tiles_along(length: int, tile: int, overlap: int) -> int:
    """How many tiles cover ``length`` px (as :func:`roadseg.raster.grid.tile_starts`)."""
    if length <= tile:
        return 1
    return math.ceil((length - tile) / (tile - overlap)) + 1


@dataclass(frozen=True)
class PlanEstimate:
    """What a plan costs: pixels worked on, tiles, the share of tile area that is data, memory."""

    pixels: float
    tiles: int
    filled: float
    memory_mb: float

    def describe(self) -> str:
        return (
            f"{self.pixels:.3g} pixels on the model's grid, {self.tiles:.3g} tiles "
            f"({100 * self.filled:.0f} % of their area is data), about {self.memory_mb:.0f} MiB"
        )


def estimate_predict(
    shape: tuple[int, int], tile: int, overlap: int, bands: int, batch_size: int
) -> PlanEstimate:
    """The cost of predicting a grid of ``shape`` (rows, cols) in tiles of ``tile`` px."""
    rows, cols = (float(v) for v in shape)
    pixels = rows * cols
    ny = tiles_along(int(min(rows, 2**62)), tile, overlap)
    nx = tiles_along(int(min(cols, 2**62)), tile, overlap)
    tiles = ny * nx
    filled = min(1.0, pixels / (float(tiles) * tile * tile))
    strip_px = 2.0 * (tile + overlap) * max(cols, tile)  # two rows of tiles in flight
    strip = strip_px * (_STRIP_BYTES_PER_PX + 4 * bands)
    batch = float(batch_size) * tile * tile * _BATCH_BYTES_PER_PX
    return PlanEstimate(pixels, tiles, filled, _BASE_MB + (strip + batch) / 2**20)


def check_predict_plan(
    source: object,
    shape: tuple[int, int],
    tile: int,
    overlap: int,
    bands: int,
    batch_size: int,
    limits: SizeLimits | None = None,
) -> PlanEstimate:
    """Refuse a prediction plan beyond ``limits`` (one line with the estimate), else return it."""
    limits = limits or SizeLimits.from_env()
    est = estimate_predict(shape, tile, overlap, bands, batch_size)
    problem = None
    if est.pixels > limits.max_pixels:
        problem = f"more than ROADSEG_MAX_PIXELS={limits.max_pixels:.3g}"
    elif est.memory_mb > limits.memory_mb:
        problem = f"more than the {limits.memory_mb:.0f} MiB allowed (ROADSEG_MAX_MEMORY_MB)"
    if problem is not None:
        raise InputError(
            f"{source}: the plan is too large for this machine: {est.describe()}, {problem}; "
            f"check the scene's GSD (--gsd) and the model's, or cut the scene into parts "
            f"(gdal_translate -srcwin)"
        )
    return est


def check_vectorize_plan(
    source: object,
    shape: tuple[int, int],
    gsd_m: float,
    block_size: int,
    halo: int,
    pad: int,
    limits: SizeLimits | None = None,
) -> float:
    """Refuse a skeleton pass whose blocks cannot fit (e.g. a nanometre ``--gsd`` turning a
    few metres of border into 10⁹ px of padding); returns the estimated MiB of one block."""
    limits = limits or SizeLimits.from_env()
    rows, cols = shape
    side_r = float(min(block_size + 2 * halo, rows)) + 2.0 * pad
    side_c = float(min(block_size + 2 * halo, cols)) + 2.0 * pad
    mb = side_r * side_c * _BLOCK_BYTES_PER_PX / 2**20
    if mb > limits.memory_mb or side_r * side_c > limits.max_pixels:
        raise InputError(
            f"{source}: the plan is too large for this machine: blocks of {side_r:.3g} x "
            f"{side_c:.3g} px ({pad:.3g} px of border padding at {gsd_m:.3g} m per pixel), "
            f"about {mb:.3g} MiB each, more than the {limits.memory_mb:.0f} MiB allowed; "
            "is the GSD right (--gsd, in metres)?"
        )
    return mb
