"""Probability/mask raster → skeleton → pixel-space road graph, cleaned in metres.

Stages (each callable alone): :func:`threshold_mask` / :func:`cleanup_mask`,
:func:`skeletonize_blocks`, :func:`skeleton_to_graph`, and the graph cleaners
:func:`prune_spurs`, :func:`bridge_gaps`, :func:`drop_short_components`,
:func:`simplify_edges`. Georeferencing and export live in :mod:`roadseg.vector`.

The names below are imported from their modules on first use (:func:`roadseg.lazy_exports`).
"""

from typing import TYPE_CHECKING

from roadseg import lazy_exports

if TYPE_CHECKING:
    from roadseg.postprocess.clean import (
        bridge_gaps,
        dissolve_degree2,
        drop_short_components,
        merge_close_junctions,
        prune_spurs,
        simplify_edges,
    )
    from roadseg.postprocess.config import ThresholdSpec
    from roadseg.postprocess.graph import skeleton_to_graph
    from roadseg.postprocess.skeleton import (
        ArrayReader,
        BlockParams,
        SkeletonPixels,
        skeletonize_blocks,
    )
    from roadseg.postprocess.threshold import cleanup_mask, resolve_threshold, threshold_mask

__all__ = [
    "ArrayReader",
    "BlockParams",
    "SkeletonPixels",
    "ThresholdSpec",
    "bridge_gaps",
    "cleanup_mask",
    "dissolve_degree2",
    "drop_short_components",
    "merge_close_junctions",
    "prune_spurs",
    "resolve_threshold",
    "simplify_edges",
    "skeleton_to_graph",
    "skeletonize_blocks",
    "threshold_mask",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "bridge_gaps": "clean",
        "dissolve_degree2": "clean",
        "drop_short_components": "clean",
        "merge_close_junctions": "clean",
        "prune_spurs": "clean",
        "simplify_edges": "clean",
        "ThresholdSpec": "config",
        "skeleton_to_graph": "graph",
        "ArrayReader": "skeleton",
        "BlockParams": "skeleton",
        "SkeletonPixels": "skeleton",
        "skeletonize_blocks": "skeleton",
        "cleanup_mask": "threshold",
        "resolve_threshold": "threshold",
        "threshold_mask": "threshold",
    },
)
