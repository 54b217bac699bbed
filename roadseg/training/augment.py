"""Augmentations for robustness to other sensors and ground sample distances (``augment: robust``).

On top of the D4 flips/rotations of ``d4``:

* **scale jitter** around the model GSD: the crop is cut from a square of side
  ``crop * s`` (``s`` log-uniform in ``[1/SCALE_RANGE, SCALE_RANGE]``) and resized
  to ``crop`` -- the image by area averaging (bilinear when enlarging), the road
  label the same way (so it stays a soft coverage fraction aligned with the
  image), the validity mask by nearest neighbour;
* **colour**: per-band gain (white balance), contrast, brightness, saturation
  and gamma, drawn per crop;
* **blur**: a Gaussian of sigma in ``[0, BLUR_MAX_SIGMA]`` px with probability
  ``BLUR_P`` (a softer sensor or a resampled product);
* **noise**: Gaussian sensor noise of sigma in ``[0, NOISE_MAX]`` (8-bit levels).

Every draw comes from the sampler's generator, so a crop is a function of the
seed and its index.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

SCALE_RANGE = 1.4
BLUR_P = 0.3
BLUR_MAX_SIGMA = 1.5
NOISE_MAX = 8.0


def draw_scale(rng: np.random.Generator) -> float:
    """Zoom factor ``s``: the crop covers ``s`` times the ground of an unscaled crop."""
    return float(np.exp(rng.uniform(-np.log(SCALE_RANGE), np.log(SCALE_RANGE))))


def resize_crop(
    img: np.ndarray, lab: np.ndarray, val: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resize a square crop (image uint8 (b, s, s), label float, valid bool) to ``size``."""
    if img.shape[-1] == size:
        return img, lab, val
    shrink = img.shape[-1] > size
    mode = "area" if shrink else "bilinear"
    extra = {} if shrink else {"align_corners": False}
    stack = np.concatenate([img.astype(np.float32), lab[None].astype(np.float32)])
    out = F.interpolate(torch.from_numpy(stack)[None], size=(size, size), mode=mode, **extra)[0].numpy()
    v = F.interpolate(torch.from_numpy(val[None, None].astype(np.float32)), size=(size, size), mode="nearest")
    image = np.clip(np.rint(out[:-1]), 0, 255).astype(np.uint8)
    return image, np.clip(out[-1], 0.0, 1.0), v[0, 0].numpy() > 0.5


def _gaussian_blur(f: np.ndarray, sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(2.5 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    t = torch.from_numpy(np.ascontiguousarray(f))[:, None]  # (bands, 1, H, W)
    t = F.pad(t, (radius, radius, radius, radius), mode="reflect")
    kt = torch.from_numpy(k)
    t = F.conv2d(t, kt.view(1, 1, 1, -1))
    t = F.conv2d(t, kt.view(1, 1, -1, 1))
    return t[:, 0].numpy()


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strong colour jitter, blur and noise on a (bands, H, W) uint8 crop; returns float32 in [0, 255]."""
    f = img.astype(np.float32)
    bands = f.shape[0]
    gain = rng.uniform(0.85, 1.15, size=(bands, 1, 1)).astype(np.float32)
    contrast = rng.uniform(0.6, 1.4)
    bright = rng.uniform(-35, 35)
    saturation = rng.uniform(0.5, 1.5)
    gamma = float(np.exp(rng.uniform(-0.3, 0.3)))
    f = f * gain
    mu = f.mean()
    f = contrast * (f - mu) + mu + bright
    grey = f.mean(axis=0, keepdims=True)
    f = grey + saturation * (f - grey)
    f = 255.0 * (np.clip(f, 0, 255) / 255.0) ** gamma
    if rng.uniform() < BLUR_P:
        f = _gaussian_blur(f, rng.uniform(0.3, BLUR_MAX_SIGMA))
    sigma = rng.uniform(0.0, NOISE_MAX)
    f = f + rng.normal(0.0, sigma, size=f.shape).astype(np.float32)
    return np.clip(f, 0, 255).astype(np.float32)
