"""Resumable intermediates, keyed by the input file and the parameters that made them.

Each stage's output is stored under a key that hashes (SHA-256, first 16 hex
digits) everything that determines it:

* the input's identity -- resolved path, size in bytes and modification time in
  nanoseconds (changing the file in place changes the key);
* the parameters of that stage *and of every stage before it* (the key of the
  previous stage is part of the next one), and the identity of the weights file.

An entry is written atomically (:func:`roadseg.atomic.atomic_path`), so an
entry that exists is complete; a run that was interrupted finds the entries of
the stages it finished and resumes after the last of them. Changing any
parameter of stage *k* changes the keys of stages *k, k+1, ...* only.

Ownership: the cache folder is roadseg's own. A folder it creates gets a
``CACHEDIR.TAG`` marker (the cache-directory tagging standard, so backup tools
skip it too); a folder that exists without the marker is used only if it is
empty or holds nothing but cache entries, and is refused otherwise (it is then
somebody's folder of data). Clearing removes only entries it wrote itself:
names of the form ``<scene>.<stage>-<16 hex digits>...`` that carry a seal
(below), and the names this run gave its own entries (its lease), never anything
found by a looser name pattern (issue 22, item 1).

Integrity and sharing (see :mod:`roadseg.atomic` and :mod:`roadseg.leases`):
each entry's size and SHA-256 are recorded beside it (``<entry>.sha256``) when it
is written; an entry that does not match is recomputed with a warning. Runs
that share the folder hold leases on the entries they use, and clearing
removes only entries no other live run holds.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> scene = root / "s.tif"; _ = scene.write_bytes(b"x")
    >>> k1 = stage_key("predict", file_identity(scene), {"tile": 224})
    >>> k1 == stage_key("predict", file_identity(scene), {"tile": 224})
    True
    >>> k1 == stage_key("predict", file_identity(scene), {"tile": 256})
    False
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from roadseg.atomic import check_seal, remove_stale_partials, seal
from roadseg.errors import InputError, OutputError
from roadseg.leases import LEASES, Lease, held_by_others
from roadseg.uri import RemotePath, gdal_name, scene_path

log = logging.getLogger(__name__)


def file_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What identifies an input file's content cheaply: resolved path, size and mtime (ns).

    A remote file (:mod:`roadseg.uri`) has no cheap size and mtime through GDAL: its
    identity is the URL and the raster's structure read from its header (grid, bands,
    types, blocks, overviews). A file replaced in place by one on the same grid keeps
    its key: use a fresh cache folder (or no ``--resume``) after such a change.
    """
    if isinstance(scene_path(path), RemotePath):
        return _remote_identity(path)
    path = Path(path).resolve()
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _remote_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    from roadseg.raster.io import open_raster

    with open_raster(gdal_name(path)) as ds:
        structure = {
            "shape": [ds.count, ds.height, ds.width],
            "dtypes": list(ds.dtypes),
            "crs": ds.crs.to_string() if ds.crs else None,
            "transform": list(ds.transform)[:6],
            "blocks": [list(b) for b in ds.block_shapes],
            "overviews": ds.overviews(1),
            "nodata": ds.nodata,
        }
    return {"url": os.fspath(scene_path(path)), "structure": structure}
#: the marker that makes a folder roadseg's cache (https://bford.info/cachedir/)
CACHE_TAG = "CACHEDIR.TAG"
_TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This folder is a cache of roadseg's resumable stage outputs; it can be removed.\n"
)
#: ``<scene>.<stage>-<key>...``: the name of every entry (and seal) the cache writes
_ENTRY = re.compile(r"^(?P<scene>.+)\.(?P<stage>[a-z_]+)-(?P<key>[0-9a-f]{16})(?P<rest>\..*)?$")


def _is_entry_name(name: str) -> bool:
    return _ENTRY.match(name) is not None


def _is_own_name(name: str) -> bool:
    """A name the cache itself may have put in its folder (entries, seals, marker, leases,
    temporary files of a write in progress)."""
    return (
        name in (CACHE_TAG, LEASES)
        or _is_entry_name(name)
        or (name.startswith(".") and ".partial" in name)
    )


