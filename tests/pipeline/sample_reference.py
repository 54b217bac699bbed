"""The bundled sample's road network and evaluation report in a small comparable form.

``python -m tests.pipeline.sample_reference`` (run from the repository root)
rewrites ``tests/data/sample_reference/sample_reference.json`` from the current
code; ``test_sample_reference.py`` compares a fresh run with it. Coordinates
are rounded to 1e-7 degrees (about 1 cm), lengths and metrics to 1e-6: the
reference pins the result, not the floating-point noise of one machine.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REFERENCE = (
    Path(__file__).resolve().parents[1] / "data" / "sample_reference" / "sample_reference.json"
)


def _round(value: Any, digits: int) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def _features(path: Path) -> list[dict[str, Any]]:
    fc = json.loads(path.read_text())
    return [
        {"coordinates": _round(f["geometry"]["coordinates"], 7), **_round(f["properties"], 6)}
        for f in fc["features"]
    ]


def sample_result(workdir: Path) -> dict[str, Any]:
    """Run ``extract`` (defaults, the shipped lite model, ``--evaluate`` the sample's labels)."""
    from roadseg.pipeline.config import load_extract_config
    from roadseg.pipeline.extract import extract_scene
    from roadseg.sample import sample_labels_path, sample_scene_path

    out = workdir / "roads.geojson"
    config = load_extract_config(
        overrides={
            "output.evaluate": str(sample_labels_path()),
            "progress": False,
            # the model the reference was made with: a regression test of the code
            "predict.weights": "resunet_lite_massachusetts",
        }
    )
    extract_scene(sample_scene_path(), out, config)
    report = json.loads((workdir / "roads.evaluation.json").read_text())
    header = json.loads(out.read_text())["roadseg"]
    return {
        "threshold": header["threshold"],
        "threshold_from": header["threshold_from"],
        "edges": _features(out),
        "nodes": _features(workdir / "roads.nodes.geojson"),
        "pixel": _round(report["pixel"], 6),
        "parameters": _round(report["inputs"]["parameters"], 6),
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        result = sample_result(Path(tmp))
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print(f"wrote {REFERENCE} ({len(result['edges'])} edges)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
