"""GDAL's and libtiff's messages go to logging, not to the terminal (issue 22 item 6).

GDAL's I/O hooks report a failed write through libtiff's process-wide handler, which by
default prints ``_tiffWriteProc: No space left on device.`` on stderr; and GDAL prints
``ERROR 1: ...`` for a message raised on a thread where rasterio installed no handler (the
background writer's, on a full disk). The checks run in a subprocess so that stderr is
seen at the file-descriptor level, where libtiff and GDAL write.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import ctypes, logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(levelname)s %(message)s")
from roadseg.raster import gdal_messages
path = gdal_messages._libtiff_path()
if path is None:
    print("NO-LIBTIFF"); sys.exit(0)
if sys.argv[1] == "route":
    assert gdal_messages.route_libtiff_messages()
lib = ctypes.CDLL(path)
lib.TIFFErrorExt(None, b"_tiffWriteProc", b"%s (%d)", b"No space left on device", 28)
lib.TIFFWarningExt(None, b"TIFFReadDirectory", b"%s", b"Unknown field with tag 1")
sys.stdout.flush()
"""


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    if "NO-LIBTIFF" in proc.stdout:
        pytest.skip("GDAL's libtiff is not a separate library here")
    return proc


def test_libtiff_default_handler_prints_raw_lines():
    """Control: what the routing replaces (so the next test can fail)."""
    proc = _run("plain")
    assert proc.returncode == 0, proc.stderr
    assert "_tiffWriteProc: No space left on device (28)" in proc.stderr


def test_libtiff_messages_go_to_logging_at_debug():
    proc = _run("route")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "DEBUG libtiff error: _tiffWriteProc: No space left on device (28)" in proc.stdout
    assert "DEBUG libtiff warning: TIFFReadDirectory: Unknown field with tag 1" in proc.stdout


THREAD_SCRIPT = """
import ctypes, logging, sys, threading
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
import rasterio
from roadseg.raster.gdal_messages import gdal_thread, _libtiff_path
gdal = next(line.split()[-1] for line in open("/proc/self/maps") if "libgdal" in line)
lib = ctypes.CDLL(gdal)
def fail():
    lib.CPLError(3, 1, b"%s", b"TIFFWriteDirectorySec:IO error writing directory")
target = gdal_thread(fail) if sys.argv[1] == "wrapped" else fail
t = threading.Thread(target=target); t.start(); t.join()
sys.stdout.flush()
"""


def _thread_run(mode: str) -> subprocess.CompletedProcess[str]:
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc to find GDAL")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", THREAD_SCRIPT, mode], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


def test_gdal_prints_raw_errors_of_a_bare_thread():
    """Control: a thread without rasterio's handler (what gdal_thread changes)."""
    proc = _thread_run("bare")
    assert proc.returncode == 0, proc.stderr
    assert "ERROR 1: TIFFWriteDirectorySec:IO error writing directory" in proc.stderr


def test_gdal_errors_on_roadseg_threads_are_logged():
    proc = _thread_run("wrapped")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "TIFFWriteDirectorySec:IO error writing directory" in proc.stdout
