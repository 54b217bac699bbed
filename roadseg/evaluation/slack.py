"""How far a relaxed match may be, and how wide vector labels are drawn: in metres.

The paper (Mnih 2013) scores with a slack of ρ = 3 pixels and 7 px wide labels at 1 m per
pixel; in metres that is 3 m of slack and 7 m wide labels, which is what every scorer here
uses by default (``evaluate``, ``extract --evaluate``, the trainer's validation and
``calibrate``), so that a 0.3 m scene is scored as the paper scores a 1 m one. Pixels are
only an explicit override (``--rho``, ``--label-width-px``). This module is the one home of
these defaults and of the metres -> pixels rule.

>>> slack_px(DEFAULT_SLACK_M, None, 1.0), slack_px(DEFAULT_SLACK_M, None, 0.3)
(3, 10)
>>> slack_px(DEFAULT_SLACK_M, 5, 0.3)  # an explicit rho wins
5
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from roadseg.errors import InputError

log = logging.getLogger(__name__)

#: Relaxed-metric slack in metres (the paper's ρ = 3 px at its 1 m GSD).
DEFAULT_SLACK_M = 3.0
#: Width in metres that vector labels (OSM, GeoJSON) are drawn with (the Massachusetts masks'
#: 7 px at 1 m).
DEFAULT_LABEL_WIDTH_M = 7.0
#: The GSD the paper's pixel figures are stated at; assumed (with a warning) for a grid
#: without georeferencing, where metres cannot be converted.
PAPER_GSD_M = 1.0
#: The paper's slack in pixels (what :data:`DEFAULT_SLACK_M` is at :data:`PAPER_GSD_M`).
PAPER_RHO_PX = round(DEFAULT_SLACK_M / PAPER_GSD_M)


def _usable(gsd_m: float | None) -> bool:
    return gsd_m is not None and math.isfinite(gsd_m) and gsd_m > 0


def slack_px(
    slack_m: float, rho: int | None, gsd_m: float | None, where: Path | str | None = None
) -> int:
    """The relaxed slack in pixels on a grid of ``gsd_m``: ``rho`` when given, else ``slack_m``
    at that GSD. A grid without GSD (no CRS) is taken at the paper's 1 m, with a warning
    naming ``where``, unless ``rho`` says the pixels outright.
    """
    if rho is not None:
        if rho < 0:
            raise InputError(f"rho: {rho} is out of range (must be >= 0)")
        return int(rho)
    if not _usable(gsd_m):
        log.warning(
            "%s: no georeferencing, so the %g m slack is taken at %g m per pixel (%d px); "
            "give --rho to say the pixels",
            where, slack_m, PAPER_GSD_M, round(slack_m / PAPER_GSD_M),
        )
        gsd_m = PAPER_GSD_M
    assert gsd_m is not None
    return max(0, int(round(slack_m / gsd_m)))
