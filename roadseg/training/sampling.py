"""Random crops from whole tiles, with an option to skip no-imagery crops.

The paper draws 30,000 random 224×224 crops per epoch with no augmentation.
On Massachusetts tiles about half of the area is white no-imagery (labels run
on through it), so a uniform sampler spends much of its compute on crops with
nothing to see. :class:`CropSampler` redraws a crop whose invalid fraction is
above ``max_invalid_fraction`` (up to ``max_tries`` times, then keeps the last
draw so an all-white tile cannot stall an epoch).

Augmentation (optional): the dihedral group D4 (8 flips/rotations) and a colour
jitter ``x' = clip(a·(x − μ) + μ + b)`` with contrast ``a`` and brightness ``b``
drawn per crop; ``robust`` adds scale jitter, stronger colour, blur and noise
(:mod:`roadseg.training.augment`).

Reproducibility: :meth:`CropSampler.reseed` keys the generator by
``(seed, rank, batch index)``, so the trainer's batch ``b`` is the same crops
whichever process draws it and however often the run was resumed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch

import roadseg.training.augment as aug
from roadseg.errors import InputError
from roadseg.models.checkpoint import Normalisation
from roadseg.models.metaschema import DEFAULT_TILE
from roadseg.training.config import AUGMENTS
from roadseg.training.tiles import TrainingTile


@dataclass
class CropBatch:
    """A batch ready for the model: normalised images, targets and loss weights."""

    image: torch.Tensor  # (N, bands, s, s) float32, normalised
    target: torch.Tensor  # (N, 1, s, s) float32 in [0, 1]
    valid: torch.Tensor  # (N, 1, s, s) float32 in {0, 1}


class CropSampler:
    """Draws random square crops from tiles, weighting tiles by their area.

    Args:
        tiles: the training tiles (all at the training GSD).
        crop: crop side in pixels.
        max_invalid_fraction: redraw crops with more invalid (white) pixels than
            this; ``1.0`` disables the check (the paper's uniform sampling).
        augment: ``"none"``, ``"d4"``, ``"d4_colour"`` or ``"robust"``.
        seed: seed of the generator (reproducible epochs).
    """

    def __init__(
        self,
        tiles: Sequence[TrainingTile],
        crop: int = DEFAULT_TILE,
        max_invalid_fraction: float = 1.0,
        augment: str = "none",
        seed: int = 0,
        max_tries: int = 20,
    ) -> None:
        if not tiles:
            raise ValueError("CropSampler needs at least one tile")
        if augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {', '.join(AUGMENTS)}, got {augment!r}")
        small = [t.name for t in tiles if min(t.shape) < crop]
        if small:
            raise InputError(f"{', '.join(small)}: smaller than the {crop} px training crop")
        self.tiles = list(tiles)
        self.crop = crop
        self.max_invalid_fraction = max_invalid_fraction
        self.augment = augment
        self.max_tries = max_tries
        self.rng = np.random.default_rng(seed)
        areas = np.array([t.shape[0] * t.shape[1] for t in self.tiles], dtype=np.float64)
        self._p = areas / areas.sum()
        # summed-area tables make the invalid fraction of any crop O(1)
        self._invalid_sat = [_summed_area(~t.valid) for t in self.tiles]
        self._min_side = min(min(t.shape) for t in self.tiles)

    def state(self) -> dict:
        """The generator state, for resuming an interrupted run bit-exactly."""
        return cast(dict, self.rng.bit_generator.state)  # numpy returns a fresh dict

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def reseed(self, *key: int) -> None:
        """Restart the generator from ``key`` (e.g. seed, rank, batch index)."""
        self.rng = np.random.default_rng([int(k) for k in key])

    def _draw(self, side: int | None = None) -> tuple[int, int, int]:
        s = side or self.crop
        for _ in range(self.max_tries):
            k = int(self.rng.choice(len(self.tiles), p=self._p))
            h, w = self.tiles[k].shape
            r = int(self.rng.integers(0, h - s + 1))
            c = int(self.rng.integers(0, w - s + 1))
            sat = self._invalid_sat[k]
            invalid = sat[r + s, c + s] - sat[r, c + s] - sat[r + s, c] + sat[r, c]
            if invalid <= self.max_invalid_fraction * s * s:
                break
        return k, r, c

    def _augment(
        self, img: np.ndarray, lab: np.ndarray, val: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.augment == "none":
            return img, lab, val
        k = int(self.rng.integers(0, 4))
        flip = bool(self.rng.integers(0, 2))
        arrays = []
        for a in (img, lab, val):
            a = np.rot90(a, k, axes=(-2, -1))
            if flip:
                a = a[..., ::-1]
            arrays.append(a)
        img, lab, val = arrays
        if self.augment == "robust":
            img = aug.photometric(img, self.rng)
        elif self.augment == "d4_colour":
            contrast = self.rng.uniform(0.8, 1.2)
            bright = self.rng.uniform(-20, 20)
            f = img.astype(np.float32)
            mu = f.mean()
            img = np.clip(contrast * (f - mu) + mu + bright, 0, 255)
        return img, lab, val

    def batch(self, size: int, norm: Normalisation) -> CropBatch:
        """Draw ``size`` crops and return them as tensors."""
        s = self.crop
        images, labels, valids = [], [], []
        for _ in range(size):
            side = s
            if self.augment == "robust":
                side = min(round(s * aug.draw_scale(self.rng)), self._min_side)
            k, r, c = self._draw(side)
            t = self.tiles[k]
            img, lab, val = aug.resize_crop(
                t.image[:, r : r + side, c : c + side],
                t.label[r : r + side, c : c + side],
                t.valid[r : r + side, c : c + side],
                s,
            )
            img, lab, val = self._augment(img, lab, val)
            images.append(norm.apply(np.ascontiguousarray(img)))
            labels.append(np.ascontiguousarray(lab))
            valids.append(np.ascontiguousarray(val))
        return CropBatch(
            image=torch.from_numpy(np.stack(images)),
            target=torch.from_numpy(np.stack(labels)[:, None].astype(np.float32)),
            valid=torch.from_numpy(np.stack(valids)[:, None].astype(np.float32)),
        )

    def batches(self, n_batches: int, size: int, norm: Normalisation) -> Iterator[CropBatch]:
        for _ in range(n_batches):
            yield self.batch(size, norm)


def _summed_area(mask: np.ndarray) -> np.ndarray:
    sat = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    sat[1:, 1:] = np.cumsum(np.cumsum(mask, axis=0), axis=1)
    return sat
