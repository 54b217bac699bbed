"""GDAL's and libtiff's messages go to :mod:`logging`, never straight to the terminal.

Two ways they escaped (a full disk printed up to seven raw lines before roadseg's one
error):

* libtiff's process-wide handler (below, :func:`route_libtiff_messages`);
* GDAL's own default handler, which prints ``ERROR 1: ...`` on stderr for a message raised
  on a thread where rasterio has not installed its logging handler: rasterio installs it
  per thread, in :class:`rasterio.Env`. roadseg's own I/O threads (the strip reader of the
  inference engine, the background writer) run inside :func:`gdal_thread`, so their
  messages reach the ``rasterio._env`` logger like those of the calling thread.

libtiff
-------

GDAL gives each TIFF it opens its own error handler (libtiff >= 4.5 open options), which
turns libtiff's complaints into GDAL errors. But GDAL's I/O hooks (``tif_vsi.c``) report a
failed write or seek through libtiff's *process-wide* handler, and GDAL leaves that one at
libtiff's default, which prints to stderr. On a full disk that is up to seven raw lines
(``_tiffWriteProc: No space left on device.``, ``_tiffSeekProc: ...``) before roadseg's own
one-line error, which already names the output and the cause.

:func:`route_libtiff_messages` replaces the process-wide error and warning handlers of the
libtiff that GDAL uses with one that logs the message on this module's
logger at DEBUG (``-v -v`` shows them). The raster writers call it before they write; it
is idempotent and cheap after the first call, and a no-op where the libtiff cannot be found
(a GDAL built with its internal, renamed libtiff). At exit the previous handlers are put
back, so that no message reaches Python while the interpreter is shutting down.

A handler runs on the thread that wrote the file. GDAL's compression threads only write
to memory (``/vsimem/``), so they do not call it in practice.

Example:
    >>> route_libtiff_messages()  # rasterio's wheels: libtiff found and routed
    True
    >>> gdal_thread(sum)([1, 2])  # what the thread runs, inside a rasterio.Env
    3
"""

from __future__ import annotations

import atexit
import ctypes
import glob
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

#: ``void handler(const char *module, const char *fmt, va_list ap)``; a ``va_list`` is
#: handed over as a pointer on the platforms rasterio's wheels are built for
_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
_lock = threading.Lock()
_installed: list[Any] = []  # the callbacks, kept alive as long as libtiff may call them


def _libtiff_path() -> str | None:
    """The file of the libtiff loaded with GDAL (imports rasterio), or ``None``: the one
    rasterio's wheel bundles, else the one loaded in this process (a system GDAL's)."""
    import rasterio  # loads GDAL, and with it its libtiff

    wheel_libs = os.path.join(os.path.dirname(os.path.dirname(rasterio.__file__)), "rasterio.libs")
    found = sorted(glob.glob(os.path.join(wheel_libs, "libtiff*")))
    if found:  # before the loaded ones: Pillow's wheel may have loaded its own libtiff
        return found[0]
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                path = line.split()[-1] if "/" in line else ""
                if os.path.basename(path).startswith("libtiff"):
                    return path
    except OSError:
        pass
    return None


def _formatter() -> Any:
    """C's ``vsnprintf``, where a ``va_list`` argument is known to travel as a pointer
    (x86-64 Linux, where this is tested); elsewhere ``None``: the message is logged as its
    format string, unexpanded, rather than risk a crash on another ABI's ``va_list``."""
    import platform
    import sys

    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")):
        return None
    libc = ctypes.CDLL(None)
    vsnprintf = libc.vsnprintf
    vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    vsnprintf.restype = ctypes.c_int
    return vsnprintf


def _make_handler(level: str, vsnprintf: Any) -> Any:
    def handler(module: bytes | None, fmt: bytes | None, ap: int | None) -> None:
        try:  # an exception must not cross back into C
            text = (fmt or b"").decode("utf-8", "replace")
            if vsnprintf is not None:
                buf = ctypes.create_string_buffer(2048)
                vsnprintf(buf, len(buf), fmt or b"", ap)
                text = buf.value.decode("utf-8", "replace")
            where = (module or b"libtiff").decode("utf-8", "replace")
            log.debug("libtiff %s: %s: %s", level, where, text)
        except Exception:  # noqa: BLE001  (logging must never fail a write)
            pass

    return _HANDLER(handler)


def route_libtiff_messages() -> bool:
    """Send libtiff's process-wide errors and warnings to :mod:`logging` (see module docstring).

    Returns whether libtiff's handlers are (now) routed.
    """
    with _lock:
        if _installed:
            return True
        path = _libtiff_path()
        if path is None:
            return False
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
            vsnprintf = _formatter()
        except (OSError, TypeError, AttributeError):  # no C library to format with (Windows)
            return False
        previous: list[tuple[Any, int | None]] = []
        for setter_name, level in (("TIFFSetErrorHandler", "error"),
                                   ("TIFFSetWarningHandler", "warning")):  # fmt: skip
            setter = getattr(lib, setter_name, None)
            if setter is None:
                continue
            setter.restype = ctypes.c_void_p
            setter.argtypes = [ctypes.c_void_p]
            callback = _make_handler(level, vsnprintf)
            old = setter(ctypes.cast(callback, ctypes.c_void_p))
            previous.append((setter, old))
            _installed.append(callback)
        if not _installed:
            return False
        atexit.register(_restore, previous)
        log.debug("libtiff messages of %s go to logging", path)
        return True


def _restore(previous: list[tuple[Any, int | None]]) -> None:
    for setter, old in previous:
        setter(old)


def gdal_thread(target: Callable[..., T]) -> Callable[..., T]:
    """``target`` run inside a :class:`rasterio.Env`: for the target of a thread that reads
    or writes rasters, so that GDAL's messages on it are logged, not printed raw."""

    def run(*args: Any, **kwargs: Any) -> T:
        import rasterio

        with rasterio.Env():  # installs rasterio's logging error handler on this thread
            return target(*args, **kwargs)

    return run
