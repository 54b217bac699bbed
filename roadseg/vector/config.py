"""Configuration of the raster → road-network stage (:func:`roadseg.vector.vectorize_raster`).

All lengths are in metres and all areas in m²; they are converted to pixels
with the raster's ground sample distance (GSD) at run time, so the same
defaults work at 1 m (Massachusetts) and 0.3 m (SpaceNet).

Defaults (chosen for 1 m Massachusetts imagery, where labelled roads are
about 7 px wide):

==================  =======  ==================================================
field               default  why
==================  =======  ==================================================
min_object_m2       50       a 7 m wide road shorter than ~7 m is noise
max_hole_m2         30       holes inside a road blob are prediction noise
min_spur_m          10       thick-road skeletons grow spurs up to ~width
bridge_m            15       a car, shadow or tree over a road is ≤ 15 m
bridge_collinear_m  40       longer gaps only when both ends point at each other
bridge_angle_deg    25       tolerance of that "pointing at each other"
min_component_m     30       isolated specks and short dashes are not roads
simplify_m          1.0      one pixel at 1 m: removes staircase noise only
junction_merge_m    4.0      thick crossings skeletonise into two close nodes
==================  =======  ==================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from roadseg.errors import InputError
from roadseg.postprocess.config import ThresholdSpec


@dataclass(frozen=True)
class VectorizeConfig:
    """Every knob of :func:`roadseg.vector.vectorize_raster` (metres / m²).

    ``block_size`` and ``halo`` are in pixels: they are about memory and
    exactness, not about ground features. A block's window is widened
    automatically (halo doubled, up to the whole raster) wherever the result
    inside the block could depend on pixels beyond the halo, so the block-wise
    result is identical to the whole-image result.

    ``border``: ``"extend"`` pads the raster by edge replication before
    skeletonising so that roads crossing the raster border keep reaching it;
    ``"none"`` treats the outside as background (skeleton ends retreat by
    about half a road width).

    ``band``: the band holding the probabilities or mask (1-based; ``None``: a
    single-band raster, band 1). ``gsd_m``: the pixel size in metres of a raster
    without CRS, whose grid is then taken as x = column * gsd_m, y = row * gsd_m
    (ignored when the raster has a CRS).
    """

    threshold: ThresholdSpec = field(default_factory=ThresholdSpec)
    min_object_m2: float = 50.0
    max_hole_m2: float = 30.0
    min_spur_m: float = 10.0
    bridge_m: float = 15.0
    bridge_collinear_m: float = 40.0
    bridge_angle_deg: float = 25.0
    min_component_m: float = 30.0
    simplify_m: float = 1.0
    junction_merge_m: float = 4.0
    keep_border_components: bool = False
    block_size: int = 2048
    halo: int = 64
    border: Literal["extend", "none"] = "extend"
    border_extend_m: float = 12.0
    show_progress: bool = False
    band: int | None = None
    gsd_m: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", ThresholdSpec.parse(self.threshold))
        if self.band is not None and (isinstance(self.band, bool) or int(self.band) < 1):
            raise InputError(f"vectorize config: band={self.band} must be a band number >= 1")
        if self.gsd_m is not None and not (self.gsd_m > 0 and math.isfinite(self.gsd_m)):
            raise InputError(f"vectorize config: gsd_m={self.gsd_m} must be a number > 0")
        for name in (
            "min_object_m2",
            "max_hole_m2",
            "min_spur_m",
            "bridge_m",
            "bridge_collinear_m",
            "min_component_m",
            "simplify_m",
            "junction_merge_m",
            "border_extend_m",
        ):
            v = getattr(self, name)
            if not (v >= 0 and math.isfinite(v)):
                raise InputError(f"vectorize config: {name}={v} must be a finite number >= 0")
        if not (0 <= self.bridge_angle_deg <= 90):
            raise InputError(
                f"vectorize config: bridge_angle_deg={self.bridge_angle_deg} not in [0, 90]"
            )
        if self.block_size < 16:
            raise InputError(f"vectorize config: block_size={self.block_size} must be >= 16")
        if self.halo < 2:
            raise InputError(f"vectorize config: halo={self.halo} must be >= 2")
        if self.border not in ("extend", "none"):
            raise InputError(f"vectorize config: border={self.border!r} is not 'extend' or 'none'")

    def px(self, metres: float, gsd: float) -> float:
        """A length in metres as a (fractional) number of pixels."""
        return metres / gsd

    def area_px(self, m2: float, gsd: float) -> int:
        """An area in m² as a whole number of pixels (rounded up)."""
        return int(math.ceil(m2 / (gsd * gsd) - 1e-9))
