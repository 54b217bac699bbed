"""Conflation against OpenStreetMap: the roads OSM lacks, the OSM roads the imagery does not support.

* :func:`roadseg.conflate.conflation.conflate` -- a network against an OSM file, in a local
  metric CRS (UTM of the data's centroid); returns a :class:`ConflateResult`;
* :class:`roadseg.conflate.config.ConflateConfig` -- the options and the default buffer
  (half a road width plus the registration error);
* :mod:`roadseg.conflate.match` -- near-and-parallel coverage on a shapely ``STRtree``;
* :mod:`roadseg.conflate.snap` -- ends within the buffer moved onto the OSM road;
* :mod:`roadseg.conflate.write` -- GeoJSON (EPSG:4326) / GeoPackage output;
* :mod:`roadseg.conflate.quicklook` -- the PNG;
* :mod:`roadseg.conflate.quality` -- recall/precision of deleted roads given back.

Nothing heavy is imported here (the ``roadseg conflate`` command starts quickly).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roadseg.conflate.config import ConflateConfig
    from roadseg.conflate.conflation import ConflateResult, conflate

__all__ = ["ConflateConfig", "ConflateResult", "conflate"]


def __getattr__(name: str) -> Any:
    if name == "ConflateConfig":
        from roadseg.conflate.config import ConflateConfig

        return ConflateConfig
    if name == "ConflateResult":
        from roadseg.conflate.conflation import ConflateResult

        return ConflateResult
    if name == "conflate":
        from roadseg.conflate.conflation import conflate

        return conflate
    raise AttributeError(name)
