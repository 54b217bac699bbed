"""Pick the best checkpoint of a run on held-out tiles and store its calibrated threshold.

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

from tqdm.auto import tqdm

from roadseg.errors import InputError
from roadseg.models import load_checkpoint, save_checkpoint
from roadseg.training.config import TrainConfig
from roadseg.training.trainer import (
    _holdout_names,
    find_pairs,
    load_validation_tiles,
    resolve_device,
    validate,
)

log = logging.getLogger(__name__)


@dataclass
class CalibrationResult:
    best: Path
    out: Path
    scores: dict[str, dict[str, float]]  # checkpoint name -> breakeven, breakeven_threshold


def calibrate(
    checkpoints: Sequence[str | Path],
    config: TrainConfig,
    out: str | Path,
    device: str = "auto",
) -> CalibrationResult:
    """Score ``checkpoints`` on the held-out tiles named by ``config``; save the best to ``out``.

    ``config`` supplies the data (``images_dir``/``masks_dir`` or ``data_root``) and
    the held-out tile names (``holdout``/``holdout_csv``); its ``gsd_m`` must match
    the checkpoints'.
    """
    if not checkpoints:
        raise InputError("calibrate: no checkpoints given")
    holdout = _holdout_names(config)
    pairs = [p for p in find_pairs(config) if p.tile in holdout]
    if not pairs:
        raise InputError(f"{config.holdout_csv or 'holdout'}: none of the held-out tiles is in the data")
    dev = resolve_device(device)
    tiles = None
    scores: dict[str, dict[str, float]] = {}
    best_path, best_score, best_state = None, -1.0, None
    for path in tqdm(list(map(Path, checkpoints)), desc="calibrate"):
        model, meta = load_checkpoint(path, dev)
        if tiles is None:
            config.gsd_m = meta.gsd_m
            tiles = load_validation_tiles(pairs, config)
        elif abs(meta.gsd_m - config.gsd_m) > 1e-9:
            raise InputError(f"{path}: trained at {meta.gsd_m} m, the others at {config.gsd_m} m")
        result = validate(model, meta, tiles, dev)
        scores[path.name] = result
        log.info("%s: held-out break-even %.4f at p = %.4f", path.name, result["breakeven"], result["breakeven_threshold"])
        if result["breakeven"] > best_score:
            best_path, best_score, best_state = path, result["breakeven"], (model, meta, result)
    assert best_path is not None and best_state is not None
    model, meta, result = best_state
    meta.threshold = result["breakeven_threshold"]
    meta.metrics = {
        "heldout_relaxed_breakeven": result["breakeven"],
        "heldout_breakeven_threshold": result["breakeven_threshold"],
        "heldout_tiles": [t.name for t in tiles or []],
        "rho_px": 3,
        "white_excluded": True,
        "selected_from": sorted(scores),
    }
    save_checkpoint(out, model, meta)
    return CalibrationResult(best=best_path, out=Path(out), scores=scores)
