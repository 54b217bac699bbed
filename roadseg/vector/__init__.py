"""Georeferenced road networks: vectorise a raster, merge across seams, export.

The names below are imported from their modules on first use (:func:`roadseg.lazy_exports`).
"""

from typing import TYPE_CHECKING

from roadseg import lazy_exports

if TYPE_CHECKING:
    from roadseg.postprocess.config import ThresholdSpec
    from roadseg.vector.config import VectorizeConfig
    from roadseg.vector.export import export_network
    from roadseg.vector.merge import merge_networks
    from roadseg.vector.network import RoadNetwork, graph_to_network, pixel_to_map
    from roadseg.vector.vectorize import (
        clean_graph,
        skeleton_of_raster,
        vectorize_raster,
        write_mask_and_skeleton,
    )

__all__ = [
    "RoadNetwork",
    "ThresholdSpec",
    "VectorizeConfig",
    "clean_graph",
    "export_network",
    "graph_to_network",
    "merge_networks",
    "pixel_to_map",
    "skeleton_of_raster",
    "vectorize_raster",
    "write_mask_and_skeleton",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ThresholdSpec": "config",  # vector.config imports it from postprocess.config
        "VectorizeConfig": "config",
        "export_network": "export",
        "merge_networks": "merge",
        "RoadNetwork": "network",
        "graph_to_network": "network",
        "pixel_to_map": "network",
        "clean_graph": "vectorize",
        "skeleton_of_raster": "vectorize",
        "vectorize_raster": "vectorize",
        "write_mask_and_skeleton": "vectorize",
    },
)
