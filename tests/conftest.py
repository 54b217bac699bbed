"""Fixtures for the whole suite."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _roadseg_cache(tmp_path_factory):
    """Exported ONNX graphs go to a folder of this session, not the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ROADSEG_CACHE_DIR", str(tmp_path_factory.mktemp("roadseg-cache")))
    yield
    mp.undo()
