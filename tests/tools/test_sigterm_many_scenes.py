"""SIGTERM in the middle of a many-scene ``extract`` (issue 22 item 6).

The run's Dask workers are made slow writers (a ``sitecustomize`` on their ``PYTHONPATH``
delays every strip of a probability raster), so that SIGTERM lands while both are writing
and the cluster has to kill them. Before: the killed workers' partial rasters stayed in
the cache folder, and stderr held Dask's shutdown notices (``Worker process still alive
after 4.0 seconds, killing``, twice each, cancelled tasks of the workers) and
``resource_tracker`` leaked-semaphore warnings. Now: exit 143, one line, no output, no
lease, no partial file, no cache folder (nothing was finished, so nothing is kept).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from roadseg.sample.synthetic import write_road_scene

ROOT = Path(__file__).resolve().parents[2]
ROADS = [((60, 0), (60, 383)), ((0, 200), (383, 200))]

SLOW_WRITES = """
import roadseg.raster.write as w, time
_write_rows = w.StripWriter.write_rows
def write_rows(self, *a, **k):
    time.sleep(1.0)
    return _write_rows(self, *a, **k)
w.StripWriter.write_rows = write_rows
"""


def _writing(cache: Path) -> int:
    """How many partial files the workers are writing in the cache folder."""
    try:
        return sum(".partial" in p.name for p in cache.iterdir())
    except OSError:
        return 0


def test_sigterm_many_scene_extract_leaves_nothing(tmp_path, model):
    scenes = [
        write_road_scene(tmp_path / f"s{i}.tif", ROADS, height=384, width=384) for i in (1, 2)
    ]
    before = {s: s.read_bytes() for s in scenes}
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SLOW_WRITES)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "roads.geojson"
    argv = ["extract", *map(str, scenes), "-o", str(out), "--weights", str(model),
            "--tile", "64", "--overlap", "8", "--workers", "2", "--no-progress"]  # fmt: skip
    code = "import sys; from roadseg.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(slow), str(ROOT)])}
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _writing(out_dir / ".roadseg-cache") < 2:  # both workers in the middle
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started its work"
            time.sleep(0.05)
        assert list((out_dir / ".roadseg-cache" / ".leases").iterdir())  # held now
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    lines = [line for line in err.splitlines() if not line.startswith("INFO ")]
    assert lines == ["ERROR roadseg: terminated; no partial output was kept"], err
    assert not out.exists()
    left = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*"))
    assert left == [], left
    assert {s: s.read_bytes() for s in scenes} == before
