"""Rasters written as cloud-optimised GeoTIFFs (COG), and a check of their layout.

The probability raster and the kept mask and skeleton are COGs, so they stream
back into a viewer or out of a bucket by range requests, exactly as roadseg reads
its inputs (:mod:`roadseg.uri`). They are written in two steps, because GDAL's COG
driver only copies a finished dataset: the writers stream blocks into an
ordinary tiled GeoTIFF beside the output (``.<name>.<owner>.partial.strips.tif``,
removed afterwards, or by the next run if this one is killed), which is then
copied through the COG driver into the output's temporary name
(:func:`cog_file`); :func:`roadseg.atomic.atomic_path` renames it into place.

Layout (GDAL's COG driver): 256 × 256 tiles, DEFLATE with the horizontal
predictor, overviews by averaging down to one tile (a probability averaged is
still a probability; masks and skeletons too, read as coverage), BigTIFF when
needed, an internal mask where the raster has one, the metadata tags kept.
:func:`cog_problems` checks a file against what makes it cloud-optimised (the
rules of GDAL's ``validate_cloud_optimized_geotiff.py``).

Example:
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from affine import Affine
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with cog_file(d / "p.tif") as strips:
    ...     with rasterio.open(strips, "w", driver="GTiff", width=600, height=600, count=1,
    ...                        dtype="uint8", crs="EPSG:32619", tiled=True,
    ...                        transform=Affine(1, 0, 3e5, 0, -1, 4.6e6)) as ds:
    ...         ds.write(np.zeros((1, 600, 600), np.uint8))
    >>> cog_problems(d / "p.tif"), sorted(f.name for f in d.iterdir())
    ([], ['p.tif'])
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from roadseg.atomic import no_space_left, partial_name
from roadseg.errors import OutputError

#: Options of GDAL's COG driver for every raster roadseg writes.
COG_OPTIONS = {
    "BLOCKSIZE": "256",
    "COMPRESS": "DEFLATE",
    "PREDICTOR": "YES",
    "OVERVIEWS": "AUTO",
    "OVERVIEW_RESAMPLING": "AVERAGE",
    "BIGTIFF": "IF_SAFER",
    "NUM_THREADS": "ALL_CPUS",
}


def write_cog(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], name: object = None
) -> None:
    """Copy the raster ``src`` into ``dst`` through GDAL's COG driver (see module docstring).

    ``name``: the output as messages call it (``dst`` is often a temporary name).

    Raises:
        OutputError: ``src`` cannot be read back whole (a write that failed, such as a
            full disk) or ``dst`` cannot be written.
    """
    import rasterio
    import rasterio.shutil
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError

    from roadseg.raster.gdal_messages import route_libtiff_messages

    route_libtiff_messages()  # a full disk: one error from us, no raw libtiff lines
    try:
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
            rasterio.shutil.copy(os.fspath(src), os.fspath(dst), driver="COG", **COG_OPTIONS)
    except (RasterioError, CPLE_BaseError, OSError) as exc:
        # as raster.write.verify_written says it: the strips were cut short (a full disk,
        # a file-size limit) or the copy could not be written
        reason = str(exc).replace(os.fspath(src), "").replace(os.fspath(dst), "").strip(" :'.")
        why = no_space_left(Path(dst).parent, exc) or f"is the disk full?: {reason}"
        raise OutputError(
            f"{name or dst}: the raster was not written completely ({why}); "
            "nothing was left behind"
        ) from exc


@contextlib.contextmanager
def cog_file(target: str | os.PathLike[str], name: object = None) -> Iterator[Path]:
    """Yield a path for a tiled GeoTIFF; on success it is copied into ``target`` as a COG.

    ``target`` is usually the temporary path of :func:`roadseg.atomic.atomic_path`
    (``name``: the final output, for messages); the intermediate GeoTIFF is removed in
    every case.
    """
    target = Path(target)
    strips = partial_name(target.with_name(f"{target.stem}.strips.tif"))
    try:
        yield strips
        write_cog(strips, target, name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            strips.unlink()


def _offset(ds: Any, item: str, ovr: int | None = None) -> int:
    value = ds.get_tag_item(item, "TIFF", bidx=1, ovr=ovr)
    return int(value) if value else 0


def cog_problems(path: str | os.PathLike[str]) -> list[str]:
    """What keeps ``path`` from being a cloud-optimised GeoTIFF (empty: it is one).

    The checks of GDAL's validator: tiled; overviews when larger than a tile; the
    main image's IFD first and the overviews' IFDs after it, largest first; the pixel
    data of the overviews before the main image's (smallest first), so a reader of
    an overview never skips over full-resolution data.
    """
    import rasterio

    with rasterio.open(path) as ds:
        problems = []
        if ds.driver != "GTiff":
            return [f"not a GeoTIFF ({ds.driver})"]
        block_h, block_w = ds.block_shapes[0]
        if block_w == ds.width and ds.width > 512:
            problems.append("not tiled")
        overviews = ds.overviews(1)
        if max(ds.width, ds.height) > 512 and not overviews:
            problems.append("no overviews")
        ifds = [_offset(ds, "IFD_OFFSET")] + [
            _offset(ds, "IFD_OFFSET", i) for i in range(len(overviews))
        ]
        if ifds != sorted(ifds):
            problems.append(f"IFDs not in order main, then overviews largest first ({ifds})")
        data = [_offset(ds, "BLOCK_OFFSET_0_0")] + [
            _offset(ds, "BLOCK_OFFSET_0_0", i) for i in range(len(overviews))
        ]
        if data != sorted(data, reverse=True):
            problems.append(f"overview data not before the main image's, smallest first ({data})")
        if ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") != "COG":
            problems.append("no COG layout marker (not written by the COG driver)")
        return problems
