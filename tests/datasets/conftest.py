from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "massachusetts"


@pytest.fixture
def mass_src() -> tuple[Path, Path]:
    """(images dir, masks dir) of the two 64x64 real Massachusetts crops."""
    return FIXTURES / "images", FIXTURES / "masks"


@pytest.fixture
def file_server():
    """A running :class:`FileServer` on 127.0.0.1 (port chosen by the OS), shut down after the test."""
    from tests.datasets.http_fixture import FileServer, start

    fs = start(FileServer())
    yield fs
    fs.server.shutdown()
    fs.server.server_close()
