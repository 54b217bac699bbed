"""Tiled inference: blending windows, the streaming predictor, device/AMP/TTA."""

from roadseg.inference.blending import BlendMode, weight_window
from roadseg.inference.engine import RunStats, blend_tiles, run_tiles
from roadseg.inference.predictor import (
    PredictConfig,
    PredictResult,
    load_model,
    predict_array,
    predict_scene,
)

__all__ = [
    "BlendMode",
    "PredictConfig",
    "PredictResult",
    "RunStats",
    "blend_tiles",
    "load_model",
    "predict_array",
    "predict_scene",
    "run_tiles",
    "weight_window",
]
