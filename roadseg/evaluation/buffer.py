"""Buffer-based completeness, correctness and quality (Wiedemann et al. 1998).

With a buffer of half-width ``w`` metres (``buffer_m``, default 3 m: the
paper's ρ = 3 px at the Massachusetts 1 m/px) around each network, on road
centrelines in a metric CRS:

* completeness = length of the reference inside the buffer of the extraction
  / length of the reference   (how much of the true network was found);
* correctness  = length of the extraction inside the buffer of the reference
  / length of the extraction  (how much of the extraction is right);
* quality      = matched extraction / (extraction + unmatched reference)
  = TP / (TP + FP + FN) in lengths.

Each network is first dissolved (``unary_union``) so that overlapping
duplicate lines are not counted twice. A ratio with a zero denominator is NaN
(for instance correctness of an empty extraction).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import shapely
from shapely.geometry import LineString

DEFAULT_BUFFER_M = 3.0


def buffer_lengths(
    reference: Iterable[LineString],
    extraction: Iterable[LineString],
    buffer_m: float = DEFAULT_BUFFER_M,
) -> np.ndarray:
    """``[matched reference, reference, matched extraction, extraction]`` lengths in metres.

    These add up over scenes; :func:`buffer_ratios` turns them into the metrics.
    """
    if buffer_m <= 0:
        raise ValueError(f"buffer_m must be > 0, got {buffer_m}")
    ref = shapely.unary_union([g for g in reference if g is not None and not g.is_empty])
    ext = shapely.unary_union([g for g in extraction if g is not None and not g.is_empty])
    ref_len, ext_len = ref.length, ext.length
    matched_ref = ref.intersection(ext.buffer(buffer_m)).length if ext_len and ref_len else 0.0
    matched_ext = ext.intersection(ref.buffer(buffer_m)).length if ext_len and ref_len else 0.0
    return np.array([matched_ref, ref_len, matched_ext, ext_len], float)


def buffer_ratios(lengths: np.ndarray) -> dict[str, float]:
    """Completeness, correctness and quality from (pooled) :func:`buffer_lengths`."""
    matched_ref, ref_len, matched_ext, ext_len = (float(x) for x in lengths)

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else math.nan

    return {
        "completeness": ratio(matched_ref, ref_len),
        "correctness": ratio(matched_ext, ext_len),
        "quality": ratio(matched_ext, ext_len + ref_len - matched_ref),
    }


def buffer_metrics(
    reference: Iterable[LineString],
    extraction: Iterable[LineString],
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[str, float]:
    """Completeness, correctness and quality of ``extraction`` against ``reference`` (metres)."""
    return buffer_ratios(buffer_lengths(reference, extraction, buffer_m))
