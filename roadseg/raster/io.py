"""The one door to raster files: every module outside ``roadseg.raster`` opens rasters here.

:func:`open_raster` is :func:`rasterio.open` with the same arguments, return value and
errors; what it adds is a single place where opening a raster is decided, so that a change
there reaches every reader and writer. Today that is the remote path: a URL or ``/vsi…``
path is handed to GDAL as :func:`roadseg.uri.gdal_name` names it, remote access configured
first (a local path is opened as before).
The callers keep their own one-line error messages (each names its file and its role)
and their own ``NotGeoreferencedWarning`` filters; ``tests/raster/test_one_io_layer.py``
checks that no module outside ``roadseg.raster`` calls ``rasterio.open`` itself.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> from rasterio.transform import from_origin
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.tif"
    >>> with open_raster(p, "w", driver="GTiff", width=4, height=2, count=1, dtype="uint8",
    ...                  crs="EPSG:32619", transform=from_origin(0, 2, 1, 1)) as ds:
    ...     ds.write(np.ones((1, 2, 4), np.uint8))
    >>> with open_raster(p) as ds:
    ...     (ds.count, ds.height, ds.width, int(ds.read(1).sum()))
    (1, 2, 4, 8)
"""

from __future__ import annotations

import os
from typing import Any


def open_raster(path: str | os.PathLike[str], mode: str = "r", **kwargs: Any) -> Any:
    """Open ``path`` as :func:`rasterio.open` does (``mode`` ``"r"``, ``"w"`` or ``"r+"``;
    ``kwargs`` the driver, profile or creation options).

    The dataset is also a context manager (``with open_raster(p) as ds:``); errors are
    rasterio's own (:class:`rasterio.errors.RasterioIOError` for a missing or unreadable
    file), which the callers turn into their one-line :class:`roadseg.errors.InputError`.
    """
    import rasterio

    from roadseg.raster.gdal_messages import route_libtiff_messages
    from roadseg.uri import gdal_name, is_remote, remote_open_options

    route_libtiff_messages()  # libtiff's raw lines (a full disk) to logging, not the terminal

    if isinstance(path, (str, os.PathLike)):
        path = gdal_name(path)  # a local path: its text; a URL: GDAL's name, access configured
        if is_remote(path):
            with remote_open_options():  # no side-car probing, for this open only
                return rasterio.open(path, mode, **kwargs)
    return rasterio.open(path, mode, **kwargs)
