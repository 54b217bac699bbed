"""Atomic file writes: a temporary file beside the target, renamed on success.

An interrupted or failed write leaves no half-written output behind, and the
target is replaced in one step (``os.replace`` is atomic on POSIX within a file
system).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "out.txt").read_text()
    'done'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from roadseg.errors import OutputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    The temporary name keeps the target's suffix so that format drivers that
    look at extensions (GDAL, OGR) pick the right one. On any exception the
    temporary file (or folder) is removed and the exception propagates;
    ``OSError`` is re-raised as :class:`OutputError` naming the target.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{target}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{target}: output folder {parent} is not writable")
    tmp = parent / f".{target.stem}.{uuid.uuid4().hex[:8]}.partial{target.suffix}"
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"{target}: the writer produced no file")
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"{target}: could not write output ({exc.strerror or exc})") from exc
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    # GDAL side-car files written beside a temporary raster
    for extra in path.parent.glob(path.name + ".*"):
        with contextlib.suppress(OSError):
            extra.unlink()
