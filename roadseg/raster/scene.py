"""Open and validate an input scene: bands, valid-pixel mask, GSD and value scaling.

Any raster GDAL can read is accepted (GeoTIFF, PNG, JPEG, VRT, ...), with 1-4
bands of an integer or floating type. :func:`open_scene` checks it once, up
front, and returns a :class:`Scene` whose :meth:`Scene.view` reads windows
already scaled to the models' 0..255 input range, with a boolean valid mask.

Band selection
    ``bands`` is a list of 1-based band indices, in the order the model wants
    them (``[3, 2, 1]`` reorders BGR to RGB). By default every band except
    alpha bands is used (an RGBA GeoTIFF gives R, G, B; its alpha becomes the
    valid mask). When the model's band count is known (``model_bands``) and the
    scene has more bands, of which it names red, green and blue (GDAL's colour
    interpretation, else band descriptions such as ``Red``/``Green``/``Blue``), the
    default is those three in RGB order, with a note: a 4-band NAIP-like RGBN scene
    uses 1,2,3, an 8-band WorldView-3 scene with band names uses 5,3,2. Otherwise a
    mismatch is refused with a hint from :func:`band_hint` (``--bands 1,1,1`` for a
    one-band panchromatic scene; ``--bands 5,3,2`` for an unnamed 8-band scene, the
    WorldView-2/3 band order).

Valid mask
    A pixel is valid when GDAL's mask of *every* selected band says so: the
    mask comes from the nodata value, an alpha band or an internal/external
    mask band (``rasterio``'s ``read_masks``). For floating-point data NaN and
    ±inf are invalid too. Invalid pixels are filled with 0 before the model
    sees them (NaN would spread through the convolutions) and are written as
    nodata in the output.

Value scaling rule (documented choice; the models are trained on 8-bit imagery)
    * ``uint8``: used as is.
    * floating point with every valid value in ``[0, 1]``: multiplied by 255.
    * floating point with every valid value in ``[0, 255]``: used as is.
    * anything else (``uint16`` 11/12/16-bit imagery, ``int16``, other floats):
      a per-band linear stretch that maps the 2nd percentile to 0 and the 98th
      to 255, clipped, ``v' = clip(255 · (v - p2) / (p98 - p2), 0, 255)``.
      The percentiles are measured once per scene on the valid pixels of a
      decimated read (at most 1024 px on the long side; GDAL uses overviews
      when the file has them), so every tile of the scene gets the same
      mapping and no seam can come from it.

Area of interest (``bbox``)
    ``(west, south, east, north)`` in WGS 84 degrees: only the pixels of the scene
    inside it are read and predicted. The scene is opened through GDAL's ``vrt://``
    connection with ``srcwin`` (the smallest whole-pixel window covering the box, in
    the scene's CRS): bands, colour interpretation, nodata and masks are those of
    the scene, the grid is the window's, and GDAL reads only the blocks (or COG
    tiles) the window touches, locally or over HTTP. A scene outside the box is
    refused (:class:`~roadseg.errors.InputError`).

Ground sample distance (GSD)
    In metres per pixel. Projected CRS: the pixel size times the CRS's linear
    unit. Geographic CRS (e.g. EPSG:4326, as the SpaceNet chips): the geodesic
    length of one pixel step east and north at the scene centre (WGS84
    ellipsoid). Without a CRS the GSD is unknown: a warning is logged, the
    scene is processed in pixel coordinates at the model's GSD and the output
    carries the input's pixel grid without a CRS.

Example:
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from rasterio.transform import from_origin
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.tif"
    >>> with rasterio.open(p, "w", driver="GTiff", width=32, height=16, count=3, dtype="uint8",
    ...                    crs="EPSG:32619", transform=from_origin(300000, 4600000, 1.0, 1.0)) as d:
    ...     d.write(np.full((3, 16, 32), 7, np.uint8))
    >>> with open_scene(p) as scene:
    ...     (scene.count, scene.height, scene.width, round(scene.gsd_m, 3))
    (3, 16, 32, 1.0)
"""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from roadseg.errors import InputError, why_missing
from roadseg.raster.georef import local_transform, pixel_size_m
from roadseg.uri import (
    RemotePath,
    configure_remote_access,
    http_status,
    is_remote,
    open_error,
    remote_open_options,
    scene_path,
)

