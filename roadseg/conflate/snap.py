"""Ends of missing parts that lie within the buffer of an OSM road are moved onto it.

An editor joins a new way to an existing one at a shared node; a missing part that
stops a few metres short of (or past) the OSM road it meets would leave a gap or an
overshoot to fix by hand. Each end within ``buffer_m`` of an OSM segment is replaced
by the nearest point of that segment, and the part records the OSM way it connects
to and how far its end was.

Example (metres): a part ending 2 m short of an OSM road ends on it.
    >>> import numpy as np
    >>> from shapely.geometry import LineString
    >>> from roadseg.conflate.match import ReferenceSegments
    >>> ref = ReferenceSegments.of(np.array([LineString([(0, 0), (100, 0)])]))
    >>> snapped = snap_ends([LineString([(50, 40), (50, 2)])], ref, np.array([7]), 6.5)
    >>> list(snapped.parts[0].coords), snapped.osm_id.tolist(), snapped.distance_m.tolist()
    ([(50.0, 40.0), (50.0, 0.0)], [7], [2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString

from roadseg.conflate.match import ReferenceSegments


@dataclass
class Snapped:
    """Snapped parts and, per part, the OSM way it connects to (its nearest connected end).

    Attributes:
        parts: the parts, their connected ends moved onto the OSM road.
        osm_id: id of the OSM road at the nearer connected end (None: no end connects).
        distance_m: how far that end was from it (NaN: no end connects).
        connects: how many ends were snapped (0, 1 or 2).
    """

    parts: list[LineString]
    osm_id: np.ndarray
    distance_m: np.ndarray
    connects: np.ndarray


def snap_ends(
    parts: list[LineString], ref: ReferenceSegments, osm_ids: np.ndarray, buffer_m: float
) -> Snapped:
    """Move each end of ``parts`` within ``buffer_m`` of a segment of ``ref`` onto it.

    ``osm_ids``: the id of each reference line (``ref.owner`` indexes it).
    """
    n = len(parts)
    osm_id = np.full(n, None, dtype=object)
    distance = np.full(n, np.nan)
    connects = np.zeros(n, np.int64)
    if n == 0 or len(ref) == 0:
        return Snapped(list(parts), osm_id, distance, connects)
    coords = [np.asarray(p.coords, dtype=float) for p in parts]
    ends = shapely.points(np.array([c[k] for c in coords for k in (0, -1)]))
    (end_idx, seg_idx), dist = ref.tree.query_nearest(
        ends, max_distance=buffer_m, return_distance=True, all_matches=False
    )
    segs = ref.geoms[seg_idx]
    targets = shapely.get_coordinates(
        shapely.line_interpolate_point(segs, shapely.line_locate_point(segs, ends[end_idx]))
    )
    for e, s, d, xy in zip(end_idx, seg_idx, dist, targets):
        i, last = divmod(int(e), 2)
        coords[i][-1 if last else 0] = xy
        connects[i] += 1
        if not d >= distance[i]:  # the nearer connected end names the OSM road
            distance[i] = float(d)
            oid = osm_ids[ref.owner[s]]
            osm_id[i] = oid.item() if isinstance(oid, np.generic) else oid
    return Snapped([LineString(c) for c in coords], osm_id, distance, connects)
