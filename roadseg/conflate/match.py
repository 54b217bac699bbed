"""Which parts of one set of lines another set covers: near *and* roughly parallel.

Lines (in a metric CRS) are cut into pieces of at most ``sample_m``. A piece is
**covered** when a reference segment (a straight two-vertex segment of a
reference line, held in a shapely ``STRtree``) lies within ``buffer_m`` of the
piece's midpoint and its direction is within ``max_angle_deg`` of the line's
local direction there. The local direction is the chord between the points
``direction_window_m / 2`` before and after the midpoint along the line: on a
smooth curve that chord is parallel to the tangent, and a metre of vertex noise
turns it by a few degrees only. A road crossing a reference road is near it for a
few pieces but at a steep angle, so it is not covered there.

Runs of uncovered pieces become the **parts** (:func:`uncovered_parts`), cut from
the line with ``shapely.ops.substring``. Lines are processed in chunks of at most
``CHUNK`` pieces: memory grows with the chunk and the reference index, not with
the network's length.

Example (metres): a 100 m road along a reference road 3 m away is covered; one
crossing it is covered nowhere.
    >>> import numpy as np
    >>> from shapely.geometry import LineString
    >>> ref = ReferenceSegments.of(np.array([LineString([(0, 0), (100, 0)])]))
    >>> lines = np.array([LineString([(0, 3), (100, 3)]), LineString([(50, -50), (50, 50)])])
    >>> res = uncovered_parts(lines, ref, buffer_m=6.5, max_angle_deg=30, sample_m=2,
    ...                       direction_window_m=10)
    >>> [round(float(x), 1) for x in res.covered_m]
    [100.0, 0.0]
    >>> [(int(i), round(p.length, 1)) for i, p in zip(res.line, res.parts)]
    [(1, 100.0)]
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import LineString
from shapely.ops import substring

#: Pieces tested at once (bounds the memory of the coverage test).
CHUNK = 200_000


@dataclass
class ReferenceSegments:
    """The straight segments of reference lines, indexed, with unit directions.

    Attributes:
        owner: index of the reference line each segment belongs to.
        ux, uy: unit direction of each segment.
        tree: ``STRtree`` over the segments.
    """

    owner: np.ndarray
    ux: np.ndarray
    uy: np.ndarray
    tree: STRtree
    geoms: np.ndarray

    @classmethod
    def of(cls, lines: np.ndarray) -> ReferenceSegments:
        """Segments of ``lines`` (an array of LineStrings); zero-length segments left out."""
        coords, idx = shapely.get_coordinates(lines, return_index=True)
        same = idx[1:] == idx[:-1] if len(idx) else np.zeros(0, bool)
        a, b, owner = coords[:-1][same], coords[1:][same], idx[:-1][same]
        d = b - a
        n = np.hypot(d[:, 0], d[:, 1])
        keep = n > 0
        a, b, owner, d, n = a[keep], b[keep], owner[keep], d[keep], n[keep]
        geoms = shapely.linestrings(np.stack([a, b], axis=1))
        return cls(owner, d[:, 0] / n, d[:, 1] / n, STRtree(geoms), geoms)

    def __len__(self) -> int:
        return len(self.owner)


@dataclass
class Coverage:
    """The uncovered parts of lines and how much of each line is covered.

    Attributes:
        parts: the uncovered parts (LineStrings), in line order.
        line: index of the line each part was cut from.
        covered_m: covered length of each line (metres).
        covered: the covered parts (only when asked for, else empty).
    """

    parts: list[LineString]
    line: np.ndarray
    covered_m: np.ndarray
    covered: list[LineString]


def _pieces(lengths: np.ndarray, sample_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per piece: its line (index into ``lengths``), start and end along the line."""
    n = np.maximum(1, np.ceil(lengths / sample_m)).astype(np.int64)
    line = np.repeat(np.arange(len(lengths)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(int(n.sum())) - first
    step = np.repeat(lengths / n, n)
    return line, k * step, (k + 1) * step


def _covered(
    lines: np.ndarray,
    line: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    ref: ReferenceSegments,
    buffer_m: float,
    max_angle_deg: float,
    direction_window_m: float,
) -> np.ndarray:
    """Whether each piece is covered by a near, roughly parallel reference segment."""
    geoms = lines[line]
    lengths = shapely.length(geoms)
    mid = (start + end) / 2
    half = direction_window_m / 2
    pts = shapely.line_interpolate_point(geoms, mid)
    a = shapely.get_coordinates(
        shapely.line_interpolate_point(geoms, np.clip(mid - half, 0, lengths))
    )
    b = shapely.get_coordinates(
        shapely.line_interpolate_point(geoms, np.clip(mid + half, 0, lengths))
    )
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    norm = np.hypot(dx, dy)
    covered = np.zeros(len(line), bool)
    if len(ref) == 0:
        return covered
    piece, seg = ref.tree.query(pts, predicate="dwithin", distance=buffer_m)
    dot = np.abs(dx[piece] * ref.ux[seg] + dy[piece] * ref.uy[seg])
    nrm = norm[piece]
    # a piece without a direction (a line shorter than a point) counts as parallel
    parallel = (nrm == 0) | (dot >= math.cos(math.radians(max_angle_deg)) * nrm - 1e-12)
    covered[piece[parallel]] = True
    return covered


def _chunks(n_pieces: np.ndarray) -> Iterator[slice]:
    """Consecutive line ranges holding at most CHUNK pieces (a longer line alone)."""
    start, total = 0, 0
    for i, n in enumerate(n_pieces):
        if total and total + n > CHUNK:
            yield slice(start, i)
            start, total = i, 0
        total += int(n)
    if start < len(n_pieces):
        yield slice(start, len(n_pieces))


def uncovered_parts(
    lines: np.ndarray,
    ref: ReferenceSegments,
    buffer_m: float,
    max_angle_deg: float,
    sample_m: float,
    direction_window_m: float,
    keep_covered: bool = False,
) -> Coverage:
    """The parts of ``lines`` that ``ref`` does not cover (see the module docstring);
    ``keep_covered``: also return the covered parts (for pictures)."""
    lines = np.asarray(lines, dtype=object)
    lengths = shapely.length(lines) if len(lines) else np.zeros(0)
    covered_m = np.zeros(len(lines))
    parts: list[LineString] = []
    part_line: list[int] = []
    covered: list[LineString] = []
    n_pieces = np.maximum(1, np.ceil(lengths / sample_m)).astype(np.int64)
    for chunk in _chunks(n_pieces):
        sub = lines[chunk]
        line, start, end = _pieces(lengths[chunk], sample_m)
        cov = _covered(sub, line, start, end, ref, buffer_m, max_angle_deg, direction_window_m)
        covered_m[chunk] = np.bincount(line, weights=(end - start) * cov, minlength=len(sub))
        for i, s, e in _runs(line, start, end, ~cov):
            parts.append(_substring(sub[i], s, e, lengths[chunk][i]))
            part_line.append(chunk.start + i)
        if keep_covered:
            covered += [
                _substring(sub[i], s, e, lengths[chunk][i])
                for i, s, e in _runs(line, start, end, cov)
            ]
    return Coverage(parts, np.asarray(part_line, np.int64), covered_m, covered)


def _runs(
    line: np.ndarray, start: np.ndarray, end: np.ndarray, flag: np.ndarray
) -> Iterator[tuple[int, float, float]]:
    """``(line, start, end)`` of every maximal run of consecutive flagged pieces of one line."""
    if len(line) == 0:
        return
    new = np.ones(len(line), bool)
    new[1:] = (line[1:] != line[:-1]) | (flag[1:] != flag[:-1])
    firsts = np.flatnonzero(new)
    lasts = np.append(firsts[1:] - 1, len(line) - 1)
    for f, la in zip(firsts, lasts):
        if flag[f]:
            yield int(line[f]), float(start[f]), float(end[la])


def _substring(geom: LineString, s: float, e: float, length: float) -> LineString:
    """The part of ``geom`` between distances ``s`` and ``e`` (the whole line uncopied)."""
    if s <= 0 and e >= length:
        return geom
    part = substring(geom, s, e)
    return part if isinstance(part, LineString) else LineString([part, part])
