"""Writing a :class:`RoadNetwork` in every requested format (all atomic).

The formats are the registry :mod:`roadseg.vector.formats` (one module each:
GeoJSON, GeoPackage, GeoParquet, GraphML, FlatGeobuf, OSM XML). ``-o``'s suffix names one
format; ``formats`` adds others, each written beside ``-o`` with its own suffix.
Every format carries the run's provenance (the network's metadata and the column
schema; see ``docs/outputs.md``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from roadseg.errors import InputError
from roadseg.vector.formats import ExportFormat, format_for_path, format_named, writable_suffixes
from roadseg.vector.network import RoadNetwork

log = logging.getLogger(__name__)


def export_targets(
    path: str | Path, formats: list[str] | None = None
) -> list[tuple[ExportFormat, Path]]:
    """``(format, file)`` pairs an export to ``path`` with ``formats`` writes (no I/O).

    ``path``'s suffix names the first format; ``formats`` (e.g. ``["gpkg"]``) adds
    others, each named ``path`` with that format's suffix. A ``path`` without a
    suffix writes ``formats`` alone.

    Raises:
        InputError: an unknown suffix or format name, or nothing to write.

    >>> [(f.name, p.name) for f, p in export_targets("ex.parquet", ["graphml"])]
    [('parquet', 'ex.parquet'), ('graphml', 'ex.graphml')]
    """
    path = Path(path)
    targets: list[tuple[ExportFormat, Path]] = []
    own = format_for_path(path)
    if own is not None:
        targets.append((own, path))
    elif path.suffix or not formats:
        raise InputError(
            f"{path}: unknown output extension {path.suffix!r}; use one of {writable_suffixes()}"
        )
    for name in formats or []:
        try:
            fmt = format_named(name)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        if all(fmt is not f for f, _ in targets):
            targets.append((fmt, path.with_suffix(fmt.suffix)))
    return targets


def export_paths(path: str | Path, formats: list[str] | None = None) -> list[Path]:
    """Every file :func:`export_network` creates, sibling files included."""
    return [p for fmt, target in export_targets(path, formats) for p in fmt.files(target)]


def export_network(
    network: RoadNetwork, path: str | Path, formats: list[str] | None = None
) -> list[Path]:
    """Write ``network`` to ``path`` (its suffix names the format) and to each of ``formats``.

    Returns the paths written.
    """
    written: list[Path] = []
    for fmt, target in export_targets(path, formats):
        written += fmt.write(network, target)
    return written
