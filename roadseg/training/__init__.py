"""Training: whole tiles in memory, random crops, losses, recipes and the trainer."""

from roadseg.training.config import TrainConfig, load_recipe, parse_overrides
from roadseg.training.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "load_recipe", "parse_overrides", "train"]
