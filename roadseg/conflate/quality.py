"""How well a conflation gives back roads deleted from OSM: recall and precision in metres.

The measurement of ``tests/conflate`` and ``benchmarks/conflate_quality.py``: take a
complete road map as the "detected" network, delete some ways from the "OSM" side,
conflate, and compare what comes back with what was deleted.

* **recall** -- of the deleted roads' length lying farther than ``near_m`` (10 m) from
  every kept road (nearer than that, a kept road legitimately covers it: a slip road
  beside its main road, the other half of a divided road), the share lying within
  ``tol_m`` of a returned missing part;
* **precision** -- of the returned missing length, the share lying within ``tol_m`` of
  a deleted road.

``tol_m`` (5 m) allows for the detected network's own displacement (the tests shift it
by 2 m and jitter its vertices by 1 m) and for the snapped ends.

Example (metres): one of two parallel streets 50 m apart deleted and returned whole.
    >>> from shapely.geometry import LineString
    >>> kept, deleted = [LineString([(0, 0), (100, 0)])], [LineString([(0, 50), (100, 50)])]
    >>> deletion_scores([LineString([(0, 51), (100, 51)])], deleted, kept)
    {'recall': 1.0, 'precision': 1.0, 'deleted_far_m': 100.0, 'returned_m': 100.0}
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry.base import BaseGeometry


def _length(geoms: Sequence[BaseGeometry] | BaseGeometry) -> float:
    g = geoms if isinstance(geoms, BaseGeometry) else shapely.union_all(list(geoms))
    return float(g.length) if g is not None and not g.is_empty else 0.0


def deletion_scores(
    returned: Sequence[BaseGeometry],
    deleted: Sequence[BaseGeometry],
    kept: Sequence[BaseGeometry],
    near_m: float = 10.0,
    tol_m: float = 5.0,
) -> dict[str, float]:
    """Recall and precision of ``returned`` against ``deleted`` (see the module docstring).

    All geometries in one metric CRS. A score whose denominator is zero is NaN.
    """
    deleted_u = shapely.union_all(list(deleted))
    kept_zone = shapely.union_all(list(shapely.buffer(list(kept), near_m))) if kept else None
    far = deleted_u.difference(kept_zone) if kept_zone is not None else deleted_u
    returned_u = shapely.union_all(list(returned)) if returned else shapely.GeometryCollection()
    far_m = _length(far)
    ret_m = _length(returned_u)
    near_returned = returned_u.buffer(tol_m) if ret_m else None
    found = _length(far.intersection(near_returned)) if near_returned is not None else 0.0
    on_deleted = _length(returned_u.intersection(deleted_u.buffer(tol_m))) if ret_m else 0.0
    nan = float("nan")
    return {
        "recall": round(found / far_m, 4) if far_m else nan,
        "precision": round(on_deleted / ret_m, 4) if ret_m else nan,
        "deleted_far_m": round(far_m, 2),
        "returned_m": round(ret_m, 2),
    }
