"""Quiet, useful logs (issue 13, item 8): progress bars only on a terminal, library
warnings as one log line, every output path printed once."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings

from roadseg.cli import configure_logging

from .conftest import FAST


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "roadseg.cli", *argv], capture_output=True, text=True, timeout=300
    )


def test_no_progress_bars_when_stderr_is_not_a_terminal(tmp_path, scene, model):
    out = tmp_path / "r.geojson"
    proc = _run("extract", str(scene), "-o", str(out), "--weights", str(model), *FAST)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "it/s" not in proc.stderr and "tile/s" not in proc.stderr
    # every output path once
    for name in ("r.geojson", "r.nodes.geojson"):
        assert proc.stderr.count(str(tmp_path / name)) == 1, proc.stderr
    # asked for explicitly, bars are drawn anyway
    proc = _run("extract", str(scene), "-o", str(out), "--weights", str(model), *FAST, "--progress")
    assert proc.returncode == 0 and "tile/s" in proc.stderr


def test_predict_and_vectorize_name_their_outputs_once(tmp_path, scene, model):
    prob = tmp_path / "p.tif"
    proc = _run("predict", str(scene), "-o", str(prob), "--weights", str(model), *FAST)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(str(prob)) == 1, proc.stderr
    assert "tile/s" not in proc.stderr
    out = tmp_path / "r.gpkg"
    proc = _run("vectorize", str(prob), "-o", str(out), "--format", "geojson", "--format", "gpkg")
    assert proc.returncode == 0, proc.stderr
    for p in (out, out.with_suffix(".geojson"), tmp_path / "r.nodes.geojson"):
        assert proc.stderr.count(str(p)) == 1, proc.stderr


def test_library_warnings_become_one_log_line(capfd):
    configure_logging()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        from roadseg import cli

        warnings.showwarning = cli._log_warning  # as configure_logging sets it
        warnings.warn("Port 8787 is already in use.", UserWarning, stacklevel=1)
        warnings.warn("More than one layer found in 'r.gpkg'", UserWarning, stacklevel=1)
    err = capfd.readouterr().err.splitlines()
    assert [e for e in err if "Port 8787" in e] == [
        "WARNING roadseg.warnings.tools: UserWarning: Port 8787 is already in use."
    ]
    assert not [e for e in err if "More than one layer" in e]  # benign: debug only
    assert logging.getLogger("distributed").handlers  # Dask's records share the format
