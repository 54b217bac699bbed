"""Many scenes on a Dask cluster, merged into one road network across scene borders."""

from roadseg.distributed.runner import (
    MultiSceneResult,
    SceneOutcome,
    drop_short_components,
    merge_scene_networks,
    run_scenes,
)

__all__ = [
    "MultiSceneResult",
    "SceneOutcome",
    "drop_short_components",
    "merge_scene_networks",
    "run_scenes",
]
