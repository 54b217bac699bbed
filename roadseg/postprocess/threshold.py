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


def _small_components(labels: np.ndarray, n: int, limit: int, inclusive: bool) -> list[tuple]:
    """(slice, label) of components with area < limit (or <= limit when ``inclusive``).

    Only components whose bounding box is smaller than ``limit`` on both sides can be
    that small (a connected set of ``a`` pixels spans at most ``a`` rows and columns),
    so only those are counted: no full-array histogram of labels.
    """
    out = []
    for i, sl in enumerate(ndi.find_objects(labels, max_label=n), start=1):
        if sl is None:
            continue
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if h > limit or w > limit:
            continue
        area = h * w if h * w <= 1 else int(np.count_nonzero(labels[sl] == i))
        if area < limit or (inclusive and area == limit):
            out.append((sl, i))
    return out


def remove_small_objects(mask: np.ndarray, min_object_px: int) -> np.ndarray:
    """Drop 8-connected components with fewer than ``min_object_px`` pixels.

    Sizes are counted over the road pixels only (a small fraction of the array).
    """
    if min_object_px <= 1:
        return mask
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return mask
    labels, _ = ndi.label(mask, structure=EIGHT)
    lab = labels.ravel()[idx]
    small = np.bincount(lab)[lab] < min_object_px
    if not small.any():
        return mask
    out = mask.copy()
    out.ravel()[idx[small]] = False
    return out


def fill_small_holes(mask: np.ndarray, max_hole_px: int) -> np.ndarray:
    """Fill 4-connected background components of at most ``max_hole_px`` pixels."""
    if max_hole_px <= 0 or mask.all():
        return mask
    labels, n = ndi.label(~mask, structure=FOUR)
    small = _small_components(labels, n, max_hole_px, inclusive=True)
    if not small:
        return mask
    out = mask.copy()
    for sl, i in small:
        out[sl][labels[sl] == i] = True
    return out


def cleanup_mask(mask: np.ndarray, min_object_px: int, max_hole_px: int) -> np.ndarray:
    """:func:`remove_small_objects` then :func:`fill_small_holes`."""
    return fill_small_holes(remove_small_objects(mask, min_object_px), max_hole_px)
