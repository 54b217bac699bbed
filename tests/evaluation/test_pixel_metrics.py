"""Pixel metrics: hand-computed cases, a brute-force reference, pooling, break-even."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadseg.evaluation.pixel import (
    PixelCounts,
    breakeven,
    level_for_threshold,
    pool,
    relaxed_counts,
    strict_metrics,
    to_levels,
)


def _line(shape=(64, 64), row=30, c0=5, c1=59, width=1):
    m = np.zeros(shape, bool)
    m[row : row + width, c0:c1] = True
    return m


def _reference(pred: np.ndarray, label: np.ndarray, rho: int) -> tuple[float, float]:
    """Saito et al.'s evaluator, loop by loop (clipped square windows)."""
    h, w = pred.shape
    tp_p = 0
    for y, x in np.argwhere(pred):
        win = label[max(0, y - rho) : min(h, y + rho + 1), max(0, x - rho) : min(w, x + rho + 1)]
        tp_p += bool(win.any())
    tp_r = 0
    for y, x in np.argwhere(label):
        win = pred[max(0, y - rho) : min(h, y + rho + 1), max(0, x - rho) : min(w, x + rho + 1)]
        tp_r += bool(win.any())
    p = tp_p / pred.sum() if pred.sum() else math.nan
    r = tp_r / label.sum() if label.sum() else math.nan
    return p, r


def test_shift_within_rho_is_perfect():
    label = _line()
    pred = np.roll(label, 2, axis=0)
    c = relaxed_counts(pred, label, rho=3)
    assert c.relaxed_at(128) == {"relaxed_precision": 1.0, "relaxed_recall": 1.0}
    assert strict_metrics(pred, label)["iou"] == 0.0


def test_shift_beyond_rho_scores_zero():
    label = _line()
    pred = np.roll(label, 5, axis=0)
    c = relaxed_counts(pred, label, rho=3)
    assert c.relaxed_at(128) == {"relaxed_precision": 0.0, "relaxed_recall": 0.0}


def test_diagonal_shift_uses_square_window():
    # (3, 3) away: inside the square (2ρ+1)² window although the Euclidean distance is 4.24
    label = np.zeros((20, 20), bool)
    label[5, 5] = True
    pred = np.zeros_like(label)
    pred[8, 8] = True
    c = relaxed_counts(pred, label, rho=3)
    assert c.relaxed_at(255)["relaxed_precision"] == 1.0
    pred2 = np.zeros_like(label)
    pred2[9, 8] = True
    assert relaxed_counts(pred2, label, rho=3).relaxed_at(255)["relaxed_recall"] == 0.0


def test_half_length_prediction():
    label = _line(c0=4, c1=60)  # 56 px
    pred = _line(c0=4, c1=32)  # the first 28 px
    c = relaxed_counts(pred, label, rho=0)
    assert c.relaxed_at(1) == {"relaxed_precision": 1.0, "relaxed_recall": 0.5}
    s = strict_metrics(pred, label)
    assert (s["precision"], s["recall"], s["iou"]) == (1.0, 0.5, 0.5)
    assert s["f1"] == pytest.approx(2 / 3)


def test_empty_prediction():
    label = _line()
    c = relaxed_counts(np.zeros(label.shape, np.uint8), label)
    assert c.relaxed_at(1)["relaxed_recall"] == 0.0
    assert math.isnan(c.relaxed_at(1)["relaxed_precision"])
    s = strict_metrics(np.zeros(label.shape, bool), label)
    assert s["recall"] == 0.0 and s["iou"] == 0.0 and math.isnan(s["precision"])
    be = breakeven(c)
    # only level 0 ("everything is road") has a defined precision; never cross -> min(P, R)
    assert not be.crossed
    assert be.breakeven == pytest.approx(label.sum() / label.size, abs=0.2)


@pytest.mark.parametrize("rho", [0, 1, 3])
def test_matches_bruteforce_reference_at_every_level(rho):
    rng = np.random.default_rng(rho)
    prob = (rng.random((40, 33)) ** 3 * 255).astype(np.uint8)
    label = rng.random((40, 33)) < 0.05
    c = relaxed_counts(prob, label, rho=rho)
    for k in (0, 1, 17, 60, 128, 200, 255):
        p_ref, r_ref = _reference(prob >= k, label, rho)
        got = c.relaxed_at(k)
        np.testing.assert_equal(got["relaxed_precision"], p_ref)
        np.testing.assert_equal(got["relaxed_recall"], r_ref)
        s = strict_metrics(prob >= k, label)
        for key, v in c.strict_at(k).items():
            np.testing.assert_equal(v, s[key])


