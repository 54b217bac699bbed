"""Which cache entries a running process uses, so that another run never removes them.

Two runs may share a cache folder (two ``extract`` runs on one scene into one
folder with different outputs or thresholds). Each process that uses entries
of a cache holds a *lease*: a small JSON file ``<cache>/.leases/<owner>.json``
listing the entry names it reads or writes, where ``<owner>`` is
``<host>-<pid>-<random>`` (see :func:`roadseg.atomic.owner_token`). Clearing a
cache removes only entries that no other live lease holds; a lease whose
process has ended on this machine is stale and ignored (and removed). Leases of
processes on another machine (a shared cache of a Dask cluster) cannot be
checked; they are honoured for :data:`FOREIGN_LEASE_S` after their last update.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from roadseg.atomic import atomic_path, owner_gone, owner_token

LEASES = ".leases"
#: how long a lease written on another machine is honoured after its last update (s)
FOREIGN_LEASE_S = 6 * 3600


class Lease:
    """This process's claim on entries of the cache folder ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.token = owner_token()
        self.names: set[str] = set()

    @property
    def file(self) -> Path:
        # the token looks like a temporary file's owner, so owner_gone() can read it
        return self.root / LEASES / f".lease.{self.token}.partial.json"

    def hold(self, *names: str) -> None:
        """Add entry names to the lease (written at once, before the entries are used)."""
        new = set(names) - self.names
        if not new:
            return
        self.names |= new
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.file) as tmp:
            tmp.write_text(json.dumps(sorted(self.names)))

    def release(self) -> None:
        """Drop the lease (the entries may then be cleared by anyone)."""
        self.names.clear()
        with contextlib.suppress(FileNotFoundError):
            self.file.unlink()
        with contextlib.suppress(OSError):
            self.file.parent.rmdir()  # only when no other lease is left


def held_by_others(root: str | os.PathLike[str], own: Lease | None = None) -> set[str]:
    """Entry names held by live leases other than ``own``; stale leases are removed."""
    folder = Path(root) / LEASES
    held: set[str] = set()
    try:
        files = list(folder.glob(".lease.*.json"))
    except OSError:
        return held
    for f in files:
        if own is not None and f == own.file:
            continue
        if owner_gone(f.name):
            with contextlib.suppress(OSError):
                f.unlink()
            continue
        if _foreign_and_old(f):
            continue
        try:
            held |= set(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue  # being replaced right now, or damaged: ignore
    return held


def _foreign_and_old(f: Path) -> bool:
    from roadseg.atomic import _host_tag

    if f".lease.{_host_tag()}-" in f.name:
        return False
    try:
        return time.time() - f.stat().st_mtime > FOREIGN_LEASE_S
    except OSError:
        return True


def remove_stale_leases(root: str | os.PathLike[str]) -> None:
    """Remove the leases of processes that have ended, and the lease folder when empty."""
    held_by_others(root)  # removes stale leases as it reads them
    with contextlib.suppress(OSError):
        (Path(root) / LEASES).rmdir()
