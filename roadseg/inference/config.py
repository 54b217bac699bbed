"""The options and the report of the tiled predictor, apart from the predictor so that
reading them (``roadseg --help``, the extract job's config and cache) does not import torch."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from roadseg.inference.blending import DEFAULT_BLEND, BlendMode
from roadseg.raster.georef import GSD_TOLERANCE

#: Tiles per forward pass, and tile-row strips read ahead while the model runs, unless asked
#: otherwise (the engine's functions take their defaults from here too). 4, not 8: on a CPU
#: ONNX Runtime's memory arena and plans grow with the batch (a 10,500 px wide scene peaked at
#: 1.47 GB with 8, 1.08 GB with 4) at the same CPU time and identical outputs; on a GPU
#: give a larger --batch-size.
DEFAULT_BATCH_SIZE = 4
DEFAULT_PREFETCH = 2


@dataclass
class PredictConfig:
    """Options of the tiled predictor.

    Attributes:
        weights: checkpoint (``.safetensors``); ``None``: the installed default model.
        tile: tile side in pixels; ``None``: the checkpoint's training tile (224).
        overlap: overlap between neighbouring tiles in pixels (paper: 14).
        blend: ``mean`` (paper), ``linear``, ``cosine`` or ``spline`` (see
            :mod:`roadseg.inference.blending`).
        tta: average the 8 D4 symmetries of every tile (8x slower).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
        amp: ``auto`` (bf16, else fp16, on CUDA; off on CPU), ``bf16``, ``fp16`` or ``off``.
        channels_last: run convolutions in channels_last memory format.
        compile: wrap the model in ``torch.compile`` (worth it for large scenes).
        batch_size: tiles per forward call.
        prefetch: strips (tile rows) the reader thread reads ahead while the model runs.
        bands: 1-based input bands in model order (``"1,2,3"``); ``None``: all non-alpha bands.
        gsd_tolerance: resample when ``|scene GSD / model GSD - 1|`` exceeds this.
        progress: show a tqdm progress bar.
        gsd_m: pixel size (m) of a scene without CRS (see :func:`roadseg.raster.open_scene`).
        bbox: predict only the part of the scene inside ``(west, south, east, north)``
            (WGS 84 degrees; ``"W,S,E,N"``): the output is that window of the scene's grid,
            and only its blocks are read (see :func:`roadseg.raster.open_scene`).
        backend: ``auto`` (ONNX Runtime on the CPU, torch on CUDA) or a registered
            backend (:mod:`roadseg.inference.backends`: torch, onnxruntime, openvino).
        precision: ``fp32`` (exact); ``bf16`` (openvino) or ``int8`` (onnxruntime,
            shipped models), measured to keep quality (docs/backends.md).
        quality: ``fast``, ``default`` or ``best``: the models and TTA when no
            ``weights`` are given (:mod:`roadseg.inference.quality`).

    ``weights`` may name several models (a list, or comma-separated): an ensemble
    whose probabilities are averaged (:mod:`roadseg.inference.ensemble`); an
    ``.onnx`` file runs on an ONNX backend.
    """

    weights: str | os.PathLike[str] | list[str] | None = None
    tile: int | None = None
    overlap: int = 14
    blend: BlendMode | str = DEFAULT_BLEND
    tta: bool = False
    device: str = "auto"
    amp: bool | str = "auto"
    channels_last: bool = True
    compile: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    prefetch: int = DEFAULT_PREFETCH
    bands: tuple[int, ...] | str | None = None
    gsd_tolerance: float = GSD_TOLERANCE
    progress: bool = True
    gsd_m: float | None = None
    bbox: tuple[float, float, float, float] | str | None = None
    backend: str = "auto"
    precision: str = "fp32"
    quality: str = "default"

    def __post_init__(self) -> None:
        from roadseg.inference.backend_names import check_backend_options
        from roadseg.validate import check_number

        check_backend_options(self.backend, self.precision, self.quality)

        check_number("gsd_tolerance", self.gsd_tolerance, minimum=0.0)
        check_number("gsd", self.gsd_m, minimum=0.0, inclusive=False, optional=True)


@dataclass
class PredictResult:
    """What :func:`predict_scene` did.

    Attributes:
        out_path: the probability GeoTIFF.
        shape: ``(height, width)`` of the scene (and of the output).
        predicted_shape: ``(height, width)`` of the grid the model ran on
            (differs from ``shape`` when the scene was resampled).
        tiles: tiles in the grid; tiles_predicted: those sent to the model
            (tiles without any valid pixel are skipped).
        seconds: wall time of the whole call.
        scene_gsd_m / model_gsd_m: ground sample distances (scene: ``None`` without CRS).
        resampled: whether the scene was read at the model's GSD.
        device: where the model ran.
    """

    out_path: Path
    shape: tuple[int, int]
    predicted_shape: tuple[int, int]
    tiles: int
    tiles_predicted: int
    seconds: float
    scene_gsd_m: float | None
    model_gsd_m: float
    resampled: bool
    device: str
    tile: int
    overlap: int
    backend: str = "torch"

    @property
    def mpix_per_s(self) -> float:
        """Scene megapixels per second of wall time (the whole call)."""
        return self.shape[0] * self.shape[1] / 1e6 / max(self.seconds, 1e-9)
