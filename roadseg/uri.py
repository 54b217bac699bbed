"""Inputs that are not local files: URLs and GDAL virtual file system paths.

A scene (or label raster) may be given as

* ``http://`` or ``https://`` URL -- read through GDAL's ``/vsicurl/``;
* ``s3://bucket/key`` -- ``/vsis3/bucket/key`` (AWS S3 and S3-compatible stores);
* ``gs://bucket/key`` -- ``/vsigs/bucket/key`` (Google Cloud Storage);
* ``az://container/blob`` -- ``/vsiaz/container/blob`` (Azure Blob Storage);
* any GDAL path starting ``/vsi`` (``/vsicurl/…``, ``/vsizip/…``, ``/vsis3/…``) or a
  GDAL connection string such as ``vrt://…`` -- passed to GDAL unchanged.

:func:`scene_path` turns what the user gave into a :class:`~pathlib.Path` (a local
file) or a :class:`RemotePath` (everything above), which keeps the text as given:
``pathlib.Path`` would fold ``http://host`` into ``http:/host``. A
:class:`RemotePath` answers the few questions the pipeline asks of an input
(``name``, ``stem``, ``suffix``, ``exists()``, ``is_file()``, ``resolve()``) without a
network request; whether the file is really there is learnt when GDAL opens it,
and a failure names the URL and the HTTP status (:func:`open_error`).

Reading: GDAL fetches only the byte ranges it needs (a cloud-optimised GeoTIFF's
header, then the blocks or overview blocks a window covers), never the whole file.
:func:`configure_remote_access` chooses the GDAL settings for that, in one place
(see :data:`REMOTE_GDAL_OPTIONS`). Credentials are never handled here: GDAL reads
them from its usual environment (``AWS_*``, ``GS_*``/``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_*``, ``GDAL_HTTP_HEADERS``/``GDAL_HTTP_USERPWD``, ``~/.netrc`` …);
nothing here logs or copies them, and messages name the URL as the user gave it.

Example:
    >>> p = scene_path("https://example.com/imagery/scene.tif")
    >>> str(p), p.gdal, p.stem, p.suffix
    ('https://example.com/imagery/scene.tif', '/vsicurl/https://example.com/imagery/scene.tif', 'scene', '.tif')
    >>> scene_path("s3://bucket/a/b.tif").gdal
    '/vsis3/bucket/a/b.tif'
    >>> scene_path("/vsizip/data.zip/x.tif").gdal
    '/vsizip/data.zip/x.tif'
    >>> type(scene_path("data/x.tif")).__name__
    'PosixPath'
    >>> is_remote("az://container/x.tif"), is_remote("x.tif")
    (True, False)
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: URL scheme -> the GDAL virtual file system that reads it.
SCHEMES = {
    "http": "/vsicurl/",
    "https": "/vsicurl/",
    "s3": "/vsis3/",
    "gs": "/vsigs/",
    "az": "/vsiaz/",
}

#: GDAL settings for reading remote rasters, applied once per process by
#: :func:`configure_remote_access` (a value already in the environment wins); they concern
#: only remote and cached file handles, so local rasters read as before:
#:
#: * ``VSI_CACHE=TRUE`` with ``VSI_CACHE_SIZE`` 64 MiB -- keep the raw byte ranges read
#:   per file: neighbouring tile strips overlap by the tile overlap and share GeoTIFF
#:   blocks, which are then fetched once (GDAL's block cache holds decoded blocks,
#:   bounded per scene).
#: * ``GDAL_HTTP_MERGE_CONSECUTIVE_RANGES=YES`` -- the blocks of one strip lie next to
#:   each other in a COG; one request for them instead of one per block.
#: * ``GDAL_HTTP_MULTIPLEX=YES`` -- parallel range requests share one HTTP/2 connection
#:   where the server offers it.
#: * ``GDAL_HTTP_MAX_RETRY=3``, ``GDAL_HTTP_RETRY_DELAY=1`` -- retry a 429/502/503/504
#:   (throttling, a busy gateway) instead of failing the scene at the first one.
#:
#: ``CPL_VSIL_CURL_ALLOWED_EXTENSIONS`` is left unset on purpose: it would refuse URLs
#: without a raster extension (signed URLs, API endpoints), and ``EMPTY_DIR`` already
#: stops the side-car requests it is usually set to avoid.
REMOTE_GDAL_OPTIONS = {
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": str(64 << 20),
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
}

_CONNECTION = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_STATUS = re.compile(r"HTTP response code:\s*(\d{3})")
_REASONS = {
    400: "bad request",
    401: "unauthorised: credentials missing or refused",
    403: "forbidden: credentials missing or refused",
    404: "not found",
    416: "range not satisfiable: the server does not serve byte ranges of it",
    429: "too many requests",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


def is_remote(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a URL, a ``/vsi…`` path or a GDAL connection string (not a local file)."""
    if isinstance(path, RemotePath):
        return True
    text = os.fspath(path) if not isinstance(path, str) else path
    return text.startswith("/vsi") or bool(_CONNECTION.match(text))


