"""Which pixels have no imagery, and the relaxed slack of a scene in pixels.

No imagery: a scene that declares its no-data pixels (a nodata value, an alpha band or a
mask band, as GDAL reports them) is taken at its word. A scene that declares none, like the
Massachusetts tiles, has its no-imagery areas filled with pure white: there the pixels at the
maximum value (255 for 8-bit) in every one of the first three bands are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Rules by which the no-imagery pixels of a scene were found (named in the report).
RULE_DECLARED = "the scene's declared no-data mask"
RULE_WHITE = "pure-white pixels (no no-data declared, Massachusetts-style fill)"


@dataclass
class NoData:
    """The excluded pixels of a scene (True = no imagery) and the rule that found them."""

    mask: np.ndarray
    rule: str

    @property
    def fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 0.0


def declared_nodata(path: Path) -> np.ndarray | None:
    """True where the raster declares no data (nodata value, alpha or mask band); None if none."""
    from rasterio.enums import MaskFlags

    from roadseg.raster.io import open_raster

    with open_raster(path) as ds:
        flags = ds.mask_flag_enums  # per band; [all_valid] when nothing is declared
        if all(MaskFlags.all_valid in f for f in flags):
            return None
        return ds.dataset_mask() == 0


def white_pixels(image: np.ndarray) -> np.ndarray:
    """Pixels at the maximum value (255 for uint8) in every one of the first three bands."""
    img = image[:3]
    top = np.iinfo(img.dtype).max if np.issubdtype(img.dtype, np.integer) else 1.0
    return np.all(img == top, axis=0)


def no_imagery(path: Path, image: np.ndarray) -> NoData:
    """The no-imagery pixels of the scene at ``path`` (its pixels ``image``, bands × H × W)."""
    declared = declared_nodata(path)
    if declared is not None:
        return NoData(declared, RULE_DECLARED)
    return NoData(white_pixels(image), RULE_WHITE)
