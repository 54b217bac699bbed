"""Checks on the paths of a command, made before any work starts.

Every command hands :func:`check_paths` all the files it will write (sidecars
such as ``roads.nodes.geojson`` and ``roads.evaluation.json`` included) and all
the files it will read. The run is refused, with one line naming both files,
when

* an output is the same file as an input (compared after resolving ``..`` and
  symbolic links, and by device and inode, so hard links count too);
* two outputs are the same file (the second write would destroy the first);
* an input is a FIFO, a socket or a device: reading one would block or never end;
* an output's folder does not exist or is read-only, or the output is a folder.

Nothing is created or touched by these checks; outputs that exist already are named in one
log line (a run into the same ``-o`` replaces them).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "scene.tif").write_bytes(b"x")
    >>> try:
    ...     check_paths([("-o", d / "scene.tif")], [("scene", d / "scene.tif")])
    ... except InputError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    the output (-o) would overwrite the input scene
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from roadseg.errors import InputError, OutputError, why_missing
from roadseg.uri import RemotePath, is_remote, scene_path

log = logging.getLogger(__name__)

#: (what, path) pairs: ``what`` names the option or role in messages; ``None`` paths are skipped.
Labelled = Iterable[tuple[str, "str | os.PathLike[str] | None"]]


def _identity(path: Path | RemotePath) -> tuple:
    """What makes two paths the same file: (device, inode) if it exists, else the resolved path;
    a remote input is its URL (as GDAL opens it: ``s3://b/k`` and ``/vsis3/b/k`` are one file)."""
    if isinstance(path, RemotePath):
        return ("url", path.gdal)
    try:
        st = path.stat()  # follows links
    except OSError:
        try:
            return ("path", str(path.resolve()))
        except (OSError, RuntimeError):  # a symbolic link loop (RuntimeError before 3.13)
            return ("path", os.path.abspath(path))
    return ("inode", st.st_dev, st.st_ino)


def _expand_inputs(inputs: Labelled) -> list[tuple[str, Path | RemotePath]]:
    """Inputs as paths (URLs as :class:`~roadseg.uri.RemotePath`); a folder also stands for
    the files directly inside it."""
    out: list[tuple[str, Path | RemotePath]] = []
    for what, p in inputs:
        if p is None:
            continue
        path = scene_path(p)
        out.append((what, path))
        if isinstance(path, RemotePath):
            continue
        if path.is_dir():
            try:
                out += [(what, f) for f in sorted(path.iterdir()) if f.is_file()]
            except OSError:
                continue
    return out


def check_not_special(path: str | os.PathLike[str], what: str = "input") -> None:
    """Refuse a FIFO, socket or device file as ``what`` (reading it could block forever)."""
    if is_remote(path):
        return
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        if path.is_symlink():  # a loop or a link to nothing: say so, not "not found" later
            raise InputError(f"{path}: the {what} {why_missing(path)}") from None
        return  # missing or unreadable: reported by the stage that opens it
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device file"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else None
    )
    if kind is not None:
        raise InputError(f"{path}: the {what} is {kind}, not a regular file")


def check_writable(path: str | os.PathLike[str], what: str = "output") -> None:
    """Refuse an output whose folder is missing or read-only, or that is a folder (or a URL:
    outputs are written locally, atomically; copy them to a bucket afterwards)."""
    if is_remote(path):
        raise OutputError(
            f"{path}: the {what} is a URL; outputs are written to local files (copy them "
            "to the bucket afterwards)"
        )
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: the {what} path is a folder")
    if not parent.is_dir():
        raise OutputError(f"{path}: the {what} folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the {what} folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: the {what} exists and is not writable")


def check_creatable_dir(path: str | os.PathLike[str], what: str = "folder") -> None:
    """Refuse a folder that neither exists writable nor can be created (creates nothing)."""
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"{path}: cannot create the {what}: {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        where = (
            "is not writable" if probe == path else f"cannot be created ({probe} is not writable)"
        )
        raise OutputError(f"{path}: the {what} {where}")


def check_paths(outputs: Labelled, inputs: Labelled, check_dirs: bool = True) -> None:
    """Refuse outputs that would overwrite an input or each other, and special-file inputs.

    Args:
        outputs: ``(what, path)`` for every file the command writes, sidecars included.
        inputs: ``(what, path)`` for every file (or folder of files) the command reads.
        check_dirs: also refuse outputs whose folder is missing or read-only.

    Raises:
        InputError: an output is an input, two outputs coincide, or an input is a FIFO/device.
        OutputError: an output cannot be written (``check_dirs``).
    """
    ins = _expand_inputs(inputs)
    for what, path in ins:
        check_not_special(path, what)
    in_ids: dict[tuple, tuple[str, Path | RemotePath]] = {}
    for what, path in ins:
        if path.is_file():
            in_ids.setdefault(_identity(path), (what, path))
    seen: dict[tuple, str] = {}
    for what, p in outputs:
        if p is None:
            continue
        if is_remote(p):
            check_writable(p, f"output ({what})")
        path = Path(p)
        ident = _identity(path)
        if ident in in_ids:
            in_what, in_path = in_ids[ident]
            same = "" if str(in_path) == str(path) else f" {in_path}"
            raise InputError(
                f"{path}: the output ({what}) would overwrite the input {in_what}{same}"
            )
        if ident in seen:
            raise InputError(f"{path}: written twice, as {seen[ident]} and as {what}")
        seen[ident] = what
        if check_dirs:
            check_writable(path, f"output ({what})")
    _log_replaced(p for _, p in outputs)


def _log_replaced(outputs: Iterable[str | os.PathLike[str] | None]) -> None:
    """Say which outputs already exist: a run into the same ``-o`` replaces them (each is
    replaced only once the new one is complete, so a failed run leaves them as they were)."""
    existing = [str(p) for p in outputs if p is not None and Path(p).is_file()]
    if existing:
        log.info("replacing the existing %s when the run completes", ", ".join(existing))
