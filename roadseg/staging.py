"""Outputs that appear together or not at all, and write errors named after the output.

:func:`roadseg.atomic.atomic_path` makes one file appear atomically; a job that
writes several files for one output (``roads.geojson`` with
``roads.nodes.geojson``, the evaluation report ...) writes them into a
:class:`StagedOutputs` folder beside the target and publishes them together.
The staging folder is named after its process (see :mod:`roadseg.atomic`), so two
runs writing beside each other never remove each other's; unusable output paths
are refused before a run starts by :func:`roadseg.io_guard.check_writable`.

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
from pathlib import Path

from roadseg.atomic import fsync_path, fsync_tree, owner_token, remove_stale_partials
from roadseg.errors import OutputError, RoadsegError


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
    The folder is named after this process (``.<stem>.<host>-<pid>-<random>.partial``):
    only this process removes it, or a later run once this process has ended.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        parent = self.out.parent if str(self.out.parent) else Path(".")
        self.dir = parent / f".{self.out.stem}.{owner_token()}.partial"
        try:
            self.dir.mkdir()
        except OSError as exc:
            raise wrap_os_error(exc, self.out) from exc

    def path(self, target: Path) -> Path:
        """Where to write ``target`` (a file in ``out``'s folder) until it is published."""
        return self.dir / Path(target).name

    def publish(self) -> list[Path]:
        """Move every staged file into place; returns the final paths."""
        final = []
        fsync_tree(self.dir)
        for path in sorted(self.dir.iterdir()):
            if path.name.startswith("."):
                continue  # a writer's own temporary file
            target = self.out.parent / path.name
            os.replace(path, target)
            final.append(target)
        fsync_path(self.out.parent if str(self.out.parent) else Path("."))
        remove_stale_partials(self.dir.parent)
        return final

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
