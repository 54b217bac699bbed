"""The walk-through notebook runs end to end on the bundled sample with the shipped model."""

from __future__ import annotations

import time
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_notebook_executes(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("ROADSEG_WEIGHTS", raising=False)  # the shipped model, nothing else
    nb = nbformat.read(NOTEBOOK, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()  # raises CellExecutionError on the first failing cell
    seconds = time.perf_counter() - t0
    text = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    images = sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "km of road" in text and "no roads found" not in text
    assert '"breakeven"' in text  # the evaluation report was printed
    assert images >= 5  # scene, probability, mask/skeleton, network, overlay
    assert seconds < 60, f"the walk-through took {seconds:.0f} s"
