"""Tiled inference: blending windows, the streaming predictor, device/AMP/TTA.

The names below are imported on first use (:func:`roadseg.lazy_exports`): importing
:class:`PredictConfig` does not import torch.
"""

from typing import TYPE_CHECKING

from roadseg import lazy_exports

if TYPE_CHECKING:
    from roadseg.inference.blending import BlendMode, weight_window
    from roadseg.inference.config import PredictConfig, PredictResult
    from roadseg.inference.engine import RunStats, blend_tiles, run_tiles
    from roadseg.inference.predictor import load_model, predict_array, predict_scene

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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BlendMode": "blending",
        "weight_window": "blending",
        "PredictConfig": "config",
        "RunStats": "engine",
        "blend_tiles": "engine",
        "run_tiles": "engine",
        "PredictResult": "config",
        "load_model": "predictor",
        "predict_array": "predictor",
        "predict_scene": "predictor",
    },
)
