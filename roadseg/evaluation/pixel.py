"""Pixel metrics: the paper's relaxed precision/recall and break-even point, plus strict IoU/F1.

Relaxed metrics (Mnih 2013; Zhang et al. 2018, ρ = 3 px)
--------------------------------------------------------
With ``N_ρ(p)`` the square ``(2ρ+1) × (2ρ+1)`` window centred on pixel ``p``
(clipped at the image border), exactly as in the widely used Massachusetts
evaluator of Saito et al. (ssai-cnn):

* relaxed precision = |{p predicted : N_ρ(p) ∩ L ≠ ∅}| / |predicted|,
* relaxed recall    = |{q ∈ L : N_ρ(q) ∩ predicted ≠ ∅}| / |L|,

where ``L`` is the set of label road pixels.

Threshold levels
----------------
Probabilities are handled as uint8 *levels* ``0..255`` (a float probability
``p`` becomes ``round(255 p)``). **Level k means "predicted road = prob >= k"**,
for ``k = 0..255``; level 0 therefore predicts every pixel as road. A
probability threshold ``t`` in [0, 1] maps to level ``ceil(255 t)``
(:func:`level_for_threshold`), so that ``p >= t`` and ``round(255 p) >= level``
agree up to the rounding of the stored levels.

All 256 levels in O(pixels)
---------------------------
For every level at once:

* predicted pixels: a histogram of ``prob`` over valid pixels, summed from the
  top (``count(prob >= k)`` is a reversed cumulative sum);
* relaxed true positives for precision: the same histogram restricted to the
  pixels of ``dilate(L)`` (dilation by the square window);
* relaxed hits for recall: a label pixel ``q`` is hit at level ``k`` iff
  ``max(prob over N_ρ(q)) >= k``, so a histogram of ``maximum_filter(prob)``
  over the label pixels;
* strict true positives: the histogram of ``prob`` over label pixels.

Counts of several images add up (:class:`PixelCounts` supports ``+`` and
:func:`pool`): the paper reports the metrics of a *set* of images from the
pooled counts, not as a mean of per-image values.

Valid-data mask
---------------
Pixels where ``valid`` is False (e.g. the white no-imagery areas of the
Massachusetts tiles) are removed from every count *and* from every
neighbourhood: the evaluation is that of the image with those pixels cut out.
A prediction there cannot hit a label pixel nearby, and a label pixel there
cannot make a prediction nearby count as correct.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from roadseg.evaluation.slack import PAPER_RHO_PX  # the pixel functions' default
from roadseg.raster.quantise import quantise

log = logging.getLogger(__name__)

#: Number of probability levels of a uint8 probability raster.
N_LEVELS = 256


def to_levels(prob: np.ndarray) -> np.ndarray:
    """Return ``prob`` as uint8 levels 0..255.

    uint8 is taken as is; bool becomes {0, 255}; floats are probabilities in
    [0, 1] (values outside are clipped) and become ``round(255 p)``; other
    integer types must already lie in 0..255. Floats are quantised by the rule of the
    probability GeoTIFFs (:func:`roadseg.raster.quantise.quantise`, half up).
    """
    prob = np.asarray(prob)
    if prob.dtype == np.uint8:
        return prob
    if prob.dtype == np.bool_:
        return prob.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(prob.dtype, np.floating):
        return quantise(prob)
    if np.issubdtype(prob.dtype, np.integer):
        lo, hi = (int(prob.min()), int(prob.max())) if prob.size else (0, 0)
        if lo < 0 or hi > 255:
            raise ValueError(f"integer probabilities must lie in 0..255, got {lo}..{hi}")
        return prob.astype(np.uint8)
    raise ValueError(f"unsupported probability dtype {prob.dtype}")


def level_for_threshold(threshold: float) -> int:
    """The level ``k`` for which ``prob_level >= k`` stands for ``p >= threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    # the small epsilon keeps 128/255 → 128 despite floating-point noise
    return int(min(255, max(0, math.ceil(threshold * 255.0 - 1e-9))))


def _top_cumsum(hist: np.ndarray) -> np.ndarray:
    """``out[k] = sum(hist[k:])``: the count of values >= k."""
    return np.cumsum(hist[::-1])[::-1].astype(np.int64)


def _hist(values: np.ndarray) -> np.ndarray:
    return np.bincount(values.ravel(), minlength=N_LEVELS)[:N_LEVELS]


