#!/usr/bin/env python
"""Pack training tiles (and the checkpoint to continue from) small enough to travel with a device call.

A device call carries a 64 MiB tree and nothing of ``../shared``. For each tile of
a tiles CSV (columns image, mask, split; see roadseg.training.pairs) this writes,
at ``--factor`` times the source pixel size (area means, as the trainer resamples):

* ``OUT/images/NAME.jpg``  -- the image, JPEG (``--quality``);
* ``OUT/white/NAME.png``   -- 1-bit: pixels that are no-imagery (white) at the packed size,
  so that unpacking restores exact white, which JPEG does not keep;
* ``OUT/masks/NAME.png``   -- road where at least half of the source block is road;
* ``OUT/tiles.csv``        -- packed names and their split (train | valid);
* ``OUT/init.safetensors`` -- with ``--init``: the checkpoint to continue from;
* ``OUT/PACK.json``        -- source, factor, GSD, sizes.

The 114 local Massachusetts tiles at factor 2 (2 m) take about 27 MB.

    python benchmarks/gpu/pack.py --tiles-csv data_manifests/massachusetts_v2_tiles.csv \\
        --tiles-root ../shared/data/massachusetts_roads --init runs/v2/last.safetensors
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import rasterio

from roadseg.training import TrainConfig
from roadseg.training.pairs import exclude_names, find_pairs
from roadseg.training.tiles import load_tile

LIMIT_MIB = 64.0


def _write(path: Path, data: np.ndarray, driver: str, **options: object) -> None:
    with rasterio.open(path, "w", driver=driver, width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype="uint8", **options) as dst:
        dst.write(data)


def pack(config: TrainConfig, out: Path, factor: float, quality: int, init: Path | None) -> dict:
    for d in ("images", "white", "masks"):
        (out / d).mkdir(parents=True, exist_ok=True)
    skip = exclude_names(config)
    rows = []
    for p in find_pairs(config):
        if p.tile in skip:
            continue
        t = load_tile(p.image, p.label, config.source_gsd_m * factor, config.source_gsd_m)
        _write(out / "images" / f"{p.tile}.jpg", t.image, "JPEG", QUALITY=quality)
        _write(out / "white" / f"{p.tile}.png", (~t.valid).astype(np.uint8)[None], "PNG", NBITS=1)
        _write(out / "masks" / f"{p.tile}.png", ((t.label >= 0.5) * 255).astype(np.uint8)[None], "PNG")
        rows.append((p.tile, p.split))
    (out / "tiles.csv").write_text("tile,split\n" + "".join(f"{t},{s}\n" for t, s in rows))
    if init is not None:
        shutil.copyfile(init, out / "init.safetensors")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    info = {
        "tiles": len(rows),
        "valid_tiles": sum(s == "valid" for _, s in rows),
        "factor": factor,
        "gsd_m": config.source_gsd_m * factor,
        "jpeg_quality": quality,
        "init": str(init) if init else None,
        "size_mib": round(size, 2),
        "source": config.tiles_csv or config.images_dir,
    }
    (out / "PACK.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles-csv", required=True)
    ap.add_argument("--tiles-root")
    ap.add_argument("--exclude-csv", default="data_manifests/massachusetts_holdout.csv")
    ap.add_argument("--source-gsd", type=float, default=1.0, help="pixel size of the source tiles (m)")
    ap.add_argument("--factor", type=float, default=2.0, help="packed pixel size / source pixel size")
    ap.add_argument("--quality", type=int, default=92, help="JPEG quality of the packed images")
    ap.add_argument("--init", type=Path, help="checkpoint to continue from on the device")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "payload")
    args = ap.parse_args(argv)
    import warnings

    warnings.filterwarnings("ignore", category=rasterio.errors.NotGeoreferencedWarning)
    config = TrainConfig(tiles_csv=args.tiles_csv, tiles_root=args.tiles_root,
                         exclude_csv=args.exclude_csv if Path(args.exclude_csv).is_file() else None,
                         source_gsd_m=args.source_gsd)
    info = pack(config, args.out, args.factor, args.quality, args.init)
    print(json.dumps(info))
    if info["size_mib"] > LIMIT_MIB - 4:
        print(f"warning: {info['size_mib']} MiB leaves little of the {LIMIT_MIB} MiB tree for the code",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
