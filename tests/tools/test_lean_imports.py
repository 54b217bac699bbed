"""Commands that need no model import neither torch nor Dask (deliverable of issue 17).

Each command runs in a fresh interpreter, as a user runs it, and reports which of the
heavy modules ended up in ``sys.modules``: ``roadseg --help`` (and every subcommand's
``--help``), ``vectorize`` and ``evaluate`` must stay free of them, so that they start
in a fraction of a second and a Dask worker or a laptop without torch can run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from roadseg.cli import TOOLS
from roadseg.sample import sample_labels_path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "dask", "distributed")

_RUN = """
import json, sys
from roadseg.cli import main
try:
    rc = main(sys.argv[2:])
except SystemExit as exc:  # --help
    rc = exc.code
heavy = sorted(m for m in sys.argv[1].split(",") if m in sys.modules)
print(json.dumps({"rc": rc, "heavy": heavy}))
"""


def _run(argv: list[str]) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", _RUN, ",".join(HEAVY), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_of_roadseg_and_of_every_subcommand_imports_no_heavy_module():
    for argv in (["--help"], *([name, "--help"] for name in TOOLS)):
        res = _run(argv)
        assert res == {"rc": 0, "heavy": []}, argv


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("lean") / "net.geojson"
    return out, _run(["-q", "vectorize", str(sample_labels_path()), "-o", str(out)])


def test_vectorize_imports_no_heavy_module(network):
    out, res = network
    assert res == {"rc": 0, "heavy": []}
    assert json.loads(out.read_text())["features"], "the run did vectorise the sample"


def test_evaluate_imports_no_heavy_module(network, tmp_path):
    out, _ = network
    report = tmp_path / "report.json"
    labels = str(sample_labels_path())
    res = _run(["-q", "evaluate", "--pred", str(out), "--labels", labels, "--json", str(report)])
    assert res == {"rc": 0, "heavy": []}
    assert report.is_file()
