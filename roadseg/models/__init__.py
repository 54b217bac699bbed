"""Road segmentation models, their registry and the checkpoint format.

The names below are imported from their modules on first use
(:func:`roadseg.lazy_exports`): the shipped models (:mod:`roadseg.models.shipped`) can be
named without importing torch.
"""

from typing import TYPE_CHECKING

from roadseg import lazy_exports

if TYPE_CHECKING:
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
    from roadseg.models.resunet_variants import (
        DepthResUNet,
        KerasResUNet,
        ResUnet2D,
        ResUNetMaxPool,
    )
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CheckpointError": "checkpoint",
        "CheckpointMeta": "checkpoint",
        "Normalisation": "checkpoint",
        "default_weights_path": "checkpoint",
        "load_checkpoint": "checkpoint",
        "resolve_weights": "checkpoint",
        "save_checkpoint": "checkpoint",
        "WIDTHS": "registry",
        "available_models": "registry",
        "build_model": "registry",
        "register_model": "registry",
        "ResUNet": "resunet",
        "DepthResUNet": "resunet_variants",
        "KerasResUNet": "resunet_variants",
        "ResUnet2D": "resunet_variants",
        "ResUNetMaxPool": "resunet_variants",
        "UNet": "unet",
    },
)