def to_gdal(text: str) -> str:
    """The name GDAL opens for ``text``: URL schemes mapped to their ``/vsi…/`` file system."""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in SCHEMES and not text.startswith("/vsi"):
        rest = text.split("://", 1)[1]
        return SCHEMES[scheme] + (text if SCHEMES[scheme] == "/vsicurl/" else rest)
    return text


class RemotePath:
    """A remote or virtual raster named as the user gave it (see the module docstring).

    ``str()`` is the text as given (messages, summaries, cache names); ``gdal`` and
    ``os.fspath()`` are what GDAL opens. Two remote paths are the same input when
    their GDAL names are equal.
    """

    __slots__ = ("text", "gdal")

    def __init__(self, text: str) -> None:
        self.text = text
        self.gdal = to_gdal(text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"RemotePath({self.text!r})"

    def __fspath__(self) -> str:
        return self.gdal

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.gdal == self.gdal

    def __hash__(self) -> int:
        return hash(self.gdal)

    def __reduce__(self) -> tuple[Any, tuple[str]]:  # pickled to Dask workers as text
        return (RemotePath, (self.text,))

    @property
    def _pure(self) -> PurePosixPath:
        """The path part of the URL (no query), for names only."""
        text = self.text
        if _CONNECTION.match(text) and not text.startswith("/vsi"):
            text = urlsplit(text).path or "/"
        return PurePosixPath(text.split("?", 1)[0])

    @property
    def name(self) -> str:
        return self._pure.name

    @property
    def stem(self) -> str:
        return self._pure.stem

    @property
    def suffix(self) -> str:
        return self._pure.suffix

    def exists(self) -> bool:
        """Assumed: a remote file's presence is learnt (and reported) when GDAL opens it."""
        return True

    def is_file(self) -> bool:
        return True

    def is_dir(self) -> bool:
        return False

    def resolve(self) -> RemotePath:
        return self


def scene_path(path: str | os.PathLike[str]) -> Path | RemotePath:
    """A local :class:`~pathlib.Path`, or a :class:`RemotePath` for a URL or GDAL path."""
    if isinstance(path, (Path, RemotePath)):
        return path
    text = os.fspath(path)
    return RemotePath(text) if is_remote(text) else Path(text)


def gdal_name(path: str | os.PathLike[str]) -> str:
    """What to hand ``rasterio.open`` for ``path`` (remote access configured first when remote)."""
    p = scene_path(path)
    if isinstance(p, RemotePath):
        configure_remote_access()
    return os.fspath(p)


def configure_remote_access() -> None:
    """Apply :data:`REMOTE_GDAL_OPTIONS` for this process (settings already in the
    environment are kept). Process-wide on purpose: GDAL reads these options when a
    remote file is read, from whichever thread reads it (the tile reader's prefetch
    thread, a Dask worker's threads), and an environment variable reaches them all."""
    for key, value in REMOTE_GDAL_OPTIONS.items():
        os.environ.setdefault(key, value)


#: Set only while a remote raster is being opened (:func:`remote_open_options`), never for
#: the process: ``EMPTY_DIR`` stops GDAL listing the URL's "folder" and probing for side-car
#: files (``.aux.xml``, ``.ovr``, ``.msk``; on object stores each probe is a request, often a
#: 403/404, and a COG keeps its overviews and mask inside the file). Process-wide it would
#: also hide a local raster's side-cars (a world file, an ``.aux.xml`` CRS) read later in the
#: same process -- a many-scene run mixing URLs and local files -- and lose their
#: georeferencing without a word. GDAL reads it when a file is opened, in the opening thread.
REMOTE_OPEN_OPTIONS = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}


def remote_open_options() -> Any:
    """A context (``rasterio.Env``, thread-local) with :data:`REMOTE_OPEN_OPTIONS` for opening a
    remote raster; options the user set in the environment win."""
    import rasterio

    return rasterio.Env(**{k: v for k, v in REMOTE_OPEN_OPTIONS.items() if k not in os.environ})


def http_status(message: str) -> int | None:
    """The HTTP status in a GDAL error message (``HTTP response code: 404``), if any."""
    m = _STATUS.search(message)
    return int(m.group(1)) if m else None


def open_error(path: RemotePath, exc: BaseException) -> str:
    """One line for a remote raster GDAL could not open: the URL and the HTTP status.

    >>> open_error(RemotePath("http://h/x.tif"), OSError("HTTP response code: 404"))
    'http://h/x.tif: HTTP 404 (not found)'
    """
    status = http_status(str(exc))
    if status is not None:
        reason = _REASONS.get(status)
        return f"{path}: HTTP {status}" + (f" ({reason})" if reason else "")
    detail = str(exc).replace(path.gdal, str(path)).strip() or type(exc).__name__
    return f"{path}: cannot open the remote raster ({detail})"
