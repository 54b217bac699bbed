"""Checkpoint metadata within what a real sensor and this version can be (issue 22 items 5, 6).

Before: ``gsd_m`` 1e-9 passed the schema and ended in a bare ``MemoryError`` in the
planner; ``format_version`` 999 was silently read as if it were this version's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roadseg.errors import InputError
from roadseg.models.checkpoint import read_meta

from .test_checkpoint import _good_meta, _with_meta


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gsd_m": 1e-9}, "gsd_m=1e-09: expected metres per pixel, from 0.005 to 1000"),
        ({"gsd_m": 5000.0}, "gsd_m=5000.0: expected metres per pixel"),
        ({"format_version": 999}, "format_version=999: written by a newer roadseg"),
    ],
)
def test_out_of_range_metadata_is_refused(tmp_path: Path, change: dict, message: str) -> None:
    path = _with_meta(tmp_path, json.dumps({**_good_meta(), **change}))
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        read_meta(path)


def test_real_sensor_extremes_pass(tmp_path: Path) -> None:
    for gsd in (0.005, 0.03, 1000.0):
        (tmp_path / str(gsd)).mkdir()
        meta = read_meta(
            _with_meta(tmp_path / str(gsd), json.dumps({**_good_meta(), "gsd_m": gsd}))
        )
        assert meta.gsd_m == gsd
