"""The cache heals itself and killed runs leave nothing for long (issue 14, items 5 and 7).

* an entry truncated or changed after it was written is detected (size and
  SHA-256 recorded beside it) and recomputed with a warning;
* temporary files of a killed run (its process gone) are removed by the next run,
  those of a live process are left alone;
* SIGTERM unwinds like Ctrl-C: exit 143, no output, no partial file.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roadseg.atomic import check_seal, seal
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.extract import CACHE_FOLDER, extract_scene
from tests.pipeline.conftest import FAST

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "extract_roads.py"


def _config(model, **extra):
    return load_extract_config(
        None, {"predict.weights": str(model), "output.keep_cache": True, **FAST, **extra}
    )


def _geometries(path: Path) -> list:
    return [f["geometry"] for f in json.loads(path.read_text())["features"]]


@pytest.mark.parametrize(
    "damage",
    ["truncate-probability", "flip-probability", "truncate-network", "garble-info"],
)
def test_a_damaged_entry_is_recomputed(tmp_path, road_scene, brightness_model, caplog, damage):
    out = tmp_path / "roads.geojson"
    extract_scene(road_scene, out, _config(brightness_model))
    first = _geometries(out)
    cache = tmp_path / CACHE_FOLDER
    target = {
        "truncate-probability": "*.probability-*.tif",
        "flip-probability": "*.probability-*.tif",
        "truncate-network": "*.network-*.edges.parquet",
        "garble-info": "*.probability-*.json",
    }[damage]
    (entry,) = cache.glob(target)
    data = entry.read_bytes()
    if damage.startswith("truncate"):
        entry.write_bytes(data[: len(data) // 2])
    elif damage.startswith("flip"):
        entry.write_bytes(data[:-10] + bytes(b ^ 0xFF for b in data[-10:]))
    else:
        entry.write_text("{not json")
    assert check_seal(entry) is not None
    with caplog.at_level(logging.WARNING, logger="roadseg"):
        result = extract_scene(road_scene, out, _config(brightness_model))
    assert "cache entry not usable" in caplog.text and entry.name in caplog.text
    assert "inference" not in result.summary.resumed or damage == "truncate-network"
    assert _geometries(out) == first
    assert check_seal(entry) is None  # replaced by a good one, sealed again


def test_seal_detects_truncation_and_change(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"a" * 1000)
    assert check_seal(f) == "no integrity record"
    seal(f)
    assert check_seal(f) is None
    f.write_bytes(b"a" * 999)
    assert "truncated" in check_seal(f)
    f.write_bytes(b"b" * 1000)
    assert "SHA-256" in check_seal(f)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # ended and reaped: no such process (pid reuse within a test is unlikely)


def test_partial_files_of_a_killed_run_are_removed(tmp_path, road_scene, brightness_model):
    from roadseg.atomic import _host_tag

    cache = tmp_path / CACHE_FOLDER
    cache.mkdir()
    host, dead = _host_tag(), _dead_pid()
    stale = [
        cache / f".scene.probability-0123.{host}-{dead}-abcdef.partial.tif",
        tmp_path / f".roads.{host}-{dead}-abcdef.partial",  # a staging folder
        cache / f".roadseg-predict.{host}-{dead}-abcdef.partial-x1y2",  # inference's temp folder
    ]
    stale[0].write_bytes(b"half a raster")
    stale[2].mkdir()
    stale[1].mkdir()
    (stale[1] / "roads.geojson").write_text("{")
    live = tmp_path / f".roads.{host}-1-abcdef.partial"  # pid 1 is alive: not ours to remove
    live.mkdir()
    foreign = cache / ".scene.probability-0123.00000000-12345-abcdef.partial.tif"  # other host
    foreign.write_bytes(b"x")
    extract_scene(road_scene, tmp_path / "roads.geojson", _config(brightness_model))
    assert not any(p.exists() for p in stale)
    assert live.exists() and foreign.exists()


def _stalled_run(argv: list[str]) -> subprocess.Popen:
    """``extract_roads.py argv`` whose evaluation stage never returns."""
    code = (
        "import runpy, sys, time; import roadseg.pipeline.extract as e; "
        "e._evaluate_scene = lambda *a, **k: time.sleep(600); "
        f"sys.argv = [{str(SCRIPT)!r}, *{argv!r}]; "
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_sigterm_is_handled_like_sigint(tmp_path, road_scene, brightness_model):
    from tests.pipeline.test_extract_scene import _write_labels

    labels = tmp_path / "labels.tif"
    _write_labels(labels)
    out = tmp_path / "roads.geojson"
    argv = [str(road_scene), "-o", str(out), "--weights", str(brightness_model)]
    argv += ["--evaluate", str(labels), "--tile", "64", "--overlap", "8", "--no-progress"]
    proc = _stalled_run(argv)
    deadline = time.monotonic() + 90
    while not list(tmp_path.glob(".roads.*.partial")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    time.sleep(0.3)  # in the evaluation, with the network staged
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert (
        not out.exists()
        and not list(tmp_path.glob("*.partial*"))
        and not list(tmp_path.glob(".*partial*"))
    )
    assert list((tmp_path / CACHE_FOLDER).glob("*.network-*.json"))  # completed stages stay
