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
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roadseg.configfile import apply_overrides, from_mapping, load_mapping, parse_assignments
from roadseg.errors import InputError
from roadseg.models.metaschema import DEFAULT_TILE

RECIPE_DIR = Path(__file__).resolve().parent.parent / "configs"
#: The recipe ``roadseg train`` uses when none is named (that of the shipped default model).
DEFAULT_RECIPE = "cpu_lite"


@dataclass
class TrainConfig:
    """Everything a training run needs. Lengths in metres, times in minutes."""

    # data (see roadseg.training.pairs): a prepared root, folder pairs and/or a tiles CSV
    data_root: str | None = None
    images_dir: str | list[str] | None = None  # a folder, or several (paired in order with masks_dir)
    masks_dir: str | list[str] | None = None
    tiles_csv: str | None = None  # columns image, mask, split (train | valid)
    tiles_root: str | None = None  # base of the CSV's relative paths (default: the CSV's folder)
    split: str = "train"
    valid_split: str = "valid"  # data_root split that validates (when present)
    holdout: list[str] = field(default_factory=list)  # training tiles moved to validation
    holdout_csv: str | None = None  # CSV with a 'tile' column, added to holdout
    exclude: list[str] = field(default_factory=list)  # tiles used for neither training nor validation
    exclude_csv: str | None = None  # CSV with a 'tile' column, added to exclude
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
    crop: int = DEFAULT_TILE
    loss: str = "bce_dice"  # mse | bce | dice | bce_dice
    augment: str = "none"  # none | d4 | d4_colour | robust (see roadseg.training.augment)
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
    channels_last: bool | None = None  # None: on CUDA only (see trainer)
    compile: bool = False  # torch.compile the model
    num_workers: int | None = None  # crop-drawing processes; None: 0 on CPU, up to 6 on CUDA
    prefetch_batches: int = 4  # batches each worker prepares ahead
    log_every: int = 50  # steps between reading the loss back from the device
    threads: int | None = None  # torch CPU threads
    plot: bool = True  # loss/metric PNG beside the log

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.crops_per_epoch // self.batch_size)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Refuse values training cannot run with, one line naming the field.

        Raises:
            InputError: a value of the wrong type, out of range, or a crop the
                model cannot take (its sides must be multiples of the model's
                ``down_factor``).
        """
        from roadseg.training.losses import LOSSES

        _choice("optimizer", self.optimizer, ("adamw", "sgd"))
        _choice("schedule", self.schedule, ("cosine", "step", "constant"))
        _choice("loss", self.loss, tuple(LOSSES))
        _choice("augment", self.augment, AUGMENTS)
        for name in ("gsd_m", "source_gsd_m", "gamma"):
            _number(name, getattr(self, name), low=0.0, low_open=True)
        for name in ("lr", "weight_decay"):
            _number(name, getattr(self, name), low=0.0)
        _number("momentum", self.momentum, low=0.0, high=1.0)
        _number("max_invalid_fraction", self.max_invalid_fraction, low=0.0, high=1.0)
        if self.time_budget_min is not None:
            _number("time_budget_min", self.time_budget_min, low=0.0, low_open=True)
        for name in ("epochs", "crops_per_epoch", "batch_size", "bands", "step_epochs",
                     "prefetch_batches", "log_every"):
            _integer(name, getattr(self, name), low=1)
        for name in ("warmup_steps", "val_every", "seed"):
            _integer(name, getattr(self, name), low=0)
        for name in ("num_workers", "max_tiles", "val_max_tiles", "threads"):
            if getattr(self, name) is not None:
                _integer(name, getattr(self, name), low=0 if name in ("num_workers", "val_max_tiles") else 1)
        _integer("crop", self.crop, low=8)
        if not isinstance(self.arch_args, dict):
            raise InputError(f"arch_args: expected a mapping, got {self.arch_args!r}")
        factor = _down_factor(self.architecture, self.bands, self.arch_args)
        if self.crop % factor:
            raise InputError(
                f"crop={self.crop}: must be a multiple of {factor} for this {self.architecture} "
                f"(e.g. {max(factor, self.crop // factor * factor)})"
            )


#: Names accepted by ``augment`` (see roadseg.training.augment).
AUGMENTS = ("none", "d4", "d4_colour", "robust")


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{name}={value!r}: expected one of {', '.join(allowed)}")


def _number(name: str, value: Any, low: float, high: float | None = None, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name}={value!r}: expected a finite number")
    if value < low or (low_open and value == low) or (high is not None and value > high):
        bound = f"> {low}" if low_open else f">= {low}"
        raise InputError(f"{name}={value!r}: must be {bound}" + (f" and <= {high}" if high is not None else ""))


def _integer(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name}={value!r}: expected a whole number")
    if value < low:
        raise InputError(f"{name}={value!r}: must be >= {low}")


def _down_factor(architecture: str, bands: int, arch_args: dict[str, Any]) -> int:
    """The model's ``down_factor``, from a model built on the meta device (nothing allocated)."""
    import torch

    from roadseg.models import build_model

    try:
        with torch.device("meta"):
            model = build_model(architecture, in_channels=bands, **arch_args)
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"architecture={architecture!r}, arch_args={arch_args!r}: {exc}") from exc
    return int(getattr(model, "down_factor", 1))


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