def _within(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def check_cache_dir(
    root: str | os.PathLike[str], outputs: Iterable[str | os.PathLike[str] | None] = ()
) -> None:
    """Refuse a cache folder that is not roadseg's own, or that is (or is inside) an output.

    Creates nothing. A folder that does not exist yet, is empty, carries the
    :data:`CACHE_TAG` marker or holds only cache entries is accepted.

    Raises:
        InputError: the folder holds other files, or coincides with an output path.
        OutputError: the path is a file.
    """
    root = Path(root)
    resolved = root.resolve()
    for out in outputs:
        if out is not None and _within(resolved, Path(out).resolve()):
            raise InputError(
                f"{root}: the cache folder cannot be the output {out} or inside it; "
                "give --cache-dir a folder of its own"
            )
    if not root.exists():
        return
    if not root.is_dir():
        raise OutputError(f"{root}: the cache folder is a file")
    if (root / CACHE_TAG).is_file():
        return
    try:
        foreign = sorted(p.name for p in root.iterdir() if not _is_own_name(p.name))
    except OSError as exc:
        raise OutputError(f"{root}: cannot list the cache folder ({exc.strerror})") from exc
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise InputError(
            f"{root}: not a roadseg cache folder (it holds {shown}); the cache removes what it "
            f"writes, so it needs a folder of its own: give a new or empty folder, "
            f"e.g. --cache-dir {root / 'roadseg-cache'}"
        )


def claim_cache_dir(root: str | os.PathLike[str]) -> Path:
    """Create (if need be) and mark the cache folder ``root`` as roadseg's, after
    :func:`check_cache_dir` accepts it."""
    root = Path(root)
    check_cache_dir(root)
    root.mkdir(parents=True, exist_ok=True)
    tag = root / CACHE_TAG
    if not tag.exists():
        with contextlib.suppress(FileExistsError):  # another run claims it at the same moment
            with open(tag, "x", encoding="utf-8") as f:
                f.write(_TAG_TEXT)
    return root


def remove_cache_dir_if_empty(root: Path) -> None:
    """Remove the folder if nothing but the marker is left in it (other files keep it)."""
    try:
        rest = [p.name for p in root.iterdir() if p.name != CACHE_TAG]
    except OSError:
        return
    if rest:
        return
    with contextlib.suppress(OSError):
        (root / CACHE_TAG).unlink()
        root.rmdir()


def stage_key(*parts: Any) -> str:
    """A short stable hash of JSON-able ``parts`` (dict keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class StageCache:
    """A folder of stage outputs named ``<scene>.<stage>-<key><suffix>``.

    Args:
        root: the cache folder (created on first use).
        scene_name: a readable prefix (the scene's file stem) for the entries.
    """

    def __init__(self, root: str | os.PathLike[str], scene_name: str) -> None:
        self.root = Path(root)
        self.scene_name = scene_name
        self.lease = Lease(self.root)  # entries this run uses: other runs leave them alone

    def path(self, stage: str, key: str, suffix: str) -> Path:
        """Where the output of ``stage`` under ``key`` lives (whether or not it exists yet)."""
        p = self.root / f"{self.scene_name}.{stage}-{key}{suffix}"
        self.lease.hold(p.name)
        return p

    def lookup(self, stage: str, key: str, suffix: str) -> Path | None:
        """The complete, intact entry for ``stage``/``key``, or ``None`` (see :meth:`valid`)."""
        p = self.path(stage, key, suffix)
        return p if self.valid(p) else None

    @staticmethod
    def valid(entry: Path) -> bool:
        """Whether ``entry`` exists and matches the size/SHA-256 recorded when it was written;
        a damaged entry is reported (it is then recomputed and replaced)."""
        if not entry.exists():
            return False
        if entry.is_dir():  # an entry's name taken by a folder: recompute into its place
            log.warning("%s: cache entry is a folder; removing it and recomputing", entry)
            shutil.rmtree(entry, ignore_errors=True)
            return False
        problem = check_seal(entry)
        if problem is not None:
            log.warning("%s: cache entry not usable (%s); recomputing it", entry, problem)
            return False
        return True

    @staticmethod
    def seal(entry: Path) -> None:
        """Record a newly written entry's size and SHA-256 (call right after writing it)."""
        seal(entry)

    def ensure(self) -> Path:
        """Create and mark the folder (refused when it is not a cache, see :func:`check_cache_dir`)."""
        claim_cache_dir(self.root)
        remove_stale_partials(self.root)  # left by runs that were killed
        return self.root

    def entries(self) -> list[Path]:
        """Every entry of this scene that the cache wrote itself: an entry name with a seal
        beside it (and the seals); other files in the folder are never listed."""
        if not self.root.is_dir():
            return []
        mine = []
        for p in self.root.iterdir():
            m = _ENTRY.match(p.name)
            if m is not None and m["scene"] == self.scene_name and p.is_file():
                mine.append(p)
        sealed = {p.name.removesuffix(".sha256") for p in mine if p.name.endswith(".sha256")}
        # an entry, its seal, or a side-car a driver wrote beside it (GDAL's .aux.xml)
        return sorted(
            p
            for p in mine
            if p.name.removesuffix(".sha256") in sealed
            or any(p.name.startswith(e + ".") for e in sealed)
        )

    def remove_if_empty(self) -> None:
        """Remove the cache folder if nothing is in it (e.g. after a run that failed early)."""
        self.lease.release()
        remove_cache_dir_if_empty(self.root)

    def clear(self, keep: set[Path] | None = None) -> None:
        """Remove this scene's entries (all but ``keep`` and those another live run holds),
        and the folder when it is empty."""
        keep = {p.resolve() for p in keep or set()}
        # this run's own record of what it named (its lease), beside the sealed entries
        named = [self.root / f"{n}{s}" for n in self.lease.names for s in ("", ".sha256")]
        # release first: two runs clearing at once each see the other's lease gone or
        # still there, and at least the later one removes the entries they shared (checking
        # before releasing, each could see the other's lease and both would keep them)
        self.lease.release()
        others = held_by_others(self.root, self.lease)
        for p in sorted({*self.entries(), *named}):
            if p.resolve() in keep or p.name.removesuffix(".sha256") in others:
                continue
            p.unlink(missing_ok=True)
        remove_cache_dir_if_empty(self.root)  # kept when other scenes' entries or files remain


# ----------------------------------------------------------------------------- networks


def write_cached_network(cache: StageCache, key: str, network: Any) -> None:
    """Store a network as GeoParquet (edges, nodes) plus a JSON header, the JSON last."""
    from roadseg.atomic import atomic_path

    edges = cache.path("network", key, ".edges.parquet")
    nodes = cache.path("network", key, ".nodes.parquet")
    header = cache.path("network", key, ".json")
    cache.ensure()
    for gdf, target in ((network.edges, edges), (network.nodes, nodes)):
        with atomic_path(target) as tmp:
            gdf.to_parquet(tmp, index=False)
        cache.seal(target)
    head = {
        "crs": network.crs.to_wkt() if network.crs is not None else None,
        "gsd": network.gsd,
        "metadata": network.metadata,
    }
    with atomic_path(header) as tmp:
        tmp.write_text(json.dumps(head, default=str))
    cache.seal(header)


def read_cached_network(cache: StageCache, key: str) -> Any | None:
    """The network stored under ``key``, or ``None`` if there is no complete entry."""
    import geopandas as gpd
    import pyproj

    from roadseg.vector import RoadNetwork

    header = cache.lookup("network", key, ".json")
    edges = cache.lookup("network", key, ".edges.parquet")
    nodes = cache.lookup("network", key, ".nodes.parquet")
    if header is None or edges is None or nodes is None:
        return None
    head = json.loads(header.read_text())
    crs = pyproj.CRS.from_wkt(head["crs"]) if head["crs"] else None
    return RoadNetwork(
        gpd.read_parquet(edges), gpd.read_parquet(nodes), crs, float(head["gsd"]), head["metadata"]
    )
