#!/usr/bin/env python
"""Before/after of ``predict_pipeline.py``'s stages (a) and (b), interleaved in one run.

The CPUs here are shared, so a "before" and an "after" measured minutes apart
are not comparable. This runs, round after round, alternating the order, one
subprocess per checkout (``--before``: a checkout of the baseline commit, e.g.
``git archive <commit> | tar -x -C /tmp/before``; ``--after``: this one), each
timing (a) the I/O floor, (b) ``predict_scene`` with a no-op forward at the
scene's GSD and resampled to ``--model-gsd``, twice. The best time of each
stage per checkout is kept; ratios to (a) use the best (a) of both checkouts
(the same code in both).

    python benchmarks/predict_pipeline.py --size 3000 --make-scene /tmp/scene3000.tif
    python benchmarks/predict_pipeline_ab.py --scene /tmp/scene3000.tif \\
        --before /tmp/before --rounds 6 --json benchmarks/results/predict_pipeline_ab.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time, tempfile
from pathlib import Path
sys.path.insert(0, "benchmarks")
from predict_pipeline import NoOp, io_floor
from roadseg.inference.predictor import PredictConfig, predict_scene
from roadseg.models import CheckpointMeta

scene, model_gsd = Path(sys.argv[1]), float(sys.argv[2])
cfg = PredictConfig(device="cpu", progress=False)
out = {}
with tempfile.TemporaryDirectory() as tmp:
    for stage in ("a", "b_scene_gsd", "b_resampled") * 2:
        t0 = time.perf_counter()
        if stage == "a":
            io_floor(scene, Path(tmp) / "a.tif")
        else:
            gsd = 1.0 if stage == "b_scene_gsd" else model_gsd
            meta = CheckpointMeta("resunet", {}, gsd_m=gsd, tile=224)
            predict_scene(scene, Path(tmp) / "b.tif", cfg, model=(NoOp(), meta))
        out.setdefault(stage, []).append(time.perf_counter() - t0)
print(json.dumps(out))
"""


def run_once(tree: Path, scene: Path, model_gsd: float) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(scene), str(model_gsd)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scene", type=Path, required=True, help="a 1 m scene (see above)")
    ap.add_argument("--before", type=Path, required=True, help="checkout of the baseline")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--model-gsd", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    times: dict[str, dict[str, list[float]]] = {k: {} for k in trees}
    for r in range(args.rounds):
        for name in ("before", "after") if r % 2 == 0 else ("after", "before"):
            for stage, ts in run_once(trees[name], args.scene, args.model_gsd).items():
                times[name].setdefault(stage, []).extend(ts)
    a = min(min(times[k]["a"]) for k in trees)
    figures: dict = {"scene": str(args.scene), "rounds": args.rounds, "best_a_s": round(a, 3)}
    for name in trees:
        best = {k: min(v) for k, v in times[name].items()}
        figures[name] = {
            "best_s": {k: round(v, 3) for k, v in best.items()},
            "b_scene_gsd_over_a (rate, target >= 0.8)": round(a / best["b_scene_gsd"], 3),
            "b_resampled_over_a (rate, target >= 0.5)": round(a / best["b_resampled"], 3),
            "times_s": {k: [round(t, 3) for t in v] for k, v in times[name].items()},
        }
    for stage in ("b_scene_gsd", "b_resampled"):
        after, before = min(times["after"][stage]), min(times["before"][stage])
        figures[f"{stage}_after_over_before (time)"] = round(after / before, 3)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
