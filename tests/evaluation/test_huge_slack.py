"""A slack wider than the image counts every prediction as near a road (issue 22 item 5).

Before: ``evaluate --slack-m 1e9`` reported relaxed precision and recall 0.0 where
5000 and 1e6 gave 1.0 (the filter window overflowed).
"""

from __future__ import annotations

import numpy as np

from roadseg.evaluation.pixel import relaxed_counts


def test_any_slack_beyond_the_image_gives_the_same_counts():
    rng = np.random.default_rng(1)
    prob = rng.integers(0, 256, (40, 60)).astype(np.uint8)
    label = np.zeros((40, 60), bool)
    label[20, 5:55] = True
    counts = [relaxed_counts(prob, label, rho=r) for r in (60, 5000, 10**6, 10**9, 10**12)]
    at = [c.relaxed_at(128) for c in counts]
    assert all(a == at[0] for a in at), at
    assert at[0]["relaxed_precision"] == 1.0 and at[0]["relaxed_recall"] == 1.0
