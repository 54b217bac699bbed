from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "massachusetts"


@pytest.fixture
def mass_src() -> tuple[Path, Path]:
    """(images dir, masks dir) of the two 64x64 real Massachusetts crops."""
    return FIXTURES / "images", FIXTURES / "masks"
