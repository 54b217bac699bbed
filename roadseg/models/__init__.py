"""Road segmentation models, their registry and the checkpoint format."""

from roadseg.models.checkpoint import (
    CheckpointError,
    CheckpointMeta,
    Normalisation,
    default_weights_path,
    load_checkpoint,
    save_checkpoint,
)
from roadseg.models.registry import WIDTHS, available_models, build_model, register_model
from roadseg.models.resunet import ResUNet

__all__ = [
    "WIDTHS",
    "CheckpointError",
    "CheckpointMeta",
    "Normalisation",
    "ResUNet",
    "available_models",
    "build_model",
    "default_weights_path",
    "load_checkpoint",
    "register_model",
    "save_checkpoint",
]
