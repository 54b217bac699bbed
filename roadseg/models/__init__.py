"""Road segmentation models, their registry and the checkpoint format."""

from roadseg.models.checkpoint import (
    CheckpointError,
    CheckpointMeta,
    Normalisation,
    default_weights_path,
    load_checkpoint,
    resolve_weights,
    save_checkpoint,
)
from roadseg.models.registry import WIDTHS, available_models, build_model, register_model
from roadseg.models.resunet import ResUNet
from roadseg.models.resunet_variants import DepthResUNet, KerasResUNet, ResUnet2D, ResUNetMaxPool
from roadseg.models.unet import UNet

__all__ = [
    "WIDTHS",
    "CheckpointError",
    "CheckpointMeta",
    "DepthResUNet",
    "KerasResUNet",
    "Normalisation",
    "ResUNet",
    "ResUNetMaxPool",
    "ResUnet2D",
    "UNet",
    "available_models",
    "build_model",
    "default_weights_path",
    "resolve_weights",
    "load_checkpoint",
    "register_model",
    "save_checkpoint",
]
