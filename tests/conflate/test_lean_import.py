"""``roadseg conflate`` needs neither torch nor dask: its library and tool import them nowhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HELSINKI = Path(__file__).resolve().parents[1] / "data" / "osm" / "helsinki_car_roads.geojson"

CHILD = """
import argparse, sys
from pathlib import Path
from roadseg.tools import conflate as tool
p = argparse.ArgumentParser()
tool.add_arguments(p)
args = p.parse_args(sys.argv[1:])
assert tool.main(args) == 0
heavy = sorted(m for m in ("torch", "dask", "distributed") if m in sys.modules)
print("HEAVY", heavy)
"""


def test_conflate_imports_neither_torch_nor_dask(tmp_path):
    argv = [str(HELSINKI), "--osm", str(HELSINKI), "-o", str(tmp_path / "m.geojson")]
    res = subprocess.run(
        [sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stdout, res.stdout
