"""Training: whole tiles in memory, random crops, losses, recipes and the trainer.

The names below are imported from their modules on first use
(:func:`roadseg.lazy_exports`): a recipe can be read without importing torch.
"""

from typing import TYPE_CHECKING

from roadseg import lazy_exports

if TYPE_CHECKING:
    from roadseg.training.config import TrainConfig, load_recipe, parse_overrides
    from roadseg.training.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "load_recipe", "parse_overrides", "train"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "TrainConfig": "config",
        "load_recipe": "config",
        "parse_overrides": "config",
        "TrainResult": "trainer",
        "train": "trainer",
    },
)
