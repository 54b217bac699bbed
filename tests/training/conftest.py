"""Fixtures of the training tests."""

from __future__ import annotations

import pytest

from tests.training.helpers import write_road_tiles


@pytest.fixture()
def road_tiles(tmp_path):
    """Three 96x96 tiles: grey ground, dark roads, a white no-imagery corner."""
    return write_road_tiles(tmp_path)
