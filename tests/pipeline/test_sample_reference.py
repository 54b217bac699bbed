"""Behaviour kept: the bundled sample gives the network and report stored before a refactor."""

from __future__ import annotations

import json

from tests.pipeline.sample_reference import REFERENCE, sample_result


def test_sample_network_and_report_match_the_reference(tmp_path):
    expected = json.loads(REFERENCE.read_text())
    got = json.loads(json.dumps(sample_result(tmp_path)))  # tuples -> lists, as stored
    assert (got["threshold"], got["threshold_from"]) == (
        expected["threshold"],
        expected["threshold_from"],
    )
    assert len(got["edges"]) == len(expected["edges"])
    assert got["edges"] == expected["edges"]
    assert got["nodes"] == expected["nodes"]
    assert got["pixel"] == expected["pixel"]
    assert got["parameters"] == expected["parameters"]
