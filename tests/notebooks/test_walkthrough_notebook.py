"""The walk-through notebook runs end to end on the bundled sample with the shipped model,
through the very command the README gives (``jupyter nbconvert --to notebook --execute``),
so a ``pip install -e ".[dev]"`` is checked to bring everything that command needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "walkthrough.ipynb"


def _jupyter() -> str:
    """The ``jupyter`` launcher installed beside this interpreter (the dev extra's nbconvert)."""
    beside = Path(sys.executable).parent / "jupyter"
    found = str(beside) if beside.exists() else shutil.which("jupyter")
    assert found, "jupyter not installed: pip install -e '.[dev]' brings nbconvert"
    return found


def test_walkthrough_notebook_executes_with_nbconvert(tmp_path: Path) -> None:
    # a copy, so the kernel's working folder (the notebook's) is the test's, not the repository
    notebook = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook)
    env = {k: v for k, v in os.environ.items() if k != "ROADSEG_WEIGHTS"}  # the shipped model
    env["PYTHONPATH"] = os.pathsep.join([str(NOTEBOOK.parents[1]), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [_jupyter(), "nbconvert", "--to", "notebook", "--execute", str(notebook),
         "--output", "executed", "--ExecutePreprocessor.timeout=300"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    text = "".join(out.get("text", "") for out in outputs)
    images = sum("image/png" in out.get("data", {}) for out in outputs)
    assert "km of road" in text and "no roads found" not in text
    assert '"breakeven"' in text  # the evaluation report was printed
    assert images >= 5  # scene, probability, mask/skeleton, network, overlay
    assert (tmp_path / "walkthrough-output" / "roads.geojson").exists()
