"""The on-disk tile layout the trainer reads, and the pairing of images with labels.

Layout (every dataset writer in :mod:`roadseg.data` produces it)::

    ROOT/<split>/sat/<tile>.<ext>     image (RGB), ext in tif | tiff | png | jpg | jpeg
    ROOT/<split>/map/<tile>.<ext>     label, 1 band, 0 = background, 255 = road
    ROOT/checksums.sha256             sha256 records, ``sha256sum`` format, paths relative to ROOT
    ROOT/provenance.json              where each file came from and how it is georeferenced

``split`` is one of ``train``, ``valid``, ``test`` (the Massachusetts Roads
directory names). A tile is an image and a label with the same stem.
Files whose names start with ``.`` (temporary files of atomic writes) and files
with other extensions (``.part`` downloads, ``.aux.xml`` side-cars, ``.corrupt``
quarantined downloads) are not tiles.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from roadseg.errors import InputError
from roadseg.raster.suffixes import TILE_SUFFIXES

log = logging.getLogger(__name__)

#: Split folder names, in the order of the official Massachusetts Roads split.
SPLITS: tuple[str, ...] = ("train", "valid", "test")
IMAGE_DIR = "sat"
LABEL_DIR = "map"
CHECKSUMS_NAME = "checksums.sha256"
PROVENANCE_NAME = "provenance.json"


@dataclass(frozen=True)
class TilePair:
    """One training tile: an image and its road label on the same pixel grid."""

    tile: str
    image: Path
    label: Path


def check_split(split: str) -> str:
    """Return ``split`` if it is a known split name, else raise :class:`InputError`."""
    if split not in SPLITS:
        raise InputError(f"{split}: unknown split; expected one of {', '.join(SPLITS)}")
    return split


def image_dir(root: str | os.PathLike[str], split: str) -> Path:
    """``ROOT/<split>/sat``."""
    return Path(root) / check_split(split) / IMAGE_DIR


def label_dir(root: str | os.PathLike[str], split: str) -> Path:
    """``ROOT/<split>/map``."""
    return Path(root) / check_split(split) / LABEL_DIR


def make_split_dirs(root: str | Path, split: str) -> tuple[Path, Path]:
    """Create (if needed) and return the image and label folders of ``split`` under ``root``."""
    from roadseg.errors import OutputError

    dirs = image_dir(root, split), label_dir(root, split)
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{d}: cannot create folder ({exc.strerror})") from exc
    return dirs


def is_raster_name(name: str) -> bool:
    """True for ``<stem>.tif|tiff|png|jpg|jpeg`` names that are not hidden temporary files."""
    return not name.startswith(".") and Path(name).suffix.lower() in TILE_SUFFIXES


def tile_files(folder: Path) -> dict[str, Path]:
    """Map tile name (file stem) -> raster file in ``folder``.

    Raises :class:`InputError` when one tile has two files (e.g. ``a.png`` and
    ``a.tif``), since it is then ambiguous which one to train on.
    """
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if not is_raster_name(path.name) or not (path.is_file() or path.is_symlink()):
            continue
        if path.stem in found:
            raise InputError(
                f"{folder}: tile {path.stem} has two files ({found[path.stem].name}, {path.name}); "
                "remove one"
            )
        found[path.stem] = path
    return found


def list_pairs(
    root: str | os.PathLike[str],
    split: str,
    *,
    exclude: Iterable[str] = (),
    strict: bool = True,
) -> list[TilePair]:
    """List the (image, label) pairs of one split under ``root``, sorted by tile name.

    Args:
        root: dataset root (see the module docstring for the layout).
        split: ``train``, ``valid`` or ``test``.
        exclude: tile names to leave out (e.g. the held-out tiles of
            ``data_manifests/massachusetts_holdout.csv``).
        strict: if True, an image without a label (or a label without an
            image) is an error; if False it is skipped with a warning.

    Raises:
        InputError: the split folder is missing or holds no pairs, a tile has
            two files, or (``strict``) a file has no partner.
    """
    img_dir, lab_dir = image_dir(root, split), label_dir(root, split)
    if not img_dir.is_dir():
        raise InputError(
            f"{img_dir}: no such folder; expected ROOT/{split}/{IMAGE_DIR}/<tile>.tif|png"
        )
    if not lab_dir.is_dir():
        raise InputError(
            f"{lab_dir}: no such folder; expected ROOT/{split}/{LABEL_DIR}/<tile>.tif|png"
        )
    images, labels = tile_files(img_dir), tile_files(lab_dir)
    unpaired = sorted(set(images) ^ set(labels))
    if unpaired:
        where = [str(images.get(t) or labels.get(t)) for t in unpaired[:5]]
        more = f" and {len(unpaired) - 5} more" if len(unpaired) > 5 else ""
        msg = f"{Path(root) / split}: {len(unpaired)} file(s) without a partner: {', '.join(where)}{more}"
        if strict:
            raise InputError(msg)
        log.warning("%s; skipped", msg)
    skip = set(exclude)
    pairs = [
        TilePair(tile, images[tile], labels[tile])
        for tile in sorted(set(images) & set(labels))
        if tile not in skip
    ]
    if not pairs:
        raise InputError(f"{Path(root) / split}: no image/label pairs found")
    return pairs
