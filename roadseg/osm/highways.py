"""OSM ``highway=*`` class filters, with named presets.

Presets:

* ``massachusetts`` — the classes a car road map holds, as drawn in the
  Massachusetts Roads labels (Mnih 2013, rasterised OSM road centrelines):
  motorway, trunk, primary, secondary, tertiary and their ``*_link`` ramps,
  unclassified, residential, living_street, service and road. Footways,
  cycleways, paths, steps, pedestrian areas, bridleways, tracks, corridors,
  construction/proposed ways and the like are left out.
* ``all`` — every way with a ``highway`` tag.
* a custom list — any iterable of class names, or a comma-separated string
  (``"primary,secondary,residential"``).
"""

from __future__ import annotations

from collections.abc import Iterable

MASSACHUSETTS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)

#: Named presets; None means "no filter".
PRESETS: dict[str, frozenset[str] | None] = {"massachusetts": MASSACHUSETTS, "all": None}


def resolve_highway_filter(spec: str | Iterable[str] | None) -> frozenset[str] | None:
    """Turn a preset name, a comma-separated string or a list into a set of classes.

    Returns None for "keep every highway" (``all`` or None).
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key in PRESETS:
            return PRESETS[key]
        items = [s.strip() for s in spec.split(",")]
    else:
        items = [str(s).strip() for s in spec]
    classes = frozenset(s for s in items if s)
    if not classes:
        raise ValueError(f"empty highway filter {spec!r}")
    return classes
