"""Typed training configuration and the recipe files that fill it.

A recipe is a YAML file of :class:`TrainConfig` fields. The bundled recipes
live in ``roadseg/configs/``:

* ``paper``: Zhang et al. 2018 -- SGD (momentum 0.9) lr 1e-3, ×0.1 every 20
  epochs, 50 epochs of 30,000 random 224×224 crops, batch 8, MSE, no augmentation,
  1 m GSD, full width.
* ``modern``: AdamW lr 1e-3 (weight decay 1e-4), cosine schedule, BCE + soft
  Dice, D4 + colour augmentation, crops with over 50 % no-imagery redrawn.
* ``cpu_lite``: the recipe of the shipped default model -- ``modern`` at the
  ``lite`` width (16-32-64-128), trained at 2 m GSD under a CPU time budget.

Keys given on the command line override the file (``--set lr=3e-4``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadseg.configfile import apply_overrides, from_mapping, load_mapping, parse_assignments
from roadseg.errors import InputError

RECIPE_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass
class TrainConfig:
    """Everything a training run needs. Lengths in metres, times in minutes."""

    # data: either a prepared root (ROOT/<split>/sat|map, see roadseg.data) or two folders
    data_root: str | None = None
    images_dir: str | None = None
    masks_dir: str | None = None
    split: str = "train"
    holdout: list[str] = field(default_factory=list)  # tile names never trained on
    holdout_csv: str | None = None  # CSV with a 'tile' column, added to holdout
    max_tiles: int | None = None  # use only the first N training tiles (quick runs)
    source_gsd_m: float = 1.0  # pixel size of images without georeferencing
    gsd_m: float = 1.0  # training GSD
    bands: int = 3
    # model
    architecture: str = "resunet"
    arch_args: dict[str, Any] = field(default_factory=lambda: {"filters": "lite"})
    init_weights: str | None = None  # start from this checkpoint (fine-tuning); its architecture wins
    # recipe
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    schedule: str = "cosine"  # cosine | step | constant
    step_epochs: int = 20
    gamma: float = 0.1
    warmup_steps: int = 0
    epochs: int = 50
    crops_per_epoch: int = 30000
    batch_size: int = 8
    crop: int = 224
    loss: str = "bce_dice"  # mse | bce | dice | bce_dice
    augment: str = "none"  # none | d4 | d4_colour
    max_invalid_fraction: float = 1.0  # redraw crops with more no-imagery than this
    seed: int = 0
    # run
    out_dir: str = "runs/train"
    time_budget_min: float | None = None  # stop (and finish the schedule) after this wall time
    val_every: int = 1  # epochs between validations; 0: none
    val_max_tiles: int | None = None
    resume: bool = True
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU
    threads: int | None = None  # torch CPU threads
    plot: bool = True  # loss/metric PNG beside the log

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.crops_per_epoch // self.batch_size)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_recipe(name_or_path: str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Load a bundled recipe by name, or a YAML/TOML file by path, then apply ``overrides``.

    Values are converted to the fields' types (:mod:`roadseg.configfile`).

    Raises:
        InputError: the file is missing, or holds (or ``overrides`` give) a key that is
            not a TrainConfig field or a value that does not fit its field, named in one line.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        bundled = sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))
        raise InputError(f"{path}: recipe not found; bundled recipes: {', '.join(bundled)}")
    config = from_mapping(TrainConfig, load_mapping(path), source=str(path))
    return apply_overrides(config, overrides or {})


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["lr=3e-4", "arch_args={filters: lite}"]`` -> ``{"lr": "3e-4", ...}`` (YAML values;
    :func:`load_recipe` converts each to its field's type)."""
    return parse_assignments(items)
