"""Check that a raster decodes completely before it enters a dataset.

Opening a file reads only its header: a truncated PNG/JPEG/TIFF, or a TIFF whose
strips point past the end of the file, opens fine and fails only when training
reads its last rows. :func:`check_decodes` reads every pixel (strip by strip, at most
``STRIP_ROWS`` rows at a time, so memory stays bounded for large scenes) and turns any
decoding failure -- an error or a GDAL warning of a short read -- into one
:class:`~roadseg.errors.InputError` naming the file.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from roadseg.errors import InputError

STRIP_ROWS = 1024


class _GdalWarnings(logging.Handler):
    """Collects GDAL's warnings (rasterio logs them) raised while a file is read."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check_decodes(path: str | Path) -> None:
    """Read every pixel of ``path``; raise :class:`InputError` if any part fails to decode."""
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.windows import Window

    from roadseg.raster.io import open_raster

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    handler = _GdalWarnings()
    gdal_log = logging.getLogger("rasterio._env")
    gdal_log.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with open_raster(path) as ds:
                # block by block: GDAL's PNG driver returns a truncated file's missing
                # rows silently when they are read in one large window
                step = max(1, ds.block_shapes[0][0]) if ds.block_shapes else STRIP_ROWS
                step = min(step, STRIP_ROWS)
                for row in range(0, ds.height, step):
                    ds.read(window=Window(0, row, ds.width, min(step, ds.height - row)))
    except (RasterioError, OSError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: does not decode fully ({msg}); re-copy or re-download it") from exc
    finally:
        gdal_log.removeHandler(handler)
    bad = [m for m in handler.messages if _is_read_problem(m)]
    if path.suffix.lower() == ".png" and not bad:
        bad = [p for p in [_png_problem(path.read_bytes())] if p]
    if bad:
        raise InputError(f"{path}: does not decode fully ({bad[0]}); re-copy or re-download it")


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _png_problem(data: bytes) -> str | None:
    """Why a PNG is incomplete, or ``None``.

    GDAL's PNG driver fills the rows of a truncated file with zeros without an
    error, so PNGs are checked here: every chunk whole with a good CRC, an
    ``IEND``, and the image data inflating to exactly the rows the header promises.
    """
    import struct
    import zlib

    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "not a PNG signature"
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return f"chunk {kind!r} cut off at byte {len(data)}"
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4 : end])[0]:
            return f"chunk {kind!r} has a bad CRC"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos = end
    else:
        return "no IEND chunk (file truncated)"
    if header is None:
        return "no IHDR chunk"
    width, height, depth, colour, _, _, interlace = header
    try:
        d = zlib.decompressobj()
        raw = d.decompress(b"".join(idat))
        if not d.eof:
            return "image data stream ends early"
    except zlib.error as exc:
        return f"image data does not inflate ({exc})"
    if not interlace and colour in _PNG_CHANNELS:
        row = (width * _PNG_CHANNELS[colour] * depth + 7) // 8 + 1
        if len(raw) != row * height:
            return f"image data holds {len(raw)} bytes, the header promises {row * height}"
    return None


def _is_read_problem(message: str) -> bool:
    m = message.lower()
    return any(k in m for k in ("truncat", "premature", "corrupt", "short read", "error", "failed"))
