"""Concurrent runs do not break each other (issue 14, item 3).

Two ``extract`` processes on the same scene write into one folder at the same
time, with different outputs and thresholds, so they share the cache folder and
even the inference entry. Both must succeed with the result a run alone gives,
and the cache must be gone once both are done: each run removes only entries
no other live run holds (leases), and staging folders are per process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from roadseg.leases import Lease, held_by_others
from roadseg.pipeline.extract import CACHE_FOLDER

FAST = ["--tile", "64", "--overlap", "8", "--no-progress"]


def _features(path: Path) -> list:
    return [f["geometry"] for f in json.loads(path.read_text())["features"]]


def _start(scene: Path, out: Path, model: Path, threshold: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "roadseg.cli", "extract", str(scene), "-o", str(out)]
    argv += ["--weights", str(model), "--threshold", threshold, *FAST]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_on_one_scene_into_one_folder(tmp_path, road_scene, brightness_model):
    alone = tmp_path / "alone"
    alone.mkdir()
    solo = {}
    for t in ("0.3", "0.6"):
        p = _start(road_scene, alone / f"roads_{t}.geojson", brightness_model, t)
        assert p.wait(timeout=300) == 0, p.communicate()[1]
        solo[t] = _features(alone / f"roads_{t}.geojson")
    # (the brightness model separates roads sharply: both thresholds may give one network,
    # but they are different vectorisation entries in the cache)

    shared = tmp_path / "shared"
    shared.mkdir()
    for attempt in range(2):
        procs = {
            t: _start(road_scene, shared / f"roads_{t}_{attempt}.geojson", brightness_model, t)
            for t in ("0.3", "0.6")
        }
        for t, p in procs.items():
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, f"run with threshold {t} failed:\n{err}"
        for t in procs:
            assert _features(shared / f"roads_{t}_{attempt}.geojson") == solo[t]
        assert not (shared / CACHE_FOLDER).exists()  # the last run out removed the cache
        assert not list(shared.glob(".*partial*"))


def test_clear_keeps_what_another_live_run_holds(tmp_path):
    from roadseg.pipeline.cache import StageCache

    mine, other = StageCache(tmp_path, "s"), StageCache(tmp_path, "s")
    shared = mine.path("probability", "k1", ".tif")
    assert other.path("probability", "k1", ".tif") == shared
    only_mine = mine.path("network", "k2", ".json")
    for p in (shared, only_mine):
        p.write_text("x")
    mine.seal(shared)
    # `other` belongs to this (live) process, but is not `mine`: it counts as another run
    assert shared.name in held_by_others(tmp_path, mine.lease)
    mine.clear()
    assert shared.exists() and not only_mine.exists()
    other.clear()
    assert not shared.exists() and not tmp_path.joinpath("s.probability-k1.tif.sha256").exists()


def test_two_runs_clearing_at_the_same_moment_leave_no_entry(tmp_path, monkeypatch):
    """Run B clears while run A is between looking at the leases and removing: the entry
    they share must not survive both (each keeping it for the other)."""
    import roadseg.pipeline.cache as cache_mod
    from roadseg.pipeline.cache import StageCache

    a, b = StageCache(tmp_path, "s"), StageCache(tmp_path, "s")
    shared = a.path("probability", "k1", ".tif")
    b.path("probability", "k1", ".tif")
    shared.write_text("x")
    real = cache_mod.held_by_others
    calls = []

    def a_looks_then_b_clears(root, own=None):
        held = real(root, own)
        if not calls:
            calls.append(own)
            b.clear()  # B's whole clear happens right after A looked
        return held

    monkeypatch.setattr(cache_mod, "held_by_others", a_looks_then_b_clears)
    a.clear()
    assert not shared.exists()
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_leases_of_ended_processes_are_ignored(tmp_path):
    from roadseg.atomic import _host_tag

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    lease = Lease(tmp_path)
    lease.token = f"{_host_tag()}-{proc.pid}-abcdef"  # as if written by that ended process
    lease.hold("s.probability-k1.tif")
    assert held_by_others(tmp_path) == set()
    assert not lease.file.exists()  # the stale lease was removed