@dataclass
class PixelCounts:
    """Per-level pixel counts of one image or of a pooled set of images.

    Arrays have length 256, indexed by level ``k`` (predicted = ``prob >= k``).

    Attributes:
        predicted: valid pixels predicted as road.
        predicted_near_label: predicted pixels with a label pixel within ρ (relaxed TP for precision).
        label_near_predicted: label pixels with a predicted pixel within ρ (relaxed TP for recall).
        strict_tp: predicted pixels that are label pixels.
        label: valid label road pixels (one number, independent of the level).
        valid: valid pixels counted.
        rho: the slack in pixels these counts were made with.
        n_images: how many images were pooled.
    """

    predicted: np.ndarray
    predicted_near_label: np.ndarray
    label_near_predicted: np.ndarray
    strict_tp: np.ndarray
    label: int
    valid: int
    rho: int = PAPER_RHO_PX
    n_images: int = 1

    def __add__(self, other: PixelCounts) -> PixelCounts:
        if not isinstance(other, PixelCounts):
            return NotImplemented
        if other.rho != self.rho:
            raise ValueError(f"cannot pool counts made with rho={self.rho} and rho={other.rho}")
        return PixelCounts(
            predicted=self.predicted + other.predicted,
            predicted_near_label=self.predicted_near_label + other.predicted_near_label,
            label_near_predicted=self.label_near_predicted + other.label_near_predicted,
            strict_tp=self.strict_tp + other.strict_tp,
            label=self.label + other.label,
            valid=self.valid + other.valid,
            rho=self.rho,
            n_images=self.n_images + other.n_images,
        )

    def relaxed_precision(self) -> np.ndarray:
        """Relaxed precision per level; NaN where nothing is predicted."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                self.predicted > 0,
                self.predicted_near_label / np.maximum(self.predicted, 1),
                np.nan,
            )

    def relaxed_recall(self) -> np.ndarray:
        """Relaxed recall per level; NaN everywhere when there is no label pixel."""
        if self.label == 0:
            return np.full(N_LEVELS, np.nan)
        return self.label_near_predicted / float(self.label)

    def relaxed_at(self, level: int) -> dict[str, float]:
        """Relaxed precision and recall at one level."""
        return {
            "relaxed_precision": float(self.relaxed_precision()[level]),
            "relaxed_recall": float(self.relaxed_recall()[level]),
        }

    def strict_at(self, level: int) -> dict[str, float]:
        """Strict (pixel-exact) metrics at one level, from the pooled counts."""
        tp = int(self.strict_tp[level])
        fp = int(self.predicted[level]) - tp
        fn = self.label - tp
        tn = self.valid - tp - fp - fn
        return _strict_from_counts(tp, fp, fn, tn)

    def to_dict(self) -> dict:
        """A JSON-serialisable form (lists of ints)."""
        return {
            "predicted": self.predicted.tolist(),
            "predicted_near_label": self.predicted_near_label.tolist(),
            "label_near_predicted": self.label_near_predicted.tolist(),
            "strict_tp": self.strict_tp.tolist(),
            "label": self.label,
            "valid": self.valid,
            "rho": self.rho,
            "n_images": self.n_images,
        }

    @classmethod
    def from_dict(cls, d: dict) -> PixelCounts:
        arrays = {
            k: np.asarray(d[k], dtype=np.int64)
            for k in ("predicted", "predicted_near_label", "label_near_predicted", "strict_tp")
        }
        return cls(
            **arrays,
            label=int(d["label"]),
            valid=int(d["valid"]),
            rho=int(d["rho"]),
            n_images=int(d["n_images"]),
        )


def pool(counts: Iterable[PixelCounts]) -> PixelCounts:
    """Sum the counts of several images (the paper's pooled evaluation of a set)."""
    total: PixelCounts | None = None
    for c in counts:
        total = c if total is None else total + c
    if total is None:
        raise ValueError("pool() needs at least one PixelCounts")
    return total


def _check_shapes(name: str, a: np.ndarray, ref: np.ndarray) -> None:
    if a.shape != ref.shape:
        raise ValueError(f"{name} has shape {a.shape}, the prediction has shape {ref.shape}")


def relaxed_counts(
    prob: np.ndarray,
    label: np.ndarray,
    valid: np.ndarray | None = None,
    rho: int = PAPER_RHO_PX,
) -> PixelCounts:
    """Count relaxed and strict hits for all 256 threshold levels of one image.

    Args:
        prob: H×W probabilities as uint8 levels 0..255 (floats in [0, 1] and
            bools are converted by :func:`to_levels`).
        label: H×W, road where true (nonzero).
        valid: optional H×W mask; False pixels are left out of every count and
            every neighbourhood.
        rho: slack in pixels; the neighbourhood is the (2ρ+1)² square window.

    Returns:
        :class:`PixelCounts`, to be pooled with ``+`` over a set of images.
    """
    if rho < 0:
        raise ValueError(f"rho must be >= 0, got {rho}")
    levels = to_levels(prob)
    if levels.ndim != 2:
        raise ValueError(f"prediction must be a 2-D array, got shape {levels.shape}")
    lab = np.asarray(label).astype(bool, copy=False)
    _check_shapes("label", lab, levels)
    if valid is not None:
        vmask = np.asarray(valid).astype(bool, copy=False)
        _check_shapes("valid mask", vmask, levels)
        # cut invalid pixels out of the image: no prediction, no label there
        levels = np.where(vmask, levels, np.uint8(0))
        lab = lab & vmask
    else:
        vmask = None
    # a window wider than twice the image covers all of it from any pixel; wider ones only
    # overflow the filter's sizes (--slack-m 1e9 gave 0.0 where 5000 gives 1.0)
    size = 2 * min(rho, max(levels.shape)) + 1
    # square dilation of the label; constant 0 outside clips windows at the border
    near_label = ndimage.maximum_filter(lab.view(np.uint8), size=size, mode="constant", cval=0)
    near_label = near_label.astype(bool, copy=False)
    # the highest level in each label pixel's window decides the levels at which it is hit
    window_max = ndimage.maximum_filter(levels, size=size, mode="constant", cval=0)

    if vmask is None:
        hist_pred = _hist(levels)
        n_valid = int(levels.size)
    else:
        hist_pred = _hist(levels[vmask])
        n_valid = int(vmask.sum())
    if vmask is None:
        hist_near = _hist(levels[near_label])
    else:
        hist_near = _hist(levels[near_label & vmask])
    hist_hit = _hist(window_max[lab])
    hist_strict = _hist(levels[lab])
    return PixelCounts(
        predicted=_top_cumsum(hist_pred),
        predicted_near_label=_top_cumsum(hist_near),
        label_near_predicted=_top_cumsum(hist_hit),
        strict_tp=_top_cumsum(hist_strict),
        label=int(lab.sum()),
        valid=n_valid,
        rho=int(rho),
    )


@dataclass
class BreakEvenResult:
    """The relaxed precision/recall curve of a (pooled) set and its break-even point.

    Attributes:
        thresholds: probability of each level, ``k / 255`` (length 256).
        precision, recall: relaxed precision and recall per level (NaN where undefined).
        breakeven: the value where the curve crosses P = R, linearly interpolated
            between the two neighbouring levels; when the curve never crosses, the
            smaller of P and R at ``level`` (a conservative stand-in, ``crossed`` False).
        crossing_threshold: the interpolated probability of that crossing (NaN if none).
        level: the level where |P − R| is smallest (the middle one of tied levels).
        breakeven_threshold: ``level / 255``, a threshold usable as is for binarisation.
        precision_at_level, recall_at_level: P and R at ``level``.
        crossed: whether P − R changes sign between two neighbouring levels.
    """

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    breakeven: float
    breakeven_threshold: float
    level: int
    crossing_threshold: float
    precision_at_level: float
    recall_at_level: float
    crossed: bool
    rho: int = PAPER_RHO_PX
    n_images: int = 1
    extra: dict = field(default_factory=dict)

    def curve(self) -> list[dict[str, float | None]]:
        """The curve as JSON-friendly rows (None for undefined values)."""
        return [
            {
                "threshold": float(t),
                "precision": None if np.isnan(p) else float(p),
                "recall": None if np.isnan(r) else float(r),
            }
            for t, p, r in zip(self.thresholds, self.precision, self.recall)
        ]


def breakeven(counts: PixelCounts) -> BreakEvenResult:
    """The relaxed precision/recall curve over all 256 levels and its break-even point.

    Levels where P is undefined (nothing predicted) or where P = R = 0 are left
    out. The crossing is searched between consecutive levels ``k, k+1`` where both P
    and R are defined: where ``d = P − R`` goes from ``d_k <= 0`` to
    ``d_{k+1} >= 0`` (recall falls and precision rises with the level), the
    break-even is ``P_k + t (P_{k+1} − P_k)`` with ``t = d_k / (d_k − d_{k+1})``,
    equal to the interpolated recall there. If several crossings exist, the one
    next to the level of smallest |P − R| is used.
    """
    p = counts.relaxed_precision()
    r = counts.relaxed_recall()
    thresholds = np.arange(N_LEVELS) / 255.0
    d = p - r
    # P = R = 0 (at the top levels, only a few saturated false positives remain) is no
    # break-even: such levels are left out, like those where P is undefined
    finite = np.isfinite(d) & ((np.nan_to_num(p) + np.nan_to_num(r)) > 0)
    if not finite.any():
        log.warning("break-even undefined: no label pixel or no prediction at any level")
        return BreakEvenResult(
            thresholds,
            p,
            r,
            math.nan,
            math.nan,
            -1,
            math.nan,
            math.nan,
            math.nan,
            False,
            counts.rho,
            counts.n_images,
        )
    absd = np.where(finite, np.abs(d), np.inf)
    # ties (a binary prediction gives the same P, R at levels 1..255) → the middle one
    tied = np.flatnonzero(absd == absd.min())
    level = int(tied[(len(tied) - 1) // 2])
    crossings = [
        k
        for k in range(N_LEVELS - 1)
        if finite[k] and finite[k + 1] and d[k] <= 0 <= d[k + 1] and (d[k] < 0 or d[k + 1] > 0)
    ]
    if d[level] == 0:
        be, cross_t, crossed = float(p[level]), float(thresholds[level]), True
    elif crossings:
        k = min(crossings, key=lambda c: min(abs(c - level), abs(c + 1 - level)))
        t = d[k] / (d[k] - d[k + 1])
        be = float(p[k] + t * (p[k + 1] - p[k]))
        cross_t = float((k + t) / 255.0)
        crossed = True
    else:
        be, cross_t, crossed = float(min(p[level], r[level])), math.nan, False
        log.warning(
            "relaxed P and R never cross; break-even reported as min(P, R) = %.4f at level %d",
            be,
            level,
        )
    return BreakEvenResult(
        thresholds=thresholds,
        precision=p,
        recall=r,
        breakeven=be,
        breakeven_threshold=level / 255.0,
        level=level,
        crossing_threshold=cross_t,
        precision_at_level=float(p[level]),
        recall_at_level=float(r[level]),
        crossed=crossed,
        rho=counts.rho,
        n_images=counts.n_images,
    )


def _safe_div(a: float, b: float) -> float:
    return float(a) / float(b) if b else math.nan


def _strict_from_counts(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    precision = _safe_div(tp, tp + fp)
    recall = _safe_div(tp, tp + fn)
    return {
        "iou": _safe_div(tp, tp + fp + fn),
        "precision": precision,
        "recall": recall,
        "f1": _safe_div(2 * tp, 2 * tp + fp + fn),
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
    }


def strict_metrics(
    pred: np.ndarray, label: np.ndarray, valid: np.ndarray | None = None
) -> dict[str, float]:
    """Pixel-exact IoU, precision, recall and F1 of a binary prediction.

    ``IoU = TP / (TP + FP + FN)``, ``P = TP / (TP + FP)``, ``R = TP / (TP + FN)``,
    ``F1 = 2TP / (2TP + FP + FN)``; a ratio with a zero denominator is NaN.
    The dict also holds the raw ``tp, fp, fn, tn``.
    """
    pb = np.asarray(pred).astype(bool, copy=False)
    lb = np.asarray(label).astype(bool, copy=False)
    _check_shapes("label", lb, pb)
    if valid is not None:
        vb = np.asarray(valid).astype(bool, copy=False)
        _check_shapes("valid mask", vb, pb)
        pb, lb = pb & vb, lb & vb
        n = int(vb.sum())
    else:
        n = pb.size
    tp = int(np.count_nonzero(pb & lb))
    fp = int(np.count_nonzero(pb)) - tp
    fn = int(np.count_nonzero(lb)) - tp
    return _strict_from_counts(tp, fp, fn, n - tp - fp - fn)
