"""Pick the best checkpoint of a run on validation tiles and store its calibrated threshold.

The validation tiles are chosen as for training (:mod:`roadseg.training.pairs`):
the ``valid`` split of a tiles CSV or prepared root, plus any ``holdout`` tiles;
``exclude`` tiles are never scored.

The break-even threshold of a model trained with BCE + Dice on roads (3-5 % of
pixels) sits far from 0.5 -- the CPU lite model's is near p = 0.02 -- so a fixed
0.5 would throw away most of the recall. :func:`calibrate` measures the held-out
relaxed break-even point (ρ = 3) of each candidate checkpoint with the real tiled
predictor, keeps the best, and writes it with ``meta.threshold`` set to its
break-even threshold and the measured figures in ``meta.metrics``; the pipeline
then thresholds at that level unless the user says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from roadseg.errors import InputError
from roadseg.evaluation.slack import DEFAULT_SLACK_M
from roadseg.models import load_checkpoint, save_checkpoint
from roadseg.training.config import TrainConfig
from roadseg.training.pairs import split_pairs
from roadseg.training.trainer import (
    load_validation_tiles,
    resolve_device,
    validate,
    validation_metrics,
)

log = logging.getLogger(__name__)


@dataclass
class CalibrationResult:
    best: Path
    out: Path
    scores: dict[str, dict[str, Any]]  # checkpoint name -> validate()'s result


def calibrate(
    checkpoints: Sequence[str | Path],
    config: TrainConfig,
    out: str | Path,
    device: str = "auto",
    slack_m: float = DEFAULT_SLACK_M,
    rho: int | None = None,
    exclude_white: bool = True,
) -> CalibrationResult:
    """Score ``checkpoints`` on the validation tiles named by ``config``; save the best to ``out``.

    ``config`` supplies the data (``tiles_csv``, ``images_dir``/``masks_dir`` or
    ``data_root``) and which tiles validate (the ``valid`` split, ``holdout``,
    ``exclude``); the checkpoints' own GSD is used. The metadata written
    (threshold, ρ, no-imagery handling, tiles) is that of the validation that
    chose the checkpoint.
    """
    if not checkpoints:
        raise InputError("calibrate: no checkpoints given")
    _, pairs = split_pairs(config)
    if not pairs:
        raise InputError(
            f"{config.tiles_csv or config.holdout_csv or config.data_root or 'calibrate'}: "
            "no validation tiles (a 'valid' split, or holdout tiles present in the data)"
        )
    dev = resolve_device(device)
    tiles = None
    scores: dict[str, dict[str, Any]] = {}
    best: tuple[Path, Any, Any, dict[str, Any]] | None = None
    for path in tqdm(list(map(Path, checkpoints)), desc="calibrate"):
        model, meta = load_checkpoint(path, dev)
        if tiles is None:
            config.gsd_m = meta.gsd_m
            tiles = load_validation_tiles(pairs, config)
        elif abs(meta.gsd_m - config.gsd_m) > 1e-9:
            raise InputError(f"{path}: trained at {meta.gsd_m} m, the others at {config.gsd_m} m")
        result = validate(
            model, meta, tiles, dev, slack_m=slack_m, rho=rho, exclude_white=exclude_white
        )
        scores[path.name] = result
        log.info("%s: validation break-even %.4f at p = %.4f", path.name, result["breakeven"], result["breakeven_threshold"])
        if best is None or result["breakeven"] > best[3]["breakeven"]:
            best = (path, model, meta, result)
    assert best is not None
    best_path, model, meta, result = best
    meta.threshold = result["breakeven_threshold"]
    meta.metrics = {**validation_metrics(result), "selected_from": sorted(scores)}
    save_checkpoint(out, model, meta)
    return CalibrationResult(best=best_path, out=Path(out), scores=scores)
