"""``vectorize`` exports all or nothing, also on a full disk (issue 14, item 7)."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys

import pytest


def _file_size_limit(limit: int):
    def apply() -> None:
        # a write past the limit fails with EFBIG (as on a full disk) instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize(
    "formats", [["--format", "geojson", "--format", "gpkg"], []], ids=["geojson+gpkg", "gpkg"]
)
def test_full_disk_leaves_nothing(tmp_path, probability, formats):
    """The GeoJSON pair (~4 kB) fits under the limit, the GeoPackage (~100 kB) does not:
    nothing may appear, and the error is one line naming the output."""
    out = tmp_path / "roads.gpkg"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "roadseg.cli",
            "vectorize",
            str(probability),
            "-o",
            str(out),
            *formats,
        ],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(20_000),
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and str(out) in errors[0] and "could not write" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_geojson_and_nodes_appear_together(tmp_path, probability, capsys):
    from roadseg.cli import main

    out = tmp_path / "roads.geojson"
    assert main(["vectorize", str(probability), "-o", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roads.geojson", "roads.nodes.geojson"]
