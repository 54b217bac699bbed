"""The bundled sample scene: a real 1000×1000 m aerial crop with its road labels.

A crop of Massachusetts Roads tile 10528795_15 (held out from training), as an
RGB GeoTIFF at 1 m/px in EPSG:26986 with *derived* georeferencing, and its
{0, 255} road mask on the same grid. Origin, licence and caveats: SOURCES.md.

Example:
    >>> from roadseg.sample import sample_scene_path, sample_labels_path
    >>> sample_scene_path().name, sample_labels_path().name
    ('scene.tif', 'labels.tif')
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def sample_scene_path() -> Path:
    """The sample scene: 3-band uint8 RGB GeoTIFF, 1000×1000 px, 1 m/px, EPSG:26986."""
    return _HERE / "scene.tif"


def sample_labels_path() -> Path:
    """The sample's road labels: 1-band uint8 GeoTIFF (255 road, 0 background), same grid."""
    return _HERE / "labels.tif"


def sample_sources_path() -> Path:
    """SOURCES.md: origin, licence and the georeferencing caveat of the sample."""
    return _HERE / "SOURCES.md"


__all__ = ["sample_labels_path", "sample_scene_path", "sample_sources_path"]