log = logging.getLogger(__name__)

#: Longest side of the decimated read used to estimate stretch percentiles.
STATS_MAX_SIDE = 1024
#: Percentiles of the linear stretch applied to non-8-bit imagery.
STRETCH_PERCENTILES = (2.0, 98.0)
MAX_BANDS = 4


@dataclass(frozen=True)
class BandScaling:
    """Per-band linear map to 0..255: ``v' = clip((v - low) · 255 / (high - low), 0, 255)``.

    ``kind`` is ``"none"`` (uint8, or floats already in 0..255: values used as
    is), ``"unit"`` (floats in 0..1: ``low=0, high=1``) or ``"stretch"``
    (percentile stretch, see the module docstring).
    """

    kind: str
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    def apply(self, data: np.ndarray) -> np.ndarray:
        """Scale a ``(bands, h, w)`` array; uint8 input with kind ``none`` is returned as is."""
        if self.kind == "none":
            return data if data.dtype == np.uint8 else data.astype(np.float32, copy=False)
        shape = (-1,) + (1,) * (data.ndim - 1)
        low = np.asarray(self.low, dtype=np.float32).reshape(shape)
        span = np.asarray(self.high, dtype=np.float32).reshape(shape) - low
        out = (data.astype(np.float32) - low) * (np.float32(255.0) / span)
        return np.clip(out, 0.0, 255.0, out=out)


