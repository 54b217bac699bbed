"""Rebuild the bundled sample scene from a Massachusetts Roads tile (maintainers only).

Run once by hand::

    python -m roadseg.sample.build_sample /path/to/massachusetts_roads/train_subset

It crops :data:`WINDOW` out of tile :data:`TILE` (held out from training, see
``data_manifests/massachusetts_holdout.csv``) and writes ``scene.tif`` (RGB) and
``labels.tif`` (uint8 {0, 255} road mask) beside this file, as deflate-compressed,
tiled GeoTIFFs in EPSG:26986 at 1 m/px.

The georeferencing is *derived* from the tile name, not read from the original
files: tile ``EEEENNNN_15`` has its upper-left corner at
``(EEEE*100 - 713.563826, NNNN*100 + 771.024778)`` (see SOURCES.md). The crop
shifts that corner by ``(col_off, -row_off)`` metres.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from rasterio.transform import from_origin

from roadseg.raster.io import open_raster
from roadseg.raster.tags import GEOREFERENCING_TAG

TILE = "10528795_15"
#: (col_off, row_off, width, height) in pixels of the 1500×1500 tile.
WINDOW = (500, 500, 1000, 1000)
CRS = "EPSG:26986"
TAGS = {
    GEOREFERENCING_TAG: "derived-from-tile-name",
    "SOURCE": f"Massachusetts Roads (Mnih 2013) tile {TILE}, window col_off={WINDOW[0]} "
    f"row_off={WINDOW[1]} width={WINDOW[2]} height={WINDOW[3]}",
}


def tile_origin(tile: str) -> tuple[float, float]:
    """Upper-left corner (x, y) in EPSG:26986 of a Massachusetts tile ``EEEENNNN_15``."""
    stem = tile.split("_")[0]
    east, north = int(stem[:4]), int(stem[4:8])
    return east * 100 - 713.563826, north * 100 + 771.024778


def build(subset: Path, out_dir: Path) -> None:
    col, row, width, height = WINDOW
    x0, y0 = tile_origin(TILE)
    transform = from_origin(x0 + col, y0 - row, 1.0, 1.0)
    profile = dict(
        driver="GTiff",
        width=width,
        height=height,
        crs=CRS,
        transform=transform,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        predictor=2,
        zlevel=9,
        interleave="pixel",
    )
    with open_raster(subset / "images" / f"{TILE}.png") as src:
        image = src.read(window=((row, row + height), (col, col + width)))
    with open_raster(subset / "masks" / f"{TILE}.png") as src:
        mask = src.read(1, window=((row, row + height), (col, col + width)))
    mask = np.where(mask > 127, 255, 0).astype(np.uint8)
    with open_raster(
        out_dir / "scene.tif", "w", count=3, dtype="uint8", photometric="RGB", **profile
    ) as dst:
        dst.write(image)
        dst.update_tags(**TAGS)
        for band, name in enumerate(("red", "green", "blue"), start=1):
            dst.set_band_description(band, name)
    with open_raster(out_dir / "labels.tif", "w", count=1, dtype="uint8", **profile) as dst:
        dst.write(mask, 1)
        dst.update_tags(**TAGS, LABELS="roads=255 background=0 (rasterised OSM centrelines)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("subset", type=Path, help="massachusetts_roads/train_subset folder")
    args = parser.parse_args(argv)
    build(args.subset, Path(__file__).resolve().parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
