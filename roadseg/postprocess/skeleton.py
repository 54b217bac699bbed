"""Skeletonisation by block with a halo, identical to the whole-image result.

The skeleton is scikit-image's :func:`skimage.morphology.skeletonize` (Zhang–Suen
thinning) of the cleaned mask of the *virtual raster*: the raster padded by
edge replication (``border="extend"``) so that a road crossing the raster border
is thinned as if it went on, and its skeleton reaches the border.

Block-wise exactness. Each block (its *core*) is computed from a window = core
± halo of the virtual raster. Every step is local except for a few
component-wide rules, and the window is widened (halo doubled, up to the whole
raster) wherever the core could depend on pixels beyond it:

* hysteresis: a low component that touches an open window edge and has no high
  pixel inside the window is undecided; if it comes within ``max_hole_px + 2`` of
  the core, the window is widened;
* small objects / holes: with ``halo >= min_object_px + max_hole_px + 2`` any
  component reaching both the core and an open edge has at least ``halo`` pixels
  and is therefore kept (objects) / not filled (holes) as in the whole image, and
  objects bounding a small hole next to the core are decided correctly;
* thinning: Zhang–Suen deletes a pixel from its 3×3 neighbourhood, so an error
  started at an open edge travels at most one pixel per sub-iteration, and a
  component with chessboard depth ``d`` stops changing after about ``d + 1``
  iterations (two sub-iterations each). Components reaching the core and an open
  edge therefore need ``halo >= 4 d + 8``; deeper blobs (up to an all-ones raster)
  widen the window until it holds the whole raster.

The test-suite checks identity against the whole-image path on real masks.
The output is sparse (pixel indices), so memory is bounded by the block size,
not the raster size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from roadseg.postprocess.thinning import thin
from roadseg.postprocess.threshold import EIGHT, ResolvedThreshold, cleanup_mask

log = logging.getLogger(__name__)

#: callback(row0, col0, core_array) receiving a block's core (raster coordinates)
BlockSink = Callable[[int, int, np.ndarray], None]


@dataclass
class SkeletonPixels:
    """Skeleton pixels of a ``shape`` raster, sparse and sorted by ``row * width + col``.

    ``prob``: probability at the pixel; ``dist``: Euclidean distance in pixels from
    the pixel centre to the nearest background pixel centre (``inf`` if none).
    """

    shape: tuple[int, int]
    flat: np.ndarray  # int64, sorted, unique
    prob: np.ndarray  # float32
    dist: np.ndarray  # float32

    @property
    def rows(self) -> np.ndarray:
        return self.flat // self.shape[1]

    @property
    def cols(self) -> np.ndarray:
        return self.flat % self.shape[1]

    def __len__(self) -> int:
        return int(self.flat.size)

    def to_array(self) -> np.ndarray:
        out = np.zeros(self.shape, bool)
        out.ravel()[self.flat] = True
        return out

    @classmethod
    def from_array(
        cls, skeleton: np.ndarray, prob: np.ndarray | None = None, dist: np.ndarray | None = None
    ) -> SkeletonPixels:
        """Wrap a dense boolean skeleton (``prob``/``dist`` default to 1 / inf)."""
        sk = np.asarray(skeleton, bool)
        flat = np.flatnonzero(sk).astype(np.int64)
        p = (
            np.ones(flat.size, np.float32)
            if prob is None
            else np.asarray(prob).ravel()[flat].astype(np.float32)
        )
        d = (
            np.full(flat.size, np.inf, np.float32)
            if dist is None
            else np.asarray(dist).ravel()[flat].astype(np.float32)
        )
        return cls((int(sk.shape[0]), int(sk.shape[1])), flat, p, d)


@dataclass(frozen=True)
class BlockParams:
    threshold: ResolvedThreshold
    min_object_px: int
    max_hole_px: int
    pad: int  # virtual-raster padding (border="extend"), 0 for "none"


@dataclass
class WindowResult:
    ok: bool
    need_halo: int = 0
    mask_core: np.ndarray | None = None
    skel_rc: np.ndarray | None = None  # (n, 2) local core coordinates
    prob: np.ndarray | None = None
    dist: np.ndarray | None = None


def _touching_open_edges(
    labels: np.ndarray, open_edges: tuple[bool, bool, bool, bool]
) -> np.ndarray:
    """Labels present on the open sides (top, bottom, left, right) of a window."""
    parts = []
    top, bottom, left, right = open_edges
    if top:
        parts.append(labels[0, :])
    if bottom:
        parts.append(labels[-1, :])
    if left:
        parts.append(labels[:, 0])
    if right:
        parts.append(labels[:, -1])
    if not parts:
        return np.zeros(0, labels.dtype)
    u = np.unique(np.concatenate(parts))
    return u[u > 0]


def _grow(sl: tuple[slice, slice], by: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    return (
        slice(max(sl[0].start - by, 0), min(sl[0].stop + by, shape[0])),
        slice(max(sl[1].start - by, 0), min(sl[1].stop + by, shape[1])),
    )


def process_window(
    values: np.ndarray,
    core: tuple[slice, slice],
    open_edges: tuple[bool, bool, bool, bool],
    halo: int,
    params: BlockParams,
) -> WindowResult:
    """Threshold, clean and skeletonise one window; report the core or the halo it needs."""
    rt = params.threshold
    any_open = any(open_edges)
    low = values >= rt.low
    if rt.kind == "hysteresis":
        labels, n = ndi.label(low, structure=EIGHT)
        has_high = np.zeros(n + 1, bool)
        has_high[np.unique(labels[values >= rt.high])] = True
        has_high[0] = False
        if any_open:
            edge = _touching_open_edges(labels, open_edges)
            undecided = edge[~has_high[edge]]
            if undecided.size:
                near = _grow(core, params.max_hole_px + 2, values.shape)
                if np.isin(labels[near], undecided).any():
                    return WindowResult(False, need_halo=2 * halo)
        mask = has_high[labels]
        del labels
    else:
        mask = low
    mask = cleanup_mask(mask, params.min_object_px, params.max_hole_px)
    mask_core = mask[core]
    if not mask_core.any():
        return WindowResult(
            True,
            mask_core=mask_core,
            skel_rc=np.zeros((0, 2), np.int64),
            prob=np.zeros(0, np.float32),
            dist=np.zeros(0, np.float32),
        )
    if any_open:
        need = _thinning_halo_needed(mask, core, open_edges, halo)
        if need > halo:
            return WindowResult(False, need_halo=need)
    skel = thin(mask)  # skimage's skeletonize, one component at a time
    skel_core = skel[core]
    rc = np.stack(np.divmod(np.flatnonzero(skel_core), skel_core.shape[1]), axis=1).astype(np.int64)
    r_off, c_off = core[0].start, core[1].start
    win_rc = rc + np.array([r_off, c_off])
    v = values[win_rc[:, 0], win_rc[:, 1]]
    prob = (
        (v.astype(np.float32) / np.float32(255.0)) if v.dtype == np.uint8 else v.astype(np.float32)
    )
    dist = _distance_to_background(mask, win_rc)
    return WindowResult(True, mask_core=mask_core, skel_rc=rc, prob=prob, dist=dist)


def _thinning_halo_needed(
    mask: np.ndarray,
    core: tuple[slice, slice],
    open_edges: tuple[bool, bool, bool, bool],
    halo: int,
) -> int:
    """Halo the thinning needs here (``halo`` itself when it suffices).

    Rule: components that reach both the core and an open window edge need
    ``halo >= 4 d + 8`` with ``d`` their chessboard depth inside the window (distance
    to the nearest background pixel or window side). Fast path: a depth above
    ``K = (halo - 8) // 4`` needs a fully-road square of side ``2K + 1`` inside the
    window, which always contains a whole aligned tile of side ``K + 1``; with no such
    tile (the usual case for road masks) the halo suffices without labelling.
    """
    k = (halo - 8) // 4
    if k >= 1:
        t = k + 1
        # only whole tiles can lie inside such a square: crop the partial ones off
        hh, ww = mask.shape[0] // t * t, mask.shape[1] // t * t
        rows_all = np.logical_and.reduce(mask[:hh, :ww].reshape(hh // t, t, ww), axis=1)
        if not np.logical_and.reduce(rows_all.reshape(hh // t, ww // t, t), axis=2).any():
            return halo
    labels, _ = ndi.label(mask, structure=EIGHT)
    edge = _touching_open_edges(labels, open_edges)
    if not edge.size:
        return halo
    in_core = np.unique(labels[core])
    risky = np.intersect1d(edge, in_core[in_core > 0])
    if not risky.size:
        return halo
    # chessboard depth inside the window: the window's sides count as background
    depth = ndi.distance_transform_cdt(np.pad(mask, 1), metric="chessboard")[1:-1, 1:-1]
    dsel = depth[np.isin(labels, risky)]
    need = 4 * int(dsel.max()) + 8
    return halo if halo >= need else max(2 * halo, need)


_RING_CACHE: dict[int, list[tuple[float, np.ndarray]]] = {}


def _rings(radius: int) -> list[tuple[float, np.ndarray]]:
    """Pixel offsets within ``radius``, grouped by exact distance, nearest first."""
    if radius not in _RING_CACHE:
        r = np.arange(-radius, radius + 1)
        dr, dc = np.meshgrid(r, r, indexing="ij")
        d2 = (dr * dr + dc * dc).ravel()
        keep = (d2 > 0) & (d2 <= radius * radius)
        offs = np.stack([dr.ravel()[keep], dc.ravel()[keep]], axis=1)
        d2 = d2[keep]
        _RING_CACHE[radius] = [(float(np.sqrt(v)), offs[d2 == v]) for v in np.unique(d2)]
    return _RING_CACHE[radius]


def _distance_to_background(mask: np.ndarray, rc: np.ndarray, radius: int = 24) -> np.ndarray:
    """Euclidean distance (pixels) from each ``rc`` pixel to the nearest background pixel centre.

    Exact: offsets are tried ring by ring in order of distance (all ties at once), so
    the first ring holding background gives the distance; pixels farther than
    ``radius`` from any background (rare: blobs) fall back to a k-d tree of the
    background pixels 4-adjacent to road (the nearest background pixel of a road
    pixel always is: its neighbour one step towards the road pixel is nearer, hence
    road). Only background inside the window counts (``inf`` if there is none).
    """
    n = rc.shape[0]
    out = np.full(n, np.inf, np.float32)
    if n == 0:
        return out
    padded = np.pad(mask, radius, constant_values=True)  # outside the window is not background
    flat = padded.ravel()
    w = padded.shape[1]
    base = (rc[:, 0] + radius) * w + (rc[:, 1] + radius)
    pending = np.arange(n)
    for dist, offs in _rings(radius):
        if pending.size == 0:
            break
        shift = offs[:, 0] * w + offs[:, 1]
        hit = ~flat[base[pending][:, None] + shift[None, :]].all(axis=1)
        out[pending[hit]] = dist
        pending = pending[~hit]
    if pending.size:
        near = np.zeros_like(mask)
        near[1:] |= mask[:-1]
        near[:-1] |= mask[1:]
        near[:, 1:] |= mask[:, :-1]
        near[:, :-1] |= mask[:, 1:]
        near &= ~mask
        idx = np.flatnonzero(near)
        if idx.size:
            bg = np.stack(np.divmod(idx, mask.shape[1]), axis=1)
            d, _ = cKDTree(bg).query(rc[pending], k=1)
            out[pending] = d.astype(np.float32)
    return out


def skeletonize_blocks(
    reader: Any,
    params: BlockParams,
    block_size: int,
    halo: int,
    mask_sink: BlockSink | None = None,
    skeleton_sink: BlockSink | None = None,
    show_progress: bool = False,
) -> SkeletonPixels:
    """Skeleton of the whole raster, computed block by block (see the module docstring).

    ``reader`` is a :class:`roadseg.raster.source.WindowReader` (or anything with
    ``info.height``, ``info.width``, ``pad``, ``vshape`` and ``read(vr0, vr1, vc0, vc1)``).
    Sinks receive each block's core mask / skeleton in raster coordinates.
    """
    from tqdm import tqdm

    h, w = reader.info.height, reader.info.width
    pad = reader.pad
    vh, vw = reader.vshape
    halo0 = max(int(halo), params.min_object_px + params.max_hole_px + 2)
    cores = [(r0, c0) for r0 in range(0, h, block_size) for c0 in range(0, w, block_size)]
    flats, probs, dists = [], [], []
    widened = 0
    for r0, c0 in tqdm(cores, desc="skeleton blocks", disable=not show_progress, leave=False):
        r1, c1 = min(r0 + block_size, h), min(c0 + block_size, w)
        hh = halo0
        while True:
            vr0, vr1 = max(r0 + pad - hh, 0), min(r1 + pad + hh, vh)
            vc0, vc1 = max(c0 + pad - hh, 0), min(c1 + pad + hh, vw)
            open_edges = (vr0 > 0, vr1 < vh, vc0 > 0, vc1 < vw)
            values = reader.read(vr0, vr1, vc0, vc1)
            core = (slice(r0 + pad - vr0, r1 + pad - vr0), slice(c0 + pad - vc0, c1 + pad - vc0))
            res = process_window(values, core, open_edges, hh, params)
            if res.ok:
                break
            if not any(open_edges):  # cannot happen: a full window is always decided
                raise RuntimeError("undecided window covering the whole raster")
            widened += 1
            log.debug("block (%d, %d): widening halo %d -> %d", r0, c0, hh, res.need_halo)
            hh = res.need_halo
        assert res.mask_core is not None and res.skel_rc is not None  # set on every decided window
        assert res.prob is not None and res.dist is not None
        if mask_sink is not None:
            mask_sink(r0, c0, res.mask_core)
        if skeleton_sink is not None:
            sk = np.zeros((r1 - r0, c1 - c0), bool)
            sk[res.skel_rc[:, 0], res.skel_rc[:, 1]] = True
            skeleton_sink(r0, c0, sk)
        rc = res.skel_rc
        flats.append((rc[:, 0] + r0) * np.int64(w) + (rc[:, 1] + c0))
        probs.append(res.prob)
        dists.append(res.dist)
    if widened:
        log.info("skeleton: %d block window(s) widened beyond the halo for exactness", widened)
    flat = np.concatenate(flats) if flats else np.zeros(0, np.int64)
    prob = np.concatenate(probs) if probs else np.zeros(0, np.float32)
    dist = np.concatenate(dists) if dists else np.zeros(0, np.float32)
    order = np.argsort(flat, kind="stable")
    return SkeletonPixels((h, w), flat[order], prob[order], dist[order])


class ArrayReader:
    """A :class:`WindowReader` over an in-memory array (codes or probabilities)."""

    def __init__(self, values: np.ndarray, pad: int):
        from types import SimpleNamespace

        self._a = np.asarray(values)
        self.pad = pad
        self.info = SimpleNamespace(height=self._a.shape[0], width=self._a.shape[1])
        self._v = np.pad(self._a, pad, mode="edge") if pad else self._a

    @property
    def vshape(self) -> tuple[int, int]:
        return self._v.shape

    def read(self, vr0: int, vr1: int, vc0: int, vc1: int) -> np.ndarray:
        return self._v[vr0:vr1, vc0:vc1]