@dataclass
class RasterView:
    """Reads windows of selected bands, scaled to 0..255, with their valid mask.

    ``dataset`` is a rasterio dataset: the scene file itself or a
    :class:`rasterio.vrt.WarpedVRT` over it (see :mod:`roadseg.raster.resample`).
    """

    dataset: Any
    bands: tuple[int, ...]
    scaling: BandScaling
    masked: bool
    path: str
    is_float: bool = False

    @property
    def height(self) -> int:
        return int(self.dataset.height)

    @property
    def width(self) -> int:
        return int(self.dataset.width)

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray | None]:
        """``(image, valid)`` for ``window``: image ``(bands, h, w)`` uint8 or float32 in
        0..255 (invalid pixels set to 0), valid ``(h, w)`` bool or ``None`` (all valid).

        Raises:
            InputError: the pixels cannot be read (a corrupt or truncated file).
        """
        try:
            data = self.dataset.read(indexes=list(self.bands), window=window)
            valid = None
            if self.masked:
                masks = self.dataset.read_masks(indexes=list(self.bands), window=window)
                valid = np.all(masks > 0, axis=0)
        except RasterioError as exc:
            rows = f"rows {window.row_off}..{window.row_off + window.height - 1}"
            if http_status(str(exc)) is not None:  # a remote file: the server's answer
                raise InputError(
                    f"{open_error(RemotePath(self.path), exc)} reading {rows}"
                ) from exc
            raise InputError(
                f"{self.path}: could not read pixels in {rows}; "
                f"the file looks corrupt or truncated ({exc})"
            ) from exc
        if self.is_float:
            finite = np.all(np.isfinite(data), axis=0)
            valid = finite if valid is None else valid & finite
        image = self.scaling.apply(data)
        if valid is not None and not valid.all():
            if image is data:
                image = image.copy()
            image[:, ~valid] = 0
        return image, valid

    def read_valid(self, window: Window) -> np.ndarray | None:
        """Only the valid mask of ``window`` (``None``: all valid); cheaper than :meth:`read`."""
        if self.is_float:
            return self.read(window)[1]
        if not self.masked:
            return None
        try:
            masks = self.dataset.read_masks(indexes=list(self.bands), window=window)
        except RasterioError as exc:
            raise InputError(f"{self.path}: could not read the nodata mask ({exc})") from exc
        return np.all(masks > 0, axis=0)

    def read_rows(self, row_off: int, n_rows: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Full-width strip of ``n_rows`` rows starting at ``row_off`` (see :meth:`read`)."""
        return self.read(Window(0, row_off, self.width, n_rows))


@dataclass
class Scene:
    """An opened, validated input raster (use as a context manager or call :meth:`close`).

    Attributes:
        path: the file.
        dataset: the open rasterio dataset.
        bands: selected 1-based band indices, in model order.
        crs: the CRS, or ``None`` (pixel coordinates; a warning was logged).
        transform: the affine pixel -> map transform.
        gsd_xy_m: ``(east, north)`` pixel size in metres, or ``None`` without a CRS.
        masked: whether any selected band has a nodata value, alpha or mask band
            (or is floating point, where NaN counts as nodata).
        scaling: the value scaling rule chosen for this scene.
    """

    path: Path | RemotePath
    dataset: Any
    bands: tuple[int, ...]
    crs: Any
    transform: Any
    gsd_xy_m: tuple[float, float] | None
    masked: bool
    scaling: BandScaling
    is_float: bool = False
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Number of selected bands."""
        return len(self.bands)

    @property
    def height(self) -> int:
        return int(self.dataset.height)

    @property
    def width(self) -> int:
        return int(self.dataset.width)

    @property
    def gsd_m(self) -> float | None:
        """Geometric mean of the east and north pixel sizes (metres), ``None`` without CRS."""
        if self.gsd_xy_m is None:
            return None
        return math.sqrt(self.gsd_xy_m[0] * self.gsd_xy_m[1])  # as raster.georef.gsd_m

    def block_cache_bytes(self) -> int:
        """GDAL block cache that strip reads need: three input block rows plus margin.

        Consecutive tile-row strips overlap and share block rows, so keeping
        a few full-width block rows cached avoids decompressing a block twice;
        anything more (GDAL's default is 5 % of the RAM) only grows the
        resident memory on a large scene. Clamped to 64..512 MiB.
        """
        block_h = int(self.dataset.block_shapes[0][0]) if self.dataset.block_shapes else 256
        itemsize = max(np.dtype(t).itemsize for t in self.dataset.dtypes)
        row_bytes = self.width * self.dataset.count * itemsize
        need = 3 * min(block_h, self.height) * row_bytes + 2 * 256 * self.width + (32 << 20)
        return int(min(max(need, 64 << 20), 512 << 20))

    def view(self, dataset: Any = None) -> RasterView:
        """A :class:`RasterView` on the scene, or on ``dataset`` (a VRT over it)."""
        return RasterView(
            dataset=self.dataset if dataset is None else dataset,
            bands=self.bands,
            scaling=self.scaling,
            masked=self.masked,
            path=str(self.path),
            is_float=self.is_float,
        )

    def close(self) -> None:
        self.dataset.close()

    def __enter__(self) -> Scene:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _choose_scaling(
    dataset: Any, bands: tuple[int, ...], path: Path | RemotePath, masked: bool
) -> BandScaling:
    dtype = np.dtype(dataset.dtypes[bands[0] - 1])
    if dtype == np.uint8:
        return BandScaling("none")
    # one decimated read of the whole scene: the same statistics for every tile
    scale = min(1.0, STATS_MAX_SIDE / max(dataset.height, dataset.width))
    shape = (
        len(bands),
        max(1, round(dataset.height * scale)),
        max(1, round(dataset.width * scale)),
    )
    try:
        data = dataset.read(indexes=list(bands), out_shape=shape, resampling=Resampling.nearest)
        valid = np.ones(shape[1:], dtype=bool)
        if masked:
            masks = dataset.read_masks(
                indexes=list(bands), out_shape=shape, resampling=Resampling.nearest
            )
            valid &= np.all(masks > 0, axis=0)
    except RasterioError as exc:
        raise InputError(f"{path}: could not read pixels; the file looks corrupt ({exc})") from exc
    if dtype.kind == "f":
        valid &= np.all(np.isfinite(data), axis=0)
    values = data[:, valid].astype(np.float64)
    if values.size == 0:
        # one rule for every data type (uint8 never gets here): nothing to see, an empty
        # result with a warning, not an error
        log.warning("%s: has no valid pixels (everything is nodata); the result is empty", path)
        return BandScaling("none")
    lo_all, hi_all = float(values.min()), float(values.max())
    if dtype.kind == "f" and lo_all >= 0.0 and hi_all <= 1.0:
        n = len(bands)
        return BandScaling("unit", (0.0,) * n, (1.0,) * n)
    if dtype.kind == "f" and lo_all >= 0.0 and hi_all <= 255.0:
        return BandScaling("none")
    low = np.percentile(values, STRETCH_PERCENTILES[0], axis=1)
    high = np.percentile(values, STRETCH_PERCENTILES[1], axis=1)
    high = np.where(high > low, high, low + 1.0)
    log.info(
        "%s: %s data stretched per band from the %g-%g%% percentiles %s..%s to 0..255",
        path,
        dtype,
        *STRETCH_PERCENTILES,
        np.round(low, 2).tolist(),
        np.round(high, 2).tolist(),
    )
    return BandScaling("stretch", tuple(float(v) for v in low), tuple(float(v) for v in high))


#: The band order of WorldView-2/3 8-band multispectral products (Maxar's documentation).
WORLDVIEW_8 = ("coastal", "blue", "green", "yellow", "red", "red edge", "nir1", "nir2")
_COLOUR = {ColorInterp.red: "red", ColorInterp.green: "green", ColorInterp.blue: "blue"}


def _colour_of_description(text: str | None) -> str | None:
    """``"red"``/``"green"``/``"blue"`` when a band description names that colour alone
    (``"Red"``, ``"B4 red"``, ``"blue band"``; not ``"Red Edge"`` or ``"Coastal blue"``)."""
    words = set(re.findall(r"[a-z]+", (text or "").lower()))
    found = words & {"red", "green", "blue"}
    if len(found) != 1 or words & {"edge", "rededge", "coastal", "nir", "infrared"}:
        return None
    return found.pop()


def rgb_bands(dataset: Any) -> tuple[int, int, int] | None:
    """The 1-based (red, green, blue) bands a raster names, by colour interpretation or,
    failing that, by band description; ``None`` when it does not name all three."""
    for names in (
        [_COLOUR.get(ci) for ci in dataset.colorinterp],
        [_colour_of_description(d) for d in dataset.descriptions],
    ):
        found = {c: i + 1 for i, c in reversed(list(enumerate(names))) if c is not None}
        if len(found) == 3:
            return (found["red"], found["green"], found["blue"])
    return None


def band_hint(dataset: Any, model_bands: int = 3) -> str:
    """The ``--bands`` choice to suggest for ``dataset`` and a model of ``model_bands`` bands.

    >>> from types import SimpleNamespace as NS
    >>> pan = NS(count=1, colorinterp=[ColorInterp.gray], descriptions=[None])
    >>> band_hint(pan)
    '--bands 1,1,1 (the one band as grey for each of red, green, blue)'
    >>> wv3 = NS(count=8, colorinterp=[ColorInterp.undefined] * 8, descriptions=[None] * 8)
    >>> band_hint(wv3).split(" (")[0]
    '--bands 5,3,2'
    """
    default = f"--bands {','.join(str(i + 1) for i in range(model_bands))}"
    if model_bands != 3:
        return default
    rgb = rgb_bands(dataset)
    if rgb is not None:
        return f"--bands {','.join(map(str, rgb))} (the scene's red, green, blue)"
    if dataset.count == 1:
        return "--bands 1,1,1 (the one band as grey for each of red, green, blue)"
    if dataset.count == len(WORLDVIEW_8):
        return (
            "--bands 5,3,2 (true colour if this is a WorldView-2/3 8-band scene: "
            f"{', '.join(WORLDVIEW_8)})"
        )
    return default


def _default_bands(dataset: Any, model_bands: int | None, path: object) -> tuple[int, ...]:
    """Every non-alpha band; or red, green, blue when the model takes three and the scene
    has more bands and names those three (see the module docstring)."""
    interp = list(dataset.colorinterp)
    bands = tuple(i + 1 for i in range(dataset.count) if interp[i] != ColorInterp.alpha) or (1,)
    if model_bands == 3 and len(bands) > 3:
        rgb = rgb_bands(dataset)
        if rgb is not None:
            log.info(
                "%s: note: %d bands; using %d,%d,%d (red, green, blue) for the RGB model "
                "(--bands chooses others)",
                path,
                len(bands),
                *rgb,
            )
            return rgb
    return bands


def parse_bbox(text: str | Sequence[float] | None) -> tuple[float, float, float, float] | None:
    """``"W,S,E,N"`` (or four numbers) in WGS 84 degrees -> a tuple; ``None`` stays ``None``.

    >>> parse_bbox("-71.1, 42.3, -71.0, 42.4")
    (-71.1, 42.3, -71.0, 42.4)

    Raises:
        ValueError: not four numbers, or west >= east / south >= north, or not degrees.
    """
    if text is None:
        return None
    parts = [p for p in text.split(",") if p.strip()] if isinstance(text, str) else list(text)
    try:
        w, s, e, n = (float(v) for v in parts)
    except (TypeError, ValueError):
        raise ValueError(f"bbox must be four numbers W,S,E,N in degrees, got {text!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ValueError(
            f"bbox {text!r} is not W,S,E,N in WGS 84 degrees (west < east, south < north)"
        )
    return (w, s, e, n)


def bbox_window(dataset: Any, bbox: Sequence[float]) -> Window | None:
    """The whole-pixel window of ``dataset`` covering ``bbox`` (WGS 84 W,S,E,N), clipped to
    the raster; ``None`` when they do not overlap."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import from_bounds

    left, bottom, right, top = transform_bounds("EPSG:4326", dataset.crs, *bbox, densify_pts=21)
    win = from_bounds(left, bottom, right, top, transform=dataset.transform)
    col0, row0 = max(0, math.floor(win.col_off)), max(0, math.floor(win.row_off))
    col1 = min(dataset.width, math.ceil(win.col_off + win.width))
    row1 = min(dataset.height, math.ceil(win.row_off + win.height))
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def _clip_to_bbox(path: Path | RemotePath, dataset: Any, bbox: Sequence[float]) -> Any:
    """``dataset``, or (closing it) the same raster opened on its window inside ``bbox``."""
    if dataset.crs is None:
        raise InputError(f"{path}: --bbox needs a georeferenced scene (this one has no CRS)")
    win = bbox_window(dataset, bbox)
    if win is None:
        raise InputError(f"{path}: the raster does not overlap --bbox {','.join(map(str, bbox))}")
    if (win.col_off, win.row_off, win.width, win.height) == (0, 0, dataset.width, dataset.height):
        return dataset
    name = dataset.name
    dataset.close()
    srcwin = f"{win.col_off},{win.row_off},{win.width},{win.height}"
    log.info("%s: reading the window %s (x,y,w,h px) inside --bbox", path, srcwin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        if is_remote(name):
            with remote_open_options():  # no side-car probing, for this open only
                return rasterio.open(f"vrt://{name}?srcwin={srcwin}")
        return rasterio.open(f"vrt://{name}?srcwin={srcwin}")


def open_in_bbox(path: str | os.PathLike[str], bbox: Sequence[float] | str | None) -> Any:
    """``path`` opened on its whole-pixel window inside ``bbox`` (WGS 84 W,S,E,N, as
    :func:`parse_bbox` reads it), as ``--bbox`` predicts a scene; the whole raster when
    ``bbox`` is ``None``. Rasters on one grid (a scene, its labels, its prediction) get the
    same window, so what was predicted inside the box is scored and drawn inside it.

    Raises:
        InputError: a bad box, a raster without CRS or one that misses the box.
    """
    from roadseg.raster.io import open_raster

    try:
        area = parse_bbox(bbox)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        dataset = open_raster(path)
    if area is None:
        return dataset
    try:
        return _clip_to_bbox(scene_path(path), dataset, area)
    except BaseException:
        dataset.close()
        raise


def parse_bands(text: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """``"1,2,3"`` or ``[1, 2, 3]`` -> ``(1, 2, 3)``; ``None`` stays ``None``.

    Raises:
        ValueError: not a comma-separated list of positive integers.
    """
    if text is None:
        return None
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"bands must be comma-separated 1-based band numbers like 1,2,3, got {text!r}"
            ) from None
    else:
        values = tuple(int(v) for v in text)
    if not values or any(v < 1 for v in values):
        raise ValueError(f"bands must be 1-based band numbers like 1,2,3, got {text!r}")
    return values


def open_scene(
    path: str | os.PathLike[str],
    bands: Sequence[int] | str | None = None,
    gsd_m: float | None = None,
    model_bands: int | None = None,
    bbox: Sequence[float] | str | None = None,
) -> Scene:
    """Open ``path`` with rasterio and validate it (see the module docstring).

    Args:
        path: any GDAL-readable raster with 1-4 bands.
        bands: 1-based band indices in model order (``"1,2,3"`` accepted);
            ``None``: every non-alpha band.
        gsd_m: pixel size in metres of a raster without CRS: its grid is then a local
            metric grid, x = column * gsd_m, y = row * gsd_m (ignored when it has a CRS).
        model_bands: how many bands the model takes, for the default choice of bands
            (``None``: every non-alpha band).
        bbox: read only the window inside ``(west, south, east, north)`` (WGS 84
            degrees; ``"W,S,E,N"`` accepted), see the module docstring.

    Raises:
        InputError: missing file, not a raster, no bands, more than 4 bands,
            a band index out of range or an unsupported data type (a raster with no valid
            pixel gives a warning and an empty result, whatever its type).
    """
    path = scene_path(path)
    remote = isinstance(path, RemotePath)
    if remote:
        configure_remote_access()
    elif not path.exists():
        raise InputError(f"{path}: {why_missing(path)}")
    elif path.is_dir():
        raise InputError(f"{path}: is a folder, not a raster file")
    try:
        selected = parse_bands(bands)
        area = parse_bbox(bbox)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            if remote:
                with remote_open_options():  # no side-car probing, for this open only
                    dataset = rasterio.open(os.fspath(path))
            else:
                dataset = rasterio.open(os.fspath(path))
    except RasterioError as exc:
        if isinstance(path, RemotePath):
            raise InputError(open_error(path, exc)) from exc
        raise InputError(f"{path}: not a raster GDAL can read ({exc})") from exc
    try:
        if area is not None:
            dataset = _clip_to_bbox(path, dataset, area)
        return _validate(path, dataset, selected, gsd_m, model_bands)
    except BaseException:
        dataset.close()
        raise


def _validate(
    path: Path | RemotePath,
    dataset: Any,
    selected: tuple[int, ...] | None,
    gsd_m: float | None = None,
    model_bands: int | None = None,
) -> Scene:
    count = int(dataset.count)
    if count == 0:
        subs = list(getattr(dataset, "subdatasets", []) or [])
        hint = f" (it holds sub-datasets, e.g. {subs[0]}: open one of them)" if subs else ""
        raise InputError(f"{path}: raster has no bands{hint}")
    if dataset.width < 1 or dataset.height < 1:
        raise InputError(f"{path}: raster is empty ({dataset.width}x{dataset.height})")
    if selected is None:
        selected = _default_bands(dataset, model_bands, path)
    bad = [b for b in selected if b > count]
    if bad:
        raise InputError(
            f"{path}: has {count} band(s); band(s) {bad} do not exist (bands are 1..{count})"
        )
    if len(selected) > MAX_BANDS:
        raise InputError(
            f"{path}: {len(selected)} bands selected; at most {MAX_BANDS} are supported "
            f"(choose some with --bands, e.g. {band_hint(dataset, model_bands or 3)})"
        )
    dtypes = {np.dtype(dataset.dtypes[b - 1]) for b in selected}
    if len(dtypes) > 1:
        raise InputError(f"{path}: selected bands mix data types {sorted(map(str, dtypes))}")
    dtype = dtypes.pop()
    if dtype.kind not in "uif":
        raise InputError(
            f"{path}: data type {dtype} is not supported (integer or float bands expected)"
        )
    flags = dataset.mask_flag_enums
    masked = dtype.kind == "f" or any(MaskFlags.all_valid not in flags[b - 1] for b in selected)
    crs = dataset.crs
    transform = dataset.transform
    if crs is None and gsd_m is not None:
        # --gsd says how large a pixel is; the raster's own geotransform, when it has one,
        # stays its grid (outputs overlay it), else a local metric grid (issue 22, item 2)
        transform = local_transform(transform, gsd_m)
        log.info("%s: no CRS; pixels taken as %g m", path, gsd_m)
    elif crs is None:
        log.warning(
            "%s: no CRS; working in pixel coordinates and assuming the model's GSD "
            "(the output has no CRS either)",
            path,
        )
    gsd = pixel_size_m(crs, transform, dataset.width, dataset.height)
    if crs is None and gsd_m is not None:
        gsd = (gsd_m, gsd_m)
    scaling = _choose_scaling(dataset, selected, path, masked)
    return Scene(
        path=path,
        dataset=dataset,
        bands=selected,
        crs=crs,
        transform=transform,
        gsd_xy_m=gsd,
        masked=masked,
        scaling=scaling,
        is_float=dtype.kind == "f",
        profile=dict(dataset.profile),
    )
