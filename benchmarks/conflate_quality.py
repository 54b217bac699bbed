#!/usr/bin/env python
"""Measured quality of ``roadseg conflate`` on real road data (issue 19, deliverable 6).

1. **Helsinki deletion** -- the car roads of Helsinki (tests/data/osm/helsinki_car_roads.geojson,
   OSM, 965 ways, 32.7 km) are the "detected" network; for each seed a random quarter of the
   ways is deleted from the "OSM" side, and the command line
   ``roadseg conflate detected.geojson --osm osm.geojson -o missing.geojson`` (in-process) must
   give them back: recall and precision of :mod:`roadseg.conflate.quality`, with the detected
   network exact, shifted by 2 m, and shifted with its vertices jittered by 1 m (sigma).
2. **SpaceNet Las Vegas** -- the seven label pairs of tests/data/spacenet (SpaceNet's road
   labels vs OSM's roads over the same chips): what conflate calls missing from OSM, per chip,
   and a picture of the chip with the most (``--picture``).

    python benchmarks/conflate_quality.py --seeds 5 --out benchmarks/results/conflate_quality.json \
        --picture docs/img/conflate_vegas.png
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from roadseg.cli import main as roadseg
from roadseg.conflate.quality import deletion_scores

ROOT = Path(__file__).resolve().parents[1]
HELSINKI = ROOT / "tests" / "data" / "osm" / "helsinki_car_roads.geojson"
VEGAS = ROOT / "tests" / "data" / "spacenet" / "vegas_labels_spacenet_vs_osm"
UTM = "EPSG:32635"


def helsinki(seed: int, how: str, folder: Path) -> dict:
    roads = gpd.read_file(HELSINKI)
    rng = np.random.default_rng(seed)
    deleted = np.zeros(len(roads), bool)
    deleted[rng.choice(len(roads), len(roads) // 4, replace=False)] = True
    osm, det, missing = folder / "osm.geojson", folder / "det.geojson", folder / "missing.geojson"
    roads[~deleted].to_file(osm, driver="GeoJSON")
    metric = roads.to_crs(UTM)
    d = metric[["geometry"]].copy()
    if how != "exact":
        d["geometry"] = d.geometry.translate(2.0, 0.0)
    if how == "jittered":
        geoms = d.geometry.to_numpy()
        xy = shapely.get_coordinates(geoms)
        d["geometry"] = shapely.set_coordinates(geoms.copy(), xy + rng.normal(0, 1.0, xy.shape))
    d.to_crs("EPSG:4326").to_file(det, driver="GeoJSON")
    assert roadseg(["-q", "conflate", str(det), "--osm", str(osm), "-o", str(missing)]) == 0
    got = gpd.read_file(missing).to_crs(UTM)
    return deletion_scores(
        list(got.geometry), list(metric.geometry[deleted]), list(metric.geometry[~deleted])
    )


def vegas(folder: Path, picture: Path | None) -> list[dict]:
    rows = []
    for labels in sorted((VEGAS / "spacenetroads").glob("*.geojson")):
        osm = VEGAS / "osm" / labels.name
        out, summary = folder / f"{labels.stem}.missing.geojson", folder / f"{labels.stem}.json"
        argv = ["-q", "conflate", str(labels), "--osm", str(osm), "-o", str(out)]
        assert roadseg([*argv, "--summary-json", str(summary)]) == 0
        s = json.loads(summary.read_text())
        rows.append(
            {
                "chip": labels.stem,
                **{
                    k: s[k]
                    for k in ("detected_km", "mapped_km", "missing_km", "missing_parts", "osm_km")
                },
            }
        )
    if picture is not None:
        worst = max(rows, key=lambda r: r["missing_km"])["chip"]
        argv = ["-q", "conflate", str(VEGAS / "spacenetroads" / f"{worst}.geojson"), "--osm",
                str(VEGAS / "osm" / f"{worst}.geojson"), "-o", str(folder / "w.geojson"),
                "--quicklook", str(picture)]  # fmt: skip
        assert roadseg(argv) == 0
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--picture", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    report: dict = {"helsinki": [], "vegas": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for how in ("exact", "shifted", "jittered"):
                s = {"seed": seed, "detected": how, **helsinki(seed, how, Path(tmp))}
                report["helsinki"].append(s)
                print(
                    f"Helsinki seed {seed} {how:8s}: recall {s['recall']:.3f} precision "
                    f"{s['precision']:.3f} (deleted far from kept roads {s['deleted_far_m']:.0f} m, "
                    f"returned {s['returned_m']:.0f} m)",
                    flush=True,
                )
        report["vegas"] = vegas(Path(tmp), args.picture)
    for how in ("exact", "shifted", "jittered"):
        rows = [r for r in report["helsinki"] if r["detected"] == how]
        print(
            f"Helsinki {how:8s}: recall min {min(r['recall'] for r in rows):.3f} mean "
            f"{np.mean([r['recall'] for r in rows]):.3f}; precision min "
            f"{min(r['precision'] for r in rows):.3f} mean {np.mean([r['precision'] for r in rows]):.3f}"
        )
    for r in report["vegas"]:
        print(
            f"Vegas {r['chip']}: SpaceNet {r['detected_km']:.2f} km, mapped in OSM "
            f"{r['mapped_km']:.2f} km, missing from OSM {r['missing_km']:.2f} km in "
            f"{r['missing_parts']} parts"
        )
    tot = {k: sum(r[k] for r in report["vegas"]) for k in ("detected_km", "missing_km")}
    print(
        f"Vegas, 7 chips: {tot['missing_km']:.2f} of {tot['detected_km']:.2f} km missing from OSM"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
