"""The export formats of a road network, each looked up by name in one registry.

Every module of this package that defines ``FORMAT`` (an :class:`ExportFormat`) is
a format: its name, the file suffixes it answers to (the first one is written),
the sibling files it writes (``<stem>.nodes<suffix>``), whether it can carry a
CRS, its writer and its reader (used by :mod:`roadseg.osm.load` to read road
lines back). Adding a format is one new module here plus its test; the command
line's ``--format`` choices and the ``-o`` suffix inference come from
:func:`format_names` and :func:`format_for_path`.

>>> format_names()
['fgb', 'geojson', 'gpkg', 'graphml', 'osm', 'parquet']
>>> format_for_path("roads.geoparquet").name
'parquet'
>>> format_named("GeoParquet").name
'parquet'
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path

from roadseg.errors import InputError
from roadseg.vector.formats.common import ExportFormat

__all__ = [
    "ExportFormat",
    "format_for_path",
    "format_named",
    "format_names",
    "formats",
    "readable_suffixes",
    "writable_suffixes",
]


@cache
def _registry() -> dict[str, ExportFormat]:
    found: dict[str, ExportFormat] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if isinstance(fmt, ExportFormat):
            found[fmt.name] = fmt
    return dict(sorted(found.items()))


def formats() -> list[ExportFormat]:
    """Every registered format, by name."""
    return list(_registry().values())


def format_names() -> list[str]:
    """The ``--format`` choices."""
    return list(_registry())


def format_named(name: str) -> ExportFormat:
    """The format called ``name`` (or one of its aliases, any case, a leading dot allowed).

    Raises:
        InputError: no such format.
    """
    key = name.lower().lstrip(".")
    for fmt in _registry().values():
        if key == fmt.name or key in fmt.aliases:
            return fmt
    raise InputError(f"unknown output format {name!r}; use one of {format_names()}")


def format_for_path(path: str | Path) -> ExportFormat | None:
    """The format ``path``'s suffix means, or None."""
    suffix = Path(path).suffix.lower()
    for fmt in _registry().values():
        if suffix in fmt.suffixes:
            return fmt
    return None


def writable_suffixes() -> list[str]:
    """Every suffix ``-o`` accepts."""
    return sorted(s for fmt in _registry().values() for s in fmt.suffixes)


def readable_suffixes() -> list[str]:
    """Every suffix a registered format can read road lines from."""
    return sorted(s for fmt in _registry().values() if fmt.read is not None for s in fmt.suffixes)
