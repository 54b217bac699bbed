"""The README's quickstart runs as written: its one command, from a checkout's root, writes the
files the README says it writes (the road network, its nodes, the evaluation report, the picture).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_command() -> str:
    """The first ``bash`` block under the README's ``## Quickstart`` heading."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```bash\n(.*?)\n```", section, re.S)
    assert found, "README's Quickstart has no bash block"
    return found.group(1).strip()


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    command = quickstart_command()
    assert "out/" in command  # writes into a folder of its own, not the checkout's root
    # a checkout's root as seen by the command: the package folders linked, outputs land here
    for name in ("roadseg", "pipelines", "configs"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("ROADSEG_WEIGHTS", None)
    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "out"
    for name in ("roads.geojson", "roads.nodes.geojson", "roads.evaluation.json", "roads.png"):
        assert (out / name).stat().st_size > 0, name
    roads = json.loads((out / "roads.geojson").read_text())
    assert len(roads["features"]) > 50  # the sample holds about 90 road edges
    report = json.loads((out / "roads.evaluation.json").read_text())
    assert report["pixel"]["breakeven"] > 0.9
