"""The SHA-256 of a file's bytes: one helper for every digest roadseg records or checks
(dataset checksums, the model named in a probability raster's tags, sealed cache entries).

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     p = pathlib.Path(d, "x.txt")
...     _ = p.write_bytes(b"abc")
...     file_sha256(p)[:16]
'ba7816bf8f01cfea'
"""

from __future__ import annotations

import hashlib
import os


def file_sha256(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of the file's bytes, read in ``chunk_bytes`` blocks (links are followed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()
