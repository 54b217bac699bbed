"""What the probability raster says about itself, and the warning before a huge scene.

Tags written into every probability GeoTIFF (GDAL metadata, default domain;
``gdalinfo`` and ``rasterio``'s ``tags()`` show them)::

    ROADSEG_MODEL          file name of the checkpoint
    ROADSEG_MODEL_SHA256   its sha256 (hex)
    ROADSEG_ARCHITECTURE   e.g. "resunet"
    ROADSEG_MODEL_GSD_M    the model's ground sample distance in metres
    ROADSEG_THRESHOLD      the checkpoint's calibrated threshold (absent when it has none)
    ROADSEG_VALUE_SCALE    "p = v/255"

The two file tags are absent when the model was handed over already loaded.

Example:
    >>> from roadseg.models import CheckpointMeta
    >>> probability_tags(CheckpointMeta("resunet", {}, gsd_m=2.0, threshold=0.25), None)
    {'ROADSEG_ARCHITECTURE': 'resunet', 'ROADSEG_MODEL_GSD_M': '2.0', 'ROADSEG_VALUE_SCALE': 'p = v/255', 'ROADSEG_THRESHOLD': '0.25'}
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from roadseg.hashing import file_sha256
from roadseg.models import CheckpointMeta
from roadseg.raster.grid import TileGrid
from roadseg.raster.tags import THRESHOLD_TAG
from roadseg.sizeguard import WARN_TILES

log = logging.getLogger(__name__)

VALUE_SCALE = "p = v/255"
#: scenes with more tiles than this get a warning with an estimate of the time first
#: (one home with the other size limits: roadseg.sizeguard, ROADSEG_WARN_TILES)
HUGE_TILES = WARN_TILES


def probability_tags(meta: CheckpointMeta, weights: Path | None) -> dict[str, str]:
    """The ``ROADSEG_*`` tags for a probability raster predicted with ``meta`` (see above)."""
    tags: dict[str, str] = {}
    if weights is not None:
        tags["ROADSEG_MODEL"] = weights.name
        tags["ROADSEG_MODEL_SHA256"] = file_sha256(weights)
    tags["ROADSEG_ARCHITECTURE"] = str(meta.architecture)
    tags["ROADSEG_MODEL_GSD_M"] = repr(float(meta.gsd_m))
    tags["ROADSEG_VALUE_SCALE"] = VALUE_SCALE
    if meta.threshold is not None:
        tags[THRESHOLD_TAG] = repr(float(meta.threshold))
    return tags


def warn_if_huge(
    grid: TileGrid,
    forward: Any,
    batch_size: int,
    bands: int,
    device: torch.device,
    source: Any,
    limit: int | None = None,
) -> float | None:
    """Above ``limit`` (:data:`HUGE_TILES`) tiles, time a batch and warn with an estimate (s)."""
    if grid.n_tiles <= (HUGE_TILES if limit is None else limit):
        return None
    x = torch.zeros((batch_size, bands, grid.tile, grid.tile), device=device)
    with torch.inference_mode():
        forward(x)  # warm-up (allocations, cuDNN autotuning)
        t0 = time.perf_counter()
        forward(x)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        per_tile = (time.perf_counter() - t0) / batch_size
    estimate = per_tile * grid.n_tiles
    log.warning(
        "%s: %d tiles (%dx%d px on the model's grid); at %.3g s per tile measured here this "
        "takes about %.1f h (tiles without valid pixels are skipped and make it shorter)",
        source,
        grid.n_tiles,
        grid.width,
        grid.height,
        per_tile,
        estimate / 3600,
    )
    return estimate
