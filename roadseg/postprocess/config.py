"""How probabilities become a road mask: :class:`ThresholdSpec` and the default level.

The options of the whole raster -> network stage (:class:`roadseg.vector.VectorizeConfig`)
live beside that stage in :mod:`roadseg.vector.config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from roadseg.errors import InputError

ThresholdKind = Literal["fixed", "otsu", "hysteresis"]

#: The level used when nothing says which (see :mod:`roadseg.postprocess.level`): the
#: only place 0.5 is written.
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ThresholdSpec:
    """How probabilities become a binary mask.

    Probabilities are ``p = v / 255`` for a uint8 raster, ``p = v`` for a
    ``{0, 1}`` mask or a float raster. A pixel is road when

    * ``fixed``: ``p >= value`` (for uint8: ``v >= ceil(255 * value)``, so 0.5 means v >= 128);
    * ``otsu``: ``v > t_otsu`` with ``t_otsu`` from the histogram of all valid pixels
      of the raster (scikit-image convention, computed in one pass by block);
    * ``hysteresis``: ``p >= low`` and 8-connected to a pixel with ``p >= high``.
    """

    kind: ThresholdKind = "fixed"
    value: float = DEFAULT_THRESHOLD
    low: float = 0.3
    high: float = 0.6

    def __post_init__(self) -> None:
        for name, v in (("value", self.value), ("low", self.low), ("high", self.high)):
            if not (0.0 <= v <= 1.0) or math.isnan(v):
                raise InputError(f"threshold: {name}={v} is not a probability in [0, 1]")
        if self.kind == "hysteresis" and self.low > self.high:
            raise InputError(f"threshold: hysteresis low {self.low} > high {self.high}")
        if self.kind not in ("fixed", "otsu", "hysteresis"):
            raise InputError(f"threshold: unknown kind {self.kind!r}")

    @classmethod
    def parse(cls, text: str | float | ThresholdSpec) -> ThresholdSpec:
        """Parse ``0.5``, ``otsu`` or ``hysteresis:0.3,0.6``."""
        if isinstance(text, ThresholdSpec):
            return text
        if isinstance(text, (int, float)):
            return cls("fixed", float(text))
        s = str(text).strip().lower()
        if s == "otsu":
            return cls("otsu")
        if s.startswith("hysteresis"):
            _, _, rest = s.partition(":")
            try:
                low, high = (float(x) for x in rest.split(",")) if rest else (0.3, 0.6)
            except ValueError:
                raise InputError(
                    f"threshold: {text!r} is not 'hysteresis:LOW,HIGH' (e.g. hysteresis:0.3,0.6)"
                ) from None
            return cls("hysteresis", low=low, high=high)
        try:
            return cls("fixed", float(s))
        except ValueError:
            raise InputError(
                f"threshold: {text!r} is not a number in [0, 1], 'otsu' or 'hysteresis:LOW,HIGH'"
            ) from None

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"{self.value:g}"
        if self.kind == "otsu":
            return "otsu"
        return f"hysteresis:{self.low:g},{self.high:g}"
