"""The options of :func:`roadseg.conflate.conflate`: one typed config, one default each.

How the default buffer is chosen (``buffer_m=None``): a detected segment is
"mapped" when an OSM road runs within the buffer of it, so the buffer must hold
the two ways a correct detection sits beside its OSM line:

* **half a road width** -- OSM draws the centreline, a detector's skeleton runs
  anywhere across the carriageway it saw (lanes, a wide junction, one half of a
  divided road); the network's own ``width_m`` (median, length-weighted) when it has
  one, else ``road_width_m`` (7 m: a two-lane road, the width the Massachusetts
  labels are drawn with at 1 m);
* **the registration error** between the imagery and OSM (``registration_m``, 3 m:
  orthophotos are registered to about 1-2 m, OSM centrelines traced from other
  imagery and GPS traces are typically a few metres off).

So 3.5 + 3 = 6.5 m for a network without widths: wide enough for a 2 m shift plus
1 m vertex noise, narrower than the 10-20 m between the carriageways of a divided
road or between parallel streets, which must stay apart.

Example:
    >>> ConflateConfig().resolve_buffer(None)
    6.5
    >>> ConflateConfig(buffer_m=4).resolve_buffer(12.0)
    4.0
    >>> ConflateConfig(max_angle_deg=95)
    Traceback (most recent call last):
    ...
    roadseg.errors.InputError: conflate.max_angle_deg: 95 is out of range (must be <= 90)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from roadseg.validate import check_number


@dataclass
class ConflateConfig:
    """How a detected network is conflated against OSM (lengths in metres).

    Attributes:
        buffer_m: a detected segment is mapped where an OSM road runs within this
            distance (and roughly parallel); ``None``: from the data, half the road
            width plus ``registration_m`` (see the module docstring).
        registration_m: the registration error between imagery and OSM that the
            default buffer allows for.
        road_width_m: the road width the default buffer assumes where the network
            has no ``width_m``.
        max_angle_deg: "roughly parallel": the largest angle between the detected
            road's local direction and the OSM road's; a road crossing an OSM road
            is not mapped by it.
        direction_window_m: the detected road's local direction is measured over
            this length (so that vertex noise of a metre does not turn it).
        sample_m: the coverage test runs on pieces this long; parts are cut at
            piece boundaries.
        min_length_m: missing (and unconfirmed) parts shorter than this are dropped (10 m:
            the spur length the vectoriser prunes, so shorter parts are leftovers).
        min_confidence: missing parts below this confidence are dropped.
        confidence_length_m: the confidence of a part is its ``mean_prob`` (1 where
            the network has none) times ``min(1, length_m / confidence_length_m)``:
            short leftovers beside mapped roads are most often registration
            artefacts or spurs, long ones are roads.
        highways: OSM highway classes to conflate against (a preset of
            :mod:`roadseg.osm.highways`, a comma-separated list); ``None``: the
            ``massachusetts`` car-road preset, as ``evaluate`` uses.
        source: the ``source`` tag of the missing roads; ``None``: ``roadseg`` and
            the model's name where the network records it.
    """

    buffer_m: float | None = None
    registration_m: float = 3.0
    road_width_m: float = 7.0
    max_angle_deg: float = 30.0
    direction_window_m: float = 10.0
    sample_m: float = 2.0
    min_length_m: float = 10.0
    min_confidence: float = 0.0
    confidence_length_m: float = 50.0
    highways: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        check_number("conflate.buffer_m", self.buffer_m, minimum=0, inclusive=False, optional=True)
        check_number("conflate.registration_m", self.registration_m, minimum=0)
        check_number("conflate.road_width_m", self.road_width_m, minimum=0, inclusive=False)
        check_number("conflate.max_angle_deg", self.max_angle_deg, minimum=0, maximum=90)
        check_number(
            "conflate.direction_window_m", self.direction_window_m, minimum=0, inclusive=False
        )
        check_number("conflate.sample_m", self.sample_m, minimum=0, inclusive=False)
        check_number("conflate.min_length_m", self.min_length_m, minimum=0)
        check_number("conflate.min_confidence", self.min_confidence, minimum=0, maximum=1)
        check_number(
            "conflate.confidence_length_m", self.confidence_length_m, minimum=0, inclusive=False
        )

    def resolve_buffer(self, network_width_m: float | None) -> float:
        """The buffer in metres: ``buffer_m``, else half the road width plus the registration
        error (``network_width_m``: the network's median width, ``None`` where it has none)."""
        if self.buffer_m is not None:
            return float(self.buffer_m)
        width = network_width_m
        if width is None or not math.isfinite(width) or width <= 0:
            width = self.road_width_m
        return round(width / 2 + self.registration_m, 3)
