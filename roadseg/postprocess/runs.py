"""Connected components of a binary mask through its row runs.

A road mask is mostly background, and its road pixels come in horizontal runs: a
2000² window of a road mask holds a few tens of thousands of runs for millions of
pixels. Labelling the runs (a run touches the runs of the next row it overlaps)
costs in proportion to the runs, where :func:`scipy.ndimage.label` and
:func:`scipy.ndimage.find_objects` visit every pixel: the small-object and
small-hole cleanup (:func:`roadseg.postprocess.threshold.cleanup_mask`) is done
here, with the same components and so the same result.

Runs are ``(row, start, stop)`` arrays, ``stop`` exclusive, sorted by row then start.

    >>> import numpy as np
    >>> m = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], bool)
    >>> row, start, stop = mask_runs(m)
    >>> row.tolist(), start.tolist(), stop.tolist()
    ([0, 1, 2], [0, 2, 0], [2, 3, 1])
    >>> run_components(row, start, stop, diagonal=True)[1].tolist()  # 8-connected
    [0, 0, 1]
    >>> run_components(row, start, stop, diagonal=False)[1].tolist()  # 4-connected
    [0, 1, 2]
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Runs = tuple[np.ndarray, np.ndarray, np.ndarray]


def mask_runs(mask: np.ndarray) -> Runs:
    """The runs of ``True`` in each row of a 2-D boolean ``mask``."""
    w = mask.shape[1]
    idx = np.flatnonzero(mask)  # only the True pixels are visited after this
    first = np.ones(idx.size, bool)
    first[1:] = (idx[1:] != idx[:-1] + 1) | (idx[1:] % w == 0)
    at = np.flatnonzero(first)
    row, start = np.divmod(idx[at], w)
    return row, start, start + np.diff(at, append=idx.size)


def gap_runs(runs: Runs, height: int, width: int) -> Runs:
    """The runs of the complement: the gaps between ``runs`` inside ``height`` x ``width``."""
    row, start, stop = runs
    # per row: [0, first start), [stop_i, start_i+1), [last stop, width); empty ones dropped
    first = np.ones(row.size, bool)
    first[1:] = row[1:] != row[:-1]
    last = np.ones(row.size, bool)
    last[:-1] = row[1:] != row[:-1]
    empty_rows = np.setdiff1d(np.arange(height), row)
    g_row = np.concatenate([row, row[last], empty_rows])
    g_start = np.concatenate([np.where(first, 0, np.roll(stop, 1)), stop[last], 0 * empty_rows])
    g_stop = np.concatenate([start, np.full(int(last.sum()), width), width + 0 * empty_rows])
    keep = g_stop > g_start
    g_row, g_start, g_stop = g_row[keep], g_start[keep], g_stop[keep]
    order = np.lexsort((g_start, g_row))
    return g_row[order], g_start[order], g_stop[order]


def run_components(
    row: np.ndarray, start: np.ndarray, stop: np.ndarray, diagonal: bool
) -> tuple[int, np.ndarray]:
    """Number of components and the component of each run (8-connected with ``diagonal``,
    else 4-connected)."""
    n = row.size
    if n == 0:
        return 0, np.zeros(0, np.int32)
    span = int(stop.max()) + 2  # keys r * span + c keep the rows apart
    key_start = row * span + start
    key_stop = row * span + stop
    # runs of row r - 1 touching run b of row r: stop_a >= start_b and start_a <= stop_b
    # with diagonals, stop_a > start_b and start_a < stop_b without
    above = (row - 1) * span
    lo = np.searchsorted(key_stop, above + start, side="left" if diagonal else "right")
    hi = np.searchsorted(key_start, above + stop, side="right" if diagonal else "left")
    count = np.maximum(hi - lo, 0)
    b = np.repeat(np.arange(n), count)
    a = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(b.size)
    graph = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)


def paint(out: np.ndarray, runs: Runs, value: bool) -> None:
    """Set the pixels of ``runs`` in the 2-D array ``out`` to ``value`` (in place)."""
    row, start, stop = runs
    length = stop - start
    total = int(length.sum())
    if total == 0:
        return
    offset = np.repeat(row * out.shape[1] + start - np.cumsum(length) + length, length)
    out.reshape(-1)[offset + np.arange(total)] = value


def select(runs: Runs, keep: np.ndarray) -> Runs:
    """The runs where ``keep`` is true."""
    return runs[0][keep], runs[1][keep], runs[2][keep]


def small_components(runs: Runs, limit: int, diagonal: bool, inclusive: bool) -> np.ndarray:
    """Which runs belong to a component of fewer than ``limit`` pixels (at most, ``inclusive``)."""
    _, comp = run_components(*runs, diagonal=diagonal)
    size = np.bincount(comp, weights=runs[2] - runs[1])[comp]
    return size <= limit if inclusive else size < limit
