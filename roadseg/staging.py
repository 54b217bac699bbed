"""Outputs that appear together or not at all, and the checks made before any work.

:func:`roadseg.atomic.atomic_path` makes one file appear atomically; a job that
writes several files for one output (``roads.geojson`` with
``roads.nodes.geojson``, the evaluation report ...) writes them into a
:class:`StagedOutputs` folder beside the target and publishes them together.
:func:`check_writable` refuses an unusable output path before a run starts.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with StagedOutputs(d / "roads.geojson") as staged:
    ...     _ = staged.path(d / "roads.geojson").write_text("{}")
    ...     [p.name for p in staged.publish()]
    ['roads.geojson']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from roadseg.errors import OutputError, RoadsegError


def check_writable(path: Path, what: str = "output") -> None:
    """Refuse an output whose folder is missing or read-only, or that is a folder."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: {what} path is a folder")
    if not parent.is_dir():
        raise OutputError(f"{path}: {what} folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: {what} folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: {what} exists and is not writable")


def wrap_os_error(exc: BaseException, target: Path) -> RoadsegError:
    """An operating-system error of a write as one line naming ``target``."""
    msg = getattr(exc, "strerror", None) or str(exc)
    return OutputError(f"{target}: could not write ({msg})")


def as_output_error(exc: OSError, out: Path) -> RoadsegError:
    """An error of a staged write, re-worded to name the real output."""
    if isinstance(exc, RoadsegError):
        reason = str(exc).split(": ", 1)[-1]
        return OutputError(f"{out}: {reason}")
    return wrap_os_error(exc, out)


class StagedOutputs:
    """Outputs written into a hidden folder beside ``out``, moved into place together.

    Use as a context manager: files are created under :meth:`path`; :meth:`publish`
    moves them next to ``out`` (``os.replace``, atomic per file, same file system);
    leaving the ``with`` block without publishing (an error) removes them all.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        parent = out.parent if str(out.parent) else Path(".")
        try:
            self.dir = Path(tempfile.mkdtemp(prefix=f".{out.stem}.", suffix=".partial", dir=parent))
        except OSError as exc:
            raise wrap_os_error(exc, out) from exc

    def path(self, target: Path) -> Path:
        """Where to write ``target`` (a file in ``out``'s folder) until it is published."""
        return self.dir / target.name

    def publish(self) -> list[Path]:
        final = []
        for path in sorted(self.dir.iterdir()):
            if path.name.startswith("."):
                continue  # a writer's own temporary file
            target = self.out.parent / path.name
            os.replace(path, target)
            final.append(target)
        self._remove_stale()
        return final

    def _remove_stale(self) -> None:
        """Staging folders of earlier runs to the same output that were killed (SIGKILL,
        power loss) before they could clean up; only ones older than this run's."""
        created = self.dir.stat().st_mtime
        for other in self.dir.parent.glob(f".{self.out.stem}.*.partial"):
            try:
                if other != self.dir and other.is_dir() and other.stat().st_mtime < created:
                    shutil.rmtree(other, ignore_errors=True)
            except OSError:
                continue

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
