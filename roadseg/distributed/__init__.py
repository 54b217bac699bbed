"""Many scenes on a Dask cluster: a re-export of :mod:`roadseg.pipeline.dask_runner`.

The runner lives beside the one-scene job it fans out (``roadseg.pipeline``);
this name is kept for code that imports ``roadseg.distributed``. Nothing in the
library imports this package.
"""

from roadseg.pipeline.dask_runner import (
    MultiSceneResult,
    SceneOutcome,
    run_scenes,
)

__all__ = [
    "MultiSceneResult",
    "SceneOutcome",
    "run_scenes",
]
