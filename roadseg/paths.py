"""Names of the files a run derives from its inputs (kept intermediates).

One place for these names, so that the checks made before a run (see
:mod:`roadseg.io_guard`) and the stages that write the files agree.

Scenes of one many-scene run that share a file name (``a/scene.tif`` and
``b/scene.tif``) must not share intermediates: :func:`scene_subfolders` gives
each such scene a subfolder of the intermediates folder named after its parent
folder (``work/a/scene.probability.tif``, ``work/b/scene.probability.tif``),
numbered when the parent names repeat too; scenes with a unique name keep the
plain ``work/scene.probability.tif``.

Example:
    >>> from pathlib import Path
    >>> scene_subfolders([Path("a/s.tif"), Path("b/s.tif"), Path("c/t.tif")])
    {'a/s.tif': 'a', 'b/s.tif': 'b'}
    >>> [p.name for p in intermediate_paths(Path("work"), Path("a/s.tif")).values()]
    ['s.probability.tif', 's.mask.tif', 's.skeleton.tif']
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

INTERMEDIATES = ("probability", "mask", "skeleton")


def intermediate_paths(
    folder: str | os.PathLike[str], scene: str | os.PathLike[str]
) -> dict[str, Path]:
    """Where the kept probability, mask and skeleton GeoTIFFs of ``scene`` go in ``folder``."""
    stem = Path(scene).stem
    return {kind: Path(folder) / f"{stem}.{kind}.tif" for kind in INTERMEDIATES}


def scene_subfolders(scenes: Sequence[str | os.PathLike[str]]) -> dict[str, str]:
    """``{scene: subfolder}`` for the scenes whose file name another scene of the run shares."""
    stems = Counter(Path(s).stem for s in scenes)
    out: dict[str, str] = {}
    taken: set[tuple[str, str]] = set()
    for s in scenes:
        stem = Path(s).stem
        if stems[stem] < 2:
            continue
        base = Path(s).resolve().parent.name or "root"
        name, k = base, 2
        while (stem, name) in taken:
            name, k = f"{base}-{k}", k + 1
        taken.add((stem, name))
        out[str(s)] = name
    return out


def intermediates_folder(
    folder: str | os.PathLike[str],
    scene: str | os.PathLike[str],
    scenes: Sequence[str | os.PathLike[str]],
) -> Path:
    """The folder the intermediates of ``scene`` go to, in a run over ``scenes``."""
    sub = scene_subfolders(scenes).get(str(scene))
    return Path(folder) / sub if sub else Path(folder)


def scene_config(config: Any, scene: str | os.PathLike[str], scenes: Sequence[Any]) -> Any:
    """``config`` (an ExtractConfig) for ``scene`` of a many-scene run: its intermediates go
    to the scene's own subfolder when another scene of the run has the same file name."""
    folder = config.output.keep_intermediates
    if not folder:
        return config
    own = intermediates_folder(folder, scene, scenes)
    if own == Path(folder):
        return config
    output = dataclasses.replace(config.output, keep_intermediates=str(own))
    return dataclasses.replace(config, output=output)
