"""Quicklook PNG: the extracted road network drawn over the imagery (and the labels, if any).

The picture is the scene read at a reduced size (its longer side at most
``MAX_SIDE`` pixels, averaged), dimmed so that the lines stand out; the
network's edges are drawn in ``NETWORK_COLOUR`` on top of the labels in
``LABEL_COLOUR`` (a label raster's road pixels, or vector/OSM label lines
clipped to the scene). Lines are at least ``LINE_PX`` pixels wide whatever
the reduction. The PNG keeps the scene's aspect and is written atomically.

Example (``network`` from :func:`roadseg.pipeline.extract.extract_scene`):
    >>> from roadseg.sample import sample_scene_path, sample_labels_path
    >>> write_quicklook(sample_scene_path(), network, "roads.png", labels=sample_labels_path())  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import rasterize
from scipy import ndimage

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.evaluation.overlay import to_rgb8
from roadseg.vector.network import RoadNetwork

NETWORK_COLOUR = (255, 220, 0)
LABEL_COLOUR = (40, 90, 255)
MAX_SIDE = 2048
LINE_PX = 3


def quicklook_shape(height: int, width: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The picture's size: the scene's, reduced by a whole factor to fit ``max_side``."""
    f = max(1, math.ceil(max(height, width) / max_side))
    return math.ceil(height / f), math.ceil(width / f)


def _lines_mask(geoms: Any, shape: tuple[int, int], transform: Affine) -> np.ndarray:
    shapes = [(g, 1) for g in geoms if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(shape, bool)
    mask = rasterize(shapes, out_shape=shape, transform=transform, all_touched=True, dtype="uint8")
    return ndimage.binary_dilation(mask > 0, iterations=max(0, (LINE_PX - 1) // 2))


def _network_mask(
    network: RoadNetwork, scene: Any, shape: tuple[int, int], transform: Affine
) -> np.ndarray:
    edges = network.edges
    if len(edges) == 0:
        return np.zeros(shape, bool)
    if network.crs is None:  # pixel coordinates of the scene
        transform = Affine.scale(scene.width / shape[1], scene.height / shape[0])
    elif scene.crs is not None and edges.crs is not None and edges.crs != scene.crs:
        edges = edges.to_crs(scene.crs)
    return _lines_mask(edges.geometry, shape, transform)


def _labels_mask(
    labels: Path, scene: Any, shape: tuple[int, int], transform: Affine, bbox: Any = None
) -> np.ndarray:
    from roadseg.osm.load import RoadLoadConfig, load_roads
    from roadseg.raster.scene import open_in_bbox
    from roadseg.raster.suffixes import is_raster_file

    if is_raster_file(labels):
        with open_in_bbox(labels, bbox) as lab:
            if (lab.height, lab.width) != (scene.height, scene.width):
                raise InputError(
                    f"{labels}: labels are {lab.height}x{lab.width}, the scene "
                    f"{scene.height}x{scene.width}"
                )
            return lab.read(1, out_shape=shape, resampling=Resampling.average) > 0
    if scene.crs is None:
        raise InputError(f"{labels}: vector labels need a georeferenced scene")
    b = scene.bounds
    from shapely.geometry import box

    lines = load_roads(
        labels, RoadLoadConfig(crs=scene.crs, clip=box(b.left, b.bottom, b.right, b.top))
    )
    return _lines_mask(lines.geometry, shape, transform)


def quicklook_rgb(
    scene_path: str | os.PathLike[str],
    network: RoadNetwork,
    labels: str | os.PathLike[str] | None = None,
    max_side: int = MAX_SIDE,
    bbox: Any = None,
) -> np.ndarray:
    """The quicklook as an ``h x w x 3`` uint8 array (see the module docstring); ``bbox``:
    only the scene's window inside it (:func:`roadseg.raster.scene.open_in_bbox`)."""
    from roadseg.raster.scene import open_in_bbox

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with open_in_bbox(scene_path, bbox) as scene:
            shape = quicklook_shape(scene.height, scene.width, max_side)
            bands = [1, 2, 3] if scene.count >= 3 else [1]
            image = scene.read(bands, out_shape=(len(bands), *shape), resampling=Resampling.average)
            transform = scene.transform @ Affine.scale(
                scene.width / shape[1], scene.height / shape[0]
            )
            rgb = (to_rgb8(image, shape).astype(np.float32) * 0.6).astype(np.uint8)
            if labels is not None:
                rgb[_labels_mask(Path(labels), scene, shape, transform, bbox)] = LABEL_COLOUR
            rgb[_network_mask(network, scene, shape, transform)] = NETWORK_COLOUR
    return rgb


def write_quicklook(
    scene_path: str | os.PathLike[str],
    network: RoadNetwork,
    out: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
    max_side: int = MAX_SIDE,
    bbox: Any = None,
) -> Path:
    """Write :func:`quicklook_rgb` as a PNG to ``out`` (atomically); returns ``out``."""
    from matplotlib.image import imsave

    rgb = quicklook_rgb(scene_path, network, labels, max_side, bbox)
    out = Path(out)
    with atomic_path(out) as tmp:
        imsave(tmp, rgb, format="png")
    return out
