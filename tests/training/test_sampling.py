"""Crop sampler: skips no-imagery crops when asked, is reproducible, augments labels with images."""

from __future__ import annotations

import numpy as np
import pytest

from roadseg.models import Normalisation
from roadseg.training.sampling import CropSampler
from roadseg.training.tiles import TrainingTile


def _tile(white_cols: int = 60) -> TrainingTile:
    image = np.full((3, 64, 64), 100, np.uint8)
    image[:, :, :white_cols] = 255
    valid = np.ones((64, 64), bool)
    valid[:, :white_cols] = False
    label = np.zeros((64, 64), np.float32)
    label[30:34, :] = 1.0
    return TrainingTile("t", image, label, valid)


def test_skip_white_crops():
    norm = Normalisation(scale=1.0, mean=[0, 0, 0], std=[1, 1, 1])
    tile = _tile(white_cols=40)
    skip = CropSampler([tile], crop=16, max_invalid_fraction=0.25, seed=1).batch(64, norm)
    uniform = CropSampler([tile], crop=16, max_invalid_fraction=1.0, seed=1).batch(64, norm)
    assert skip.valid.mean() > 0.75
    assert uniform.valid.mean() < skip.valid.mean()


def test_seed_reproducible_and_state_restores():
    norm = Normalisation()
    a = CropSampler([_tile()], crop=16, augment="d4_colour", seed=3)
    b = CropSampler([_tile()], crop=16, augment="d4_colour", seed=3)
    state = a.state()
    first = a.batch(4, norm)
    np.testing.assert_array_equal(first.image, b.batch(4, norm).image)
    a.set_state(state)
    np.testing.assert_array_equal(first.target, a.batch(4, norm).target)


def test_d4_keeps_image_and_label_aligned():
    tile = _tile(white_cols=0)
    tile.image[:, tile.label > 0] = 0  # the road is dark
    norm = Normalisation(scale=1.0, mean=[0, 0, 0], std=[1, 1, 1])
    batch = CropSampler([tile], crop=64, augment="d4", seed=0).batch(8, norm)
    dark = batch.image[:, 0] == 0
    assert (dark == (batch.target[:, 0] > 0)).all()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="augment"):
        CropSampler([_tile()], augment="mixup")
    with pytest.raises(ValueError, match="smaller than the 128 px"):
        CropSampler([_tile()], crop=128)
