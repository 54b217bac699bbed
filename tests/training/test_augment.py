"""The ``robust`` augmentation: shapes, determinism per seed, image and label stay aligned."""

from __future__ import annotations

import numpy as np
import pytest

from roadseg.training import augment as aug
from roadseg.training.sampling import CropSampler
from roadseg.training.tiles import TrainingTile
from roadseg.training.trainer import DEFAULT_NORMALISATION


def _tile(seed: int = 0) -> TrainingTile:
    """A 200 px tile: grey ground, a grid of 6 px dark roads, a white corner."""
    rng = np.random.default_rng(seed)
    img = rng.integers(140, 180, (3, 200, 200)).astype(np.uint8)
    lab = np.zeros((200, 200), np.float32)
    for k in range(15, 200, 45):
        lab[k : k + 6, :] = 1.0
        lab[:, k + 10 : k + 16] = 1.0
    img[:, lab > 0] = 40
    img[:, :30, :30] = 255
    return TrainingTile("g", img, lab, ~np.all(img == 255, axis=0))


def test_shapes_and_ranges():
    s = CropSampler([_tile()], crop=64, augment="robust", seed=0)
    b = s.batch(6, DEFAULT_NORMALISATION)
    assert b.image.shape == (6, 3, 64, 64) and b.target.shape == b.valid.shape == (6, 1, 64, 64)
    assert float(b.target.min()) >= 0.0 and float(b.target.max()) <= 1.0
    assert set(np.unique(b.valid.numpy())) <= {0.0, 1.0}


def test_same_seed_same_crops_other_seed_other_crops():
    def draw(seed):
        s = CropSampler([_tile()], crop=64, augment="robust", seed=0)
        s.reseed(seed, 0, 5)
        return s.batch(4, DEFAULT_NORMALISATION)

    a, b, c = draw(1), draw(1), draw(2)
    assert np.array_equal(a.image.numpy(), b.image.numpy()) and np.array_equal(a.target.numpy(), b.target.numpy())
    assert not np.array_equal(a.image.numpy(), c.image.numpy())


def test_scale_jitter_keeps_label_on_the_roads():
    """Whatever the zoom, colour, blur and noise, labelled road pixels are the dark ones of the crop."""
    s = CropSampler([_tile()], crop=64, augment="robust", seed=3)
    sides, checked = [], 0
    for i in range(40):
        s.reseed(0, 0, i)
        b = s.batch(1, DEFAULT_NORMALISATION)
        img = b.image[0].numpy().mean(axis=0)
        lab, val = b.target[0, 0].numpy(), b.valid[0, 0].numpy() > 0
        road, ground = (lab > 0.9) & val, (lab < 0.1) & val
        if road.sum() > 20 and ground.sum() > 20:
            assert img[road].mean() < img[ground].mean() - 0.5, i
            checked += 1
    assert checked >= 20
    # the zoom changes the road width: one 6 px road seen through crops of 48, 64 and 96 px
    for side in (48, 64, 96):
        lab = np.zeros((side, side), np.float32)
        lab[20:26] = 1.0
        img = np.where(lab > 0, 40, 160).astype(np.uint8)[None].repeat(3, 0)
        _, out, _ = aug.resize_crop(img, lab, np.ones((side, side), bool), 64)
        sides.append(float(out[:, 0].sum()))
    assert sides == pytest.approx([6 * 64 / 48, 6.0, 6 * 64 / 96], abs=0.05)


def test_resize_crop_matches_image_and_label_geometry():
    t = _tile()
    img, lab, val = aug.resize_crop(t.image[:, :128, :128], t.label[:128, :128], t.valid[:128, :128], 64)
    assert img.shape == (3, 64, 64) and lab.shape == val.shape == (64, 64)
    assert img.dtype == np.uint8 and val.dtype == bool
    # shrinking by 2 with area means: the road at rows 15..20 lands on rows 7..10
    assert lab[8, 40] == pytest.approx(1.0) and lab[15, 2] == pytest.approx(0.0)
    assert not val[:14, :14].any() and val[20:, 20:].all()


def test_photometric_changes_colour_but_stays_8_bit():
    rng = np.random.default_rng(0)
    img = _tile().image[:, :64, :64]
    out = aug.photometric(img, rng)
    assert out.shape == img.shape and out.min() >= 0 and out.max() <= 255
    assert not np.allclose(out, img)


def test_robust_trains(road_tiles, tmp_path):
    from roadseg.training import train
    from tests.training.helpers import tiny_config

    result = train(tiny_config(*road_tiles, tmp_path / "r", epochs=1, augment="robust"))
    assert result.steps_done == 6 and np.isfinite(result.history[0]["loss"])
