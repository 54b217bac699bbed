#!/usr/bin/env python
"""On the device: turn a ``pack.py`` folder into lossless PNG tiles with exact white, and a tiles CSV.

    python benchmarks/gpu/unpack.py PAYLOAD WORK   # writes WORK/images, WORK/masks, WORK/tiles.csv

Train then with ``--tiles-csv WORK/tiles.csv --set gsd_m=G --set source_gsd_m=G`` (G from PACK.json).
"""

from __future__ import annotations

import csv
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import rasterio


def _one(args: tuple[Path, Path, str]) -> str:
    pack, work, name = args
    with rasterio.open(pack / "images" / f"{name}.jpg") as src:
        img = src.read()
    with rasterio.open(pack / "white" / f"{name}.png") as src:
        white = src.read(1) > 0
    img[:, ~white & np.all(img == 255, axis=0)] = 254  # JPEG can round a real pixel to white
    img[:, white] = 255
    for path, data in ((work / "images" / f"{name}.png", img),):
        with rasterio.open(path, "w", driver="PNG", width=data.shape[2], height=data.shape[1],
                           count=data.shape[0], dtype="uint8", ZLEVEL=1) as dst:
            dst.write(data)
    with rasterio.open(pack / "masks" / f"{name}.png") as src:
        mask = src.read()
    with rasterio.open(work / "masks" / f"{name}.png", "w", driver="PNG", width=mask.shape[2],
                       height=mask.shape[1], count=1, dtype="uint8") as dst:
        dst.write(mask)
    return name


def unpack(pack: Path, work: Path) -> int:
    (work / "images").mkdir(parents=True, exist_ok=True)
    (work / "masks").mkdir(parents=True, exist_ok=True)
    with (pack / "tiles.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    with ProcessPoolExecutor(4) as ex:
        list(ex.map(_one, [(pack, work, r["tile"]) for r in rows]))
    with (work / "tiles.csv").open("w") as fh:
        fh.write("image,mask,split\n")
        fh.writelines(f"images/{r['tile']}.png,masks/{r['tile']}.png,{r['split']}\n" for r in rows)
    return len(rows)


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", category=rasterio.errors.NotGeoreferencedWarning)
    print(unpack(Path(sys.argv[1]), Path(sys.argv[2])), "tiles unpacked")
