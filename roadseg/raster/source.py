"""Reading a probability or mask raster by window, as probabilities.

Accepted rasters (band 1 is used):

* uint8 probability, ``p = v / 255`` (the inference stage's output), nodata allowed;
* a binary mask stored as ``{0, 255}`` (read as a probability: 0 or 1) or ``{0, 1}``
  (any integer type; detected by a scan of the whole raster);
* other integer rasters whose values lie in ``0..255`` (read as uint8 probabilities);
* float rasters holding probabilities in ``[0, 1]`` (NaN and nodata are background).

Internally a window is either a uint8 *code* (``p = code / 255``) or a float32
probability; nodata pixels read as 0 (background).

The *virtual raster* is the raster padded by ``pad`` pixels on every side by
edge replication (``border="extend"``): windows are addressed in its
coordinates so that the block-wise and whole-image computations see exactly
the same pixels.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.errors import InputError, why_missing
from roadseg.raster.georef import local_transform, pixel_size_m

log = logging.getLogger(__name__)


@dataclass
class RasterInfo:
    """Grid, georeferencing and value interpretation of the input raster."""

    path: Path
    height: int
    width: int
    transform: Any  # affine.Affine
    crs: Any  # rasterio CRS or None
    nodata: float | None
    dtype: str
    kind: str  # "code" (uint8 codes, p = v/255), "binary01" ({0,1} -> code*255), "float"
    gsd_x: float  # metres per pixel along columns
    gsd_y: float  # metres per pixel along rows
    pixel_coords: bool  # no CRS: coordinates are the raster's own (pixel) units
    histogram: np.ndarray  # 256 counts of codes (float: 256 bins over [0, 1]) of valid pixels
    band: int = 1  # the band read (1-based)

    @property
    def gsd(self) -> float:
        """Mean GSD in metres (geometric mean of the two axes)."""
        return math.sqrt(self.gsd_x * self.gsd_y)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width


def _gsd_metres(transform: Any, crs: Any, height: int, width: int) -> tuple[float, float]:
    """Pixel size in metres along x (columns) and y (rows); transform units without a CRS."""
    size = pixel_size_m(crs, transform, width, height)
    return size or (math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e))


def read_window(ds: Any, band: int, window: Any, path: Path) -> np.ndarray:
    """One window of ``band``; a block GDAL cannot decode (a truncated or damaged file)
    is one line naming the file and the rows, not the driver's traceback."""
    from rasterio.errors import RasterioIOError

    try:
        return np.asarray(ds.read(band, window=window))
    except RasterioIOError as exc:
        rows = f"rows {int(window.row_off)}-{int(window.row_off + window.height) - 1}"
        cause = exc.__cause__ or exc.__context__  # GDAL's own words, when it gave them
        raise InputError(
            f"{path}: cannot read {rows} (truncated or damaged file?): {cause or exc}"
        ) from None


