"""The threshold of a run, chosen once and carried typed to vectorisation and evaluation.

Order (the first that exists wins):

1. the user's value (``--threshold``, a config file's ``threshold``);
2. the level stored with the probabilities: ``predict`` writes the model's
   calibrated threshold into the probability GeoTIFF's tag ``ROADSEG_THRESHOLD``;
3. the calibrated level in the model's checkpoint (``extract``, which has the model);
4. :data:`DEFAULT_THRESHOLD` (0.5), with a warning.

A stored or calibrated level is the model's, so both report ``origin="model"``;
``source`` says where it was read.

Example:
    >>> print(choose_threshold(None, stored=None, calibrated=0.133).describe())
    0.133 (model: the checkpoint's calibrated level)
    >>> choose_threshold("otsu", stored=0.2).origin
    'config'
    >>> choose_threshold(None, stored=0.2, calibrated=0.133).level
    0.2
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import warnings
from dataclasses import dataclass
from typing import Literal

from roadseg.postprocess.config import DEFAULT_THRESHOLD, ThresholdSpec
from roadseg.raster.suffixes import is_raster_file
from roadseg.raster.tags import THRESHOLD_TAG

log = logging.getLogger(__name__)

Origin = Literal["config", "model", "default"]

@dataclass(frozen=True)
class ChosenThreshold:
    """The threshold a run uses, where it came from (``origin``) and was read (``source``)."""

    spec: ThresholdSpec
    origin: Origin
    source: str
    used_level: float | None = None  # otsu/hysteresis: the (low) level vectorisation used

    @property
    def level(self) -> float | None:
        """The probability level of a fixed threshold (``None`` for otsu/hysteresis)."""
        return self.spec.value if self.spec.kind == "fixed" else None

    def applied(self, used_level: float | None) -> ChosenThreshold:
        """This threshold with the level vectorisation resolved it to (otsu, hysteresis)."""
        if self.level is not None or used_level is None:
            return self
        return dataclasses.replace(self, used_level=float(used_level))

    def evaluation_level(self) -> float:
        """The level the relaxed/strict metrics use: the level the network was cut at
        (fixed, or as otsu/hysteresis resolved it), else the default."""
        if self.level is not None:
            return self.level
        return DEFAULT_THRESHOLD if self.used_level is None else self.used_level

    def describe(self) -> str:
        return f"{self.spec} ({self.origin}: {self.source})"


def choose_threshold(
    user: str | float | ThresholdSpec | None,
    stored: float | None = None,
    calibrated: float | None = None,
    what: str = "",
) -> ChosenThreshold:
    """The threshold to use (see the module docstring); ``what`` names the input in the warning."""
    if user is not None:
        return ChosenThreshold(ThresholdSpec.parse(user), "config", "given")
    if stored is not None:
        return ChosenThreshold(
            ThresholdSpec.parse(stored), "model", f"the probability raster's {THRESHOLD_TAG}"
        )
    if calibrated is not None:
        return ChosenThreshold(
            ThresholdSpec.parse(float(calibrated)), "model", "the checkpoint's calibrated level"
        )
    log.warning(
        "%sno threshold given, stored or calibrated: using %g",
        f"{what}: " if what else "",
        DEFAULT_THRESHOLD,
    )
    return ChosenThreshold(ThresholdSpec.parse(DEFAULT_THRESHOLD), "default", "the default")


def stored_threshold(raster: str | os.PathLike[str]) -> float | None:
    """The level in ``raster``'s :data:`THRESHOLD_TAG`, or ``None`` (absent, unreadable, not a
    probability)."""
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    from roadseg.raster.io import open_raster

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with open_raster(raster) as ds:
                text = ds.tags().get(THRESHOLD_TAG)
    except RasterioIOError:
        return None  # the stage that reads the raster reports it, with its own words
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        log.warning("%s: ignoring %s=%r (not a number)", raster, THRESHOLD_TAG, text)
        return None
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        log.warning("%s: ignoring %s=%r (not in [0, 1])", raster, THRESHOLD_TAG, text)
        return None
    return value


def shared_stored_threshold(rasters: list[str | os.PathLike[str]]) -> float | None:
    """The level stored in every one of ``rasters`` (``None`` if none has one).

    Raises:
        InputError: the rasters store different levels (pooled metrics need one).
    """
    from roadseg.errors import InputError

    levels = {v for v in (stored_threshold(r) for r in rasters) if v is not None}
    if len(levels) > 1:
        raise InputError(
            f"{os.fspath(rasters[0])}: the probability rasters store different thresholds "
            f"({', '.join(f'{v:g}' for v in sorted(levels))}); give one with --threshold"
        )
    return levels.pop() if levels else None


def threshold_of_rasters(
    user: str | float | ThresholdSpec | None, rasters: list[str | os.PathLike[str]]
) -> ChosenThreshold:
    """The threshold for ``rasters`` without a model at hand (``vectorize``, ``evaluate``):
    the user's, else the level they store, else the default with a warning."""
    if user is not None:
        return choose_threshold(user)
    rasters = [r for r in rasters if is_raster_file(r)]
    if not rasters:  # networks only: no level to choose, none to warn about
        return ChosenThreshold(ThresholdSpec.parse(DEFAULT_THRESHOLD), "default", "no raster")
    return choose_threshold(None, shared_stored_threshold(rasters), what=os.fspath(rasters[0]))
