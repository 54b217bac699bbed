"""Georeferenced road networks: vectorise a raster, merge across seams, export."""

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
