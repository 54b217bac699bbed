"""Tiny generated training tiles and configs shared by the training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from roadseg.training import TrainConfig


def _write_png(path, array):
    count = 1 if array.ndim == 2 else array.shape[0]
    data = array[None] if array.ndim == 2 else array
    with rasterio.open(
        path,
        "w",
        driver="PNG",
        width=data.shape[2],
        height=data.shape[1],
        count=count,
        dtype="uint8",
    ) as dst:
        dst.write(data)


def write_road_tiles(tmp_path: Path) -> tuple[Path, Path]:
    """Three 96×96 tiles: grey ground, dark horizontal and vertical roads, a white corner."""
    rng = np.random.default_rng(0)
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for k in range(3):
        img = rng.integers(110, 150, size=(3, 96, 96)).astype(np.uint8)
        mask = np.zeros((96, 96), np.uint8)
        r, c = 20 + 15 * k, 60 - 10 * k
        mask[r : r + 5, :] = 255
        mask[:, c : c + 5] = 255
        img[:, mask > 0] = 40
        img[:, :16, :16] = 255  # no-imagery corner, labels would continue through it
        _write_png(images / f"t{k}.png", img)
        _write_png(masks / f"t{k}.png", mask)
    return images, masks


def tiny_config(images, masks, out, **kw) -> TrainConfig:
    base: dict[str, Any] = dict(
        images_dir=images if images is None or isinstance(images, list) else str(images),
        masks_dir=masks if masks is None or isinstance(masks, list) else str(masks),
        out_dir=str(out),
        arch_args={"filters": [4, 8, 16]},
        gsd_m=1.0,
        crop=32,
        batch_size=4,
        crops_per_epoch=24,
        epochs=2,
        lr=0.01,
        schedule="constant",
        loss="bce_dice",
        augment="d4",
        max_invalid_fraction=0.5,
        val_every=0,
        plot=False,
        threads=1,
    )
    base.update(kw)
    return TrainConfig(**base)
