"""Threshold (fixed, Otsu, hysteresis) and cleanup of small objects and holes.

Rules (``p`` is the probability, ``v`` the uint8 code with ``p = v / 255``):

* fixed ``t``: road ⇔ ``p >= t``; on codes ``v >= ceil(255 t)`` (exact integer test,
  so ``t = 0.5`` means ``v >= 128``).
* Otsu: ``t*`` maximises the between-class variance of the histogram of all valid
  pixels of the raster (Otsu 1979, via :func:`skimage.filters.threshold_otsu` on the
  histogram); road ⇔ ``v > t*`` (scikit-image's convention).
* hysteresis ``(low, high)``: road ⇔ ``p >= low`` and the pixel's 8-connected
  component of ``{p >= low}`` contains a pixel with ``p >= high``.
* cleanup: 8-connected road components of fewer than ``min_object_px`` pixels are
  removed, then 4-connected background components of at most ``max_hole_px``
  pixels are filled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

import roadseg.postprocess.runs as runs
from roadseg.postprocess.config import ThresholdSpec

EIGHT = np.ones((3, 3), bool)
FOUR = ndi.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class ResolvedThreshold:
    """A threshold spec turned into value tests (on codes or on float probabilities)."""

    kind: str  # "fixed" or "hysteresis" (Otsu resolves to "fixed")
    low: float  # fixed: the cut; hysteresis: low cut (inclusive)
    high: float  # hysteresis high cut (inclusive)
    on_codes: bool
    description: str

    @property
    def level(self) -> float:
        """The probability level of the (low) cut: road pixels have ``p >= level``."""
        return min(1.0, self.low / 255.0) if self.on_codes else min(1.0, self.low)


def resolve_threshold(
    spec: ThresholdSpec, histogram: np.ndarray, on_codes: bool
) -> ResolvedThreshold:
    """Turn ``spec`` into inclusive cuts in the units of the raster's values.

    ``histogram`` holds 256 counts of codes (or of float probabilities binned to
    ``round(255 p)``); it is only needed for Otsu.
    """
    if spec.kind == "otsu":
        from skimage.filters import threshold_otsu

        counts = np.asarray(histogram, np.int64)
        if (counts > 0).sum() < 2:
            # one value only: Otsu is undefined; everything at that value is one class
            t = 255.0 if counts.sum() == 0 else float(np.argmax(counts))
        else:
            t = float(threshold_otsu(hist=(counts, np.arange(256))))
        # road ⇔ v > t  ⇔  v >= floor(t) + 1 on codes
        if on_codes:
            cut = math.floor(t) + 1
            return ResolvedThreshold(
                "fixed", cut, cut, True, f"otsu (v > {t:g}, p > {t / 255:.4f})"
            )
        p = t / 255.0
        return ResolvedThreshold("fixed", math.nextafter(p, 2.0), 0.0, False, f"otsu (p > {p:.4f})")
    low: float
    high: float
    if on_codes:
        low = _code_cut(spec.value if spec.kind == "fixed" else spec.low)
        high = _code_cut(spec.high)
    else:
        low = spec.value if spec.kind == "fixed" else spec.low
        high = spec.high
    return ResolvedThreshold(spec.kind, low, high, on_codes, str(spec))


def _code_cut(t: float) -> int:
    """Smallest code ``v`` with ``v / 255 >= t``."""
    v = math.ceil(255.0 * t - 1e-9)
    while v > 0 and (v - 1) / 255.0 >= t:
        v -= 1
    while v / 255.0 < t:
        v += 1
    return v


def threshold_mask(values: np.ndarray, rt: ResolvedThreshold) -> np.ndarray:
    """Binary road mask of an array of codes/probabilities (whole-array semantics)."""
    low = values >= rt.low
    if rt.kind != "hysteresis":
        return low
    labels, n = ndi.label(low, structure=EIGHT)
    keep = np.zeros(n + 1, bool)
    keep[np.unique(labels[values >= rt.high])] = True
    keep[0] = False
    return keep[labels]


def remove_small_objects(mask: np.ndarray, min_object_px: int) -> np.ndarray:
    """Drop 8-connected components with fewer than ``min_object_px`` pixels."""
    return cleanup_mask(mask, min_object_px, 0)


def fill_small_holes(mask: np.ndarray, max_hole_px: int) -> np.ndarray:
    """Fill 4-connected background components of at most ``max_hole_px`` pixels."""
    return cleanup_mask(mask, 0, max_hole_px)


def cleanup_mask(mask: np.ndarray, min_object_px: int, max_hole_px: int) -> np.ndarray:
    """:func:`remove_small_objects` then :func:`fill_small_holes` (``mask`` itself when
    neither changes a pixel, else a new array).

    Both work on the mask's row runs (:mod:`roadseg.postprocess.runs`): the components are
    those of :func:`scipy.ndimage.label` (8-connected road, 4-connected background) at a
    cost in proportion to the runs, not the pixels.
    """
    out = mask
    road = runs.mask_runs(mask)
    if min_object_px > 1 and road[0].size:
        small = runs.small_components(road, min_object_px, diagonal=True, inclusive=False)
        if small.any():
            out = mask.copy()
            runs.paint(out, runs.select(road, small), False)
            road = runs.select(road, ~small)
    if max_hole_px > 0:
        gaps = runs.gap_runs(road, *mask.shape)
        small = runs.small_components(gaps, max_hole_px, diagonal=False, inclusive=True)
        if small.any():
            out = out.copy() if out is mask else out
            runs.paint(out, runs.select(gaps, small), True)
    return out
