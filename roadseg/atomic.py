"""Atomic file writes: a temporary file beside the target, renamed on success.

An interrupted or failed write leaves no half-written output behind, and the
target is replaced in one step (``os.replace`` is atomic on POSIX within a file
system). The data is flushed to disk (``fsync``) before the rename and the
folder after it, so a power loss leaves either the old file or the new one.

Temporary names carry their owner: ``.<stem>.<host>-<pid>-<random>.partial<suffix>``.
A run killed with SIGKILL cannot remove its temporary files; the next run in the
same folder does (:func:`remove_stale_partials`), but only those whose owner
process is gone, so two runs at once never remove each other's files.
:class:`roadseg.staging.StagedOutputs` uses the same naming for a folder of
outputs published together.

:func:`seal` records a file's size and SHA-256 beside it and :func:`check_seal`
compares them, so a cache entry truncated or damaged after it was written is
detected instead of being read (see :mod:`roadseg.pipeline.cache`).

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
import errno
import hashlib
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

from roadseg.errors import OutputError
from roadseg.hashing import file_sha256

#: ``<host>-<pid>-<random>`` in the name of a temporary file or folder.
_OWNER = re.compile(r"\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{6}\.partial")


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def owner_token() -> str:
    """``<host>-<pid>-<random>``: names this process as the owner of a temporary file."""
    return f"{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    return True


def owner_gone(name: str) -> bool:
    """Whether the owner recorded in a temporary name has certainly ended (same host, no pid).

    Names without an owner, or from another host, are never considered abandoned.
    """
    m = _OWNER.search(name)
    if m is None or m["host"] != _host_tag():
        return False
    pid = int(m["pid"])
    return pid != os.getpid() and not pid_alive(pid)


def partial_name(target: Path) -> Path:
    """The temporary name of ``target`` for this process (same folder, same suffix)."""
    return target.parent / f".{target.stem}.{owner_token()}.partial{target.suffix}"


def remove_stale_partials(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files and folders in ``folder`` left by processes that ended
    (killed before they could clean up); returns what was removed."""
    removed: list[Path] = []
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.startswith(".")]
    except OSError:
        return removed
    for path in candidates:
        if ".partial" in path.name and owner_gone(path.name):
            _remove(path)
            removed.append(path)
    return removed


def fsync_path(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk; best effort on file systems without it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    if path.is_dir():
        for child in path.rglob("*"):
            if child.is_file():
                fsync_path(child)
    fsync_path(path)


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
    tmp = partial_name(parent / target.name)
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"{target}: the writer produced no file")
        fsync_tree(tmp)
        os.replace(tmp, target)
        fsync_path(parent)
    except OSError as exc:
        # a full disk often shows only as a driver's "read failed": look before freeing it
        full = None if isinstance(exc, OutputError) else no_space_left(parent, exc)
        _remove(tmp)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(
            f"{target}: could not write output ({full or exc.strerror or exc}); "
            "nothing was left behind"
        ) from exc
    except BaseException:
        _remove(tmp)
        raise


#: below this many free bytes a failed write is reported as a full disk
_FULL_BYTES = 1 << 20


def no_space_left(folder: str | os.PathLike[str], exc: BaseException | None = None) -> str | None:
    """``"no space left on the device of <folder>"`` when the write failed for that reason
    (``ENOSPC``, or less than 1 MiB free there), else ``None``."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"no space left on the device of {folder}"
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    free = st.f_bavail * st.f_frsize
    if free >= _FULL_BYTES:
        return None
    return f"no space left on the device of {folder}: {free // 1024} KiB free"


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


# ----------------------------------------------------------------------------- seals


def _seal_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def seal(path: str | os.PathLike[str]) -> Path:
    """Record ``path``'s size and SHA-256 in ``<path>.sha256`` (written atomically)."""
    path = Path(path)
    record = f"{file_sha256(path)} {path.stat().st_size}\n"
    target = _seal_path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(record)
    return target


def check_seal(path: str | os.PathLike[str]) -> str | None:
    """``None`` when ``path`` matches its seal, else why not (missing, truncated, changed)."""
    path = Path(path)
    record = _seal_path(path)
    try:
        digest, size = record.read_text().split()
        actual = path.stat().st_size
    except FileNotFoundError:
        return "no integrity record" if path.exists() else "missing"
    except (OSError, ValueError):
        return "unreadable integrity record"
    if actual != int(size):
        return f"size {actual} bytes, {size} recorded (truncated?)"
    if file_sha256(path) != digest:
        return "content differs from the SHA-256 recorded when it was written"
    return None


def remove_sealed(path: str | os.PathLike[str]) -> None:
    """Remove a file and its seal."""
    path = Path(path)
    for p in (path, _seal_path(path)):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