def test_valid_mask_cuts_pixels_out():
    rng = np.random.default_rng(7)
    prob = (rng.random((50, 50)) * 255).astype(np.uint8)
    label = rng.random((50, 50)) < 0.1
    valid = np.ones((50, 50), bool)
    valid[:, 25:] = False
    masked = relaxed_counts(prob, label, valid)
    # the same as cropping away the invalid half... except that the crop's border
    # clips windows exactly where the mask removes the neighbours, so equal counts:
    cropped = relaxed_counts(prob[:, :25], label[:, :25])
    for name in ("predicted", "predicted_near_label", "label_near_predicted", "strict_tp"):
        np.testing.assert_array_equal(getattr(masked, name), getattr(cropped, name))
    assert masked.label == cropped.label and masked.valid == cropped.valid == 50 * 25
    s = strict_metrics(prob >= 100, label, valid)
    s2 = strict_metrics(prob[:, :25] >= 100, label[:, :25])
    assert s == s2


def test_pooling_adds_counts_not_ratios():
    label = _line()
    a = relaxed_counts(label, label)  # perfect
    b = relaxed_counts(np.zeros_like(label), _line(c0=0, c1=64))  # misses 64 label px
    pooled = a + b
    assert pooled.n_images == 2
    assert pooled.relaxed_at(128)["relaxed_recall"] == pytest.approx(54 / (54 + 64))
    assert pool([a, b]).to_dict() == pooled.to_dict()
    assert PixelCounts.from_dict(pooled.to_dict()).to_dict() == pooled.to_dict()
    with pytest.raises(ValueError):
        a + relaxed_counts(label, label, rho=1)


def test_breakeven_interpolates_the_crossing():
    # a road whose confidence fades along its length, and scattered weaker false alarms:
    # precision rises and recall falls with the level, so the curve crosses P = R
    rng = np.random.default_rng(3)
    label = np.zeros((120, 120), bool)
    label[40:43, :] = True
    soft = np.where(label, np.linspace(0.05, 1.0, 120)[None, :], 0.0)
    noise = rng.random(label.shape) < 0.03
    soft = np.where(noise & ~label, rng.random(label.shape) * 0.7, soft)
    prob = to_levels(soft)
    be = breakeven(relaxed_counts(prob, label))
    assert be.crossed
    assert be.precision.shape == be.recall.shape == (256,)
    k = be.level
    assert abs(be.precision[k] - be.recall[k]) == np.nanmin(np.abs(be.precision - be.recall))
    assert be.breakeven_threshold == k / 255
    lo = min(be.precision[k], be.recall[k]) - 0.05
    hi = max(be.precision[k], be.recall[k]) + 0.05
    assert lo <= be.breakeven <= hi
    assert 0 < be.crossing_threshold < 1
    assert len(be.curve()) == 256


def test_binary_prediction_breakeven_is_one_for_perfect():
    label = _line()
    be = breakeven(relaxed_counts(label, label))
    assert be.breakeven == pytest.approx(1.0)


def test_level_for_threshold_and_to_levels():
    assert level_for_threshold(0.5) == 128
    assert level_for_threshold(0.0) == 0 and level_for_threshold(1.0) == 255
    assert level_for_threshold(128 / 255) == 128
    p = np.array([[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(to_levels(p), [[0, 128, 255]])
    assert (to_levels(p) >= level_for_threshold(0.5)).tolist() == [[False, True, True]]
    with pytest.raises(ValueError):
        to_levels(np.array([[300]], np.int32))


def test_saturated_false_positives_do_not_fake_a_breakeven():
    """At the top level only a far-away false alarm is left (P = R = 0): that is no crossing.

    Found on a real held-out set: the min |P - R| sat at level 255 with P = R = 0.
    """
    label = _line(row=10)
    prob = np.zeros(label.shape, np.uint8)
    prob[label] = np.linspace(20, 200, label.sum()).astype(np.uint8)  # fading road
    prob[50:53, 20:40] = 120  # a weaker false alarm far from the road
    prob[60, 60] = 255  # one saturated false positive
    be = breakeven(relaxed_counts(prob, label))
    assert be.recall[255] == 0 and be.precision[255] == 0
    assert be.level < 255 and be.crossed
    assert be.breakeven > 0.3