def open_source(
    path: str | Path,
    block_size: int = 2048,
    scan: bool = True,
    band: int | None = None,
    gsd_m: float | None = None,
) -> RasterInfo:
    """Open ``path``, validate it and (``scan``) read its values once: range checks,
    ``{0, 1}``-mask detection and the histogram needed by Otsu.

    Without ``scan`` the same checks happen while :class:`WindowReader` reads, and
    ``{0, 1}`` detection is left to the caller (``reader.max_seen``).

    ``band`` picks the band of a multi-band raster (default 1, with a warning when
    there are several); ``gsd_m`` gives the pixel size of a raster without CRS
    (its grid becomes x = column * gsd_m, y = row * gsd_m).

    Raises :class:`InputError` naming the file when it is not a readable
    single-band-usable raster or its values are not probabilities.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {why_missing(path) if path.is_symlink() else 'no such file'}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise InputError(f"{path}: not a readable raster ({exc})") from None
    with ds:
        if ds.count < 1:
            raise InputError(f"{path}: raster has no bands")
        if band is not None and not 1 <= band <= ds.count:
            raise InputError(f"{path}: band {band} does not exist (bands are 1..{ds.count})")
        if band is None and ds.count > 1:
            log.warning("%s: %d bands; using band 1 as the probability/mask", path, ds.count)
        band = band or 1
        dtype = np.dtype(ds.dtypes[band - 1])
        if dtype.kind not in "uif":
            raise InputError(f"{path}: band {band} has type {dtype}, expected integers or floats")
        crs = ds.crs
        transform = ds.transform
        pixel_coords = crs is None
        if pixel_coords and gsd_m is not None:
            # its own geotransform when it has one, else a local metric grid (roadseg.prechecks)
            transform = local_transform(transform, gsd_m)
        elif pixel_coords:
            log.warning(
                "%s: raster has no CRS; the network is in the raster's own (pixel) coordinates "
                "and lengths assume 1 unit = 1 m",
                path,
            )
        gx, gy = _gsd_metres(transform, crs, ds.height, ds.width)
        if pixel_coords and gsd_m is not None:
            gx = gy = gsd_m  # lengths in metres whatever units the geotransform has
        if not (gx > 0 and gy > 0 and math.isfinite(gx) and math.isfinite(gy)):
            raise InputError(f"{path}: degenerate geotransform {tuple(transform)[:6]}")
        info = RasterInfo(
            path=path,
            height=ds.height,
            width=ds.width,
            transform=transform,
            crs=crs,
            nodata=ds.nodata,
            dtype=str(dtype),
            kind="float" if dtype.kind == "f" else "code",
            gsd_x=gx,
            gsd_y=gy,
            pixel_coords=pixel_coords,
            histogram=np.zeros(256, np.int64),
            band=band,
        )
        if scan:
            _scan(ds, info, block_size)
    return info


def _scan(ds: Any, info: RasterInfo, block_size: int) -> None:
    """One pass over the raster: value range checks, {0,1} detection, histogram."""
    hist = np.zeros(256, np.int64)
    vmin, vmax = math.inf, -math.inf
    for r0 in range(0, info.height, block_size):
        for c0 in range(0, info.width, block_size):
            from rasterio.windows import Window

            win = Window(
                c0, r0, min(block_size, info.width - c0), min(block_size, info.height - r0)
            )
            a = read_window(ds, info.band, win, info.path)
            valid = _valid(a, info.nodata)
            v = a[valid] if not valid.all() else a.ravel()
            if v.size == 0:
                continue
            vmin = min(vmin, float(v.min()))
            vmax = max(vmax, float(v.max()))
            if info.kind == "float":
                if vmin < -1e-6 or vmax > 1 + 1e-6:
                    raise InputError(
                        f"{info.path}: float values in [{vmin:g}, {vmax:g}] are not probabilities in [0, 1]"
                    )
                idx = np.clip((v.astype(np.float64) * 255.0 + 0.5).astype(np.int64), 0, 255)
                hist += np.bincount(idx, minlength=256)
            else:
                if vmin < 0 or vmax > 255:
                    raise InputError(
                        f"{info.path}: integer values in [{vmin:g}, {vmax:g}] are neither a mask nor "
                        "uint8 probabilities (0..255)"
                    )
                hist += np.bincount(v.astype(np.uint8).ravel(), minlength=256)
    if info.kind == "code" and vmax <= 1:
        info.kind = "binary01"
        hist = _binary_hist(hist)
    info.histogram = hist


def _binary_hist(hist: np.ndarray) -> np.ndarray:
    out = np.zeros(256, np.int64)
    out[0], out[255] = hist[0], hist[1]
    return out


def _valid(a: np.ndarray, nodata: float | None) -> np.ndarray:
    valid = np.ones(a.shape, bool)
    if a.dtype.kind == "f":
        valid &= ~np.isnan(a)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        valid &= a != nodata
    return valid


class WindowReader:
    """Reads windows of the virtual (edge-padded) raster as codes or float probabilities."""

    def __init__(self, info: RasterInfo, pad: int, cache_mb: int = 32):
        import rasterio

        self.info = info
        self.pad = pad
        # a small GDAL block cache: each window is read about once, and the default cache
        # (5 % of RAM) would otherwise keep the decompressed raster resident
        self._env = rasterio.Env(GDAL_CACHEMAX=cache_mb)
        self._env.__enter__()
        try:
            self._ds = rasterio.open(info.path)
        except Exception:
            self._env.__exit__(None, None, None)
            raise
        self.max_seen = -math.inf  # largest valid raw value read so far

    def close(self) -> None:
        try:
            self._ds.close()
        finally:
            self._env.__exit__(None, None, None)

    def __enter__(self) -> WindowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def vshape(self) -> tuple[int, int]:
        return self.info.height + 2 * self.pad, self.info.width + 2 * self.pad

    def read(self, vr0: int, vr1: int, vc0: int, vc1: int) -> np.ndarray:
        """Window rows ``vr0:vr1``, cols ``vc0:vc1`` of the virtual raster (must lie inside it)."""
        from rasterio.windows import Window

        p, h, w = self.pad, self.info.height, self.info.width
        r0, r1, c0, c1 = vr0 - p, vr1 - p, vc0 - p, vc1 - p
        rr0, rr1, cc0, cc1 = max(r0, 0), min(r1, h), max(c0, 0), min(c1, w)
        window = Window(cc0, rr0, cc1 - cc0, rr1 - rr0)
        a = read_window(self._ds, self.info.band, window, self.info.path)
        a = self._to_values(a)
        if (rr0, rr1, cc0, cc1) != (r0, r1, c0, c1):
            a = np.pad(a, ((rr0 - r0, r1 - rr1), (cc0 - c0, c1 - cc1)), mode="edge")
        return a

    def _to_values(self, a: np.ndarray) -> np.ndarray:
        valid = _valid(a, self.info.nodata)
        if a.size:
            v = a if valid.all() else a[valid]
            if v.size:
                lo, hi = float(v.min()), float(v.max())
                self.max_seen = max(self.max_seen, hi)
                if self.info.kind == "float" and (lo < -1e-6 or hi > 1 + 1e-6):
                    raise InputError(
                        f"{self.info.path}: float values in [{lo:g}, {hi:g}] are not probabilities in [0, 1]"
                    )
                if self.info.kind != "float" and (lo < 0 or hi > 255):
                    raise InputError(
                        f"{self.info.path}: integer values in [{lo:g}, {hi:g}] are neither a mask nor "
                        "uint8 probabilities (0..255)"
                    )
        if self.info.kind == "float":
            out = np.where(valid, a, 0).astype(np.float32)
            return np.clip(out, 0.0, 1.0, out=out)
        out = (
            np.where(valid, a, 0).astype(np.uint8)
            if not valid.all()
            else a.astype(np.uint8, copy=False)
        )
        if self.info.kind == "binary01":
            out = out * np.uint8(255)
        return out


def values_to_probability(values: np.ndarray) -> np.ndarray:
    """Codes (uint8, p = v/255) or float probabilities → float32 probabilities."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / np.float32(255.0)
    return values.astype(np.float32, copy=False)
