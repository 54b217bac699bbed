"""Which image/label pairs a run trains on, which it validates on, which it never touches.

Tiles can come from:

* a prepared root (``data_root``): ``ROOT/<split>/sat|map`` for training and, when
  it exists, ``ROOT/<valid_split>`` for validation;
* one or more folder pairs (``images_dir``/``masks_dir``, each a folder or a list
  of folders, paired in order): every tile is a training tile;
* a CSV (``tiles_csv``) with columns ``image``, ``mask``, ``split`` (``train`` |
  ``valid``), paths relative to ``tiles_root`` (default: the CSV's folder).

Sources may be combined. Tiles named by ``holdout``/``holdout_csv`` move from
training to validation; tiles named by ``exclude``/``exclude_csv`` are used for
neither (e.g. the tiles of ``data_manifests/massachusetts_holdout.csv``, kept as
an untouched check). Images may be GeoTIFF, TIFF, PNG or JPEG.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from roadseg.errors import InputError
from roadseg.raster.suffixes import TILE_SUFFIXES
from roadseg.training.config import TrainConfig

TRAIN, VALID = "train", "valid"


@dataclass
class TilePairSpec:
    """One image/label pair and the role its source gives it (``train`` or ``valid``)."""

    tile: str
    image: Path
    label: Path
    split: str = TRAIN


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def read_tile_names(path: str | Path, what: str) -> set[str]:
    """The ``tile`` column of a CSV (holdout or exclude list).

    A relative path not found from the working folder is also tried from the
    checkout holding this package (the bundled recipes name ``data_manifests/...``).
    """
    path = Path(path)
    checkout = Path(__file__).resolve().parents[2] / path
    if not path.is_file() and not path.is_absolute() and checkout.is_file():
        path = checkout
    if not path.is_file():
        raise InputError(f"{path}: {what} CSV not found")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if "tile" not in (reader.fieldnames or []):
            raise InputError(f"{path}: {what} CSV needs a 'tile' column")
        return {row["tile"] for row in reader if row.get("tile")}


def holdout_names(config: TrainConfig) -> set[str]:
    """Tiles moved from training to validation."""
    names = set(config.holdout)
    if config.holdout_csv:
        names |= read_tile_names(config.holdout_csv, "holdout")
    return names


def exclude_names(config: TrainConfig) -> set[str]:
    """Tiles used neither for training nor for validation."""
    names = set(config.exclude)
    if config.exclude_csv:
        names |= read_tile_names(config.exclude_csv, "exclude")
    return names


def _folder_pairs(images: Path, masks: Path) -> list[TilePairSpec]:
    for d in (images, masks):
        if not d.is_dir():
            raise InputError(f"{d}: training data folder not found")
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in TILE_SUFFIXES}
    pairs = [
        TilePairSpec(p.stem, p, by_stem[p.stem])
        for p in sorted(images.iterdir())
        if p.suffix.lower() in TILE_SUFFIXES and p.stem in by_stem and not p.name.startswith(".")
    ]
    if not pairs:
        raise InputError(f"{images}: no images with a matching label in {masks}")
    return pairs


def csv_pairs(path: str | Path, root: str | Path | None = None) -> list[TilePairSpec]:
    """Pairs listed by a tiles CSV (columns image, mask, split; paths relative to ``root``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: tiles CSV not found")
    base = Path(root) if root else path.parent
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"image", "mask", "split"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}: tiles CSV lacks column(s) {', '.join(sorted(missing))}")
        rows = list(reader)
    pairs = []
    for line, row in enumerate(rows, start=2):
        split = (row["split"] or "").strip()
        if split not in (TRAIN, VALID):
            raise InputError(f"{path}:{line}: split must be train or valid, got {split!r}")
        image, label = base / row["image"], base / row["mask"]
        for f in (image, label):
            if not f.is_file():
                raise InputError(f"{path}:{line}: {f} not found")
        if image.suffix.lower() not in TILE_SUFFIXES:
            raise InputError(f"{path}:{line}: {image} is not one of {', '.join(TILE_SUFFIXES)}")
        pairs.append(TilePairSpec(image.stem, image, label, split))
    if not pairs:
        raise InputError(f"{path}: tiles CSV lists no tiles")
    return pairs


def find_pairs(config: TrainConfig) -> list[TilePairSpec]:
    """Every pair named by the config (all sources), sorted by tile name."""
    pairs: list[TilePairSpec] = []
    if config.data_root:
        from roadseg.data import list_pairs
        from roadseg.data.layout import image_dir

        pairs += [TilePairSpec(p.tile, Path(p.image), Path(p.label)) for p in list_pairs(config.data_root, config.split)]
        if config.valid_split != config.split and image_dir(config.data_root, config.valid_split).is_dir():
            pairs += [
                TilePairSpec(p.tile, Path(p.image), Path(p.label), VALID)
                for p in list_pairs(config.data_root, config.valid_split)
            ]
    images, masks = _as_list(config.images_dir), _as_list(config.masks_dir)
    if len(images) != len(masks):
        raise InputError(f"training data: {len(images)} image folder(s) but {len(masks)} mask folder(s)")
    for i, m in zip(images, masks):
        pairs += _folder_pairs(Path(i), Path(m))
    if config.tiles_csv:
        pairs += csv_pairs(config.tiles_csv, config.tiles_root)
    if not pairs:
        raise InputError("training data: give data_root, images_dir and masks_dir, or tiles_csv")
    seen: dict[str, Path] = {}
    for p in pairs:
        if p.tile in seen:
            raise InputError(f"{p.image}: tile {p.tile} is also {seen[p.tile]}; tile names must be unique")
        seen[p.tile] = p.image
    return sorted(pairs, key=lambda p: p.tile)


def split_pairs(config: TrainConfig) -> tuple[list[TilePairSpec], list[TilePairSpec]]:
    """``(train, validation)`` pairs: holdout tiles validate, excluded tiles are dropped."""
    pairs = find_pairs(config)
    holdout, exclude = holdout_names(config), exclude_names(config)
    kept = [p for p in pairs if p.tile not in exclude]
    train = [p for p in kept if p.split == TRAIN and p.tile not in holdout]
    val = [p for p in kept if p.split == VALID or p.tile in holdout]
    if config.max_tiles:
        train = train[: config.max_tiles]
    if config.val_max_tiles is not None:
        val = val[: config.val_max_tiles]
    return train, val
