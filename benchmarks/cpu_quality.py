"""Quality per CPU-second: break-even on the valid tiles of each CPU inference choice.

For each configuration (a model or an ensemble, a backend and precision, with or
without D4 TTA) every valid Massachusetts tile is predicted with the real tiled
predictor at the model's GSD, brought back to the label grid and quantised to
the 256 levels of a probability GeoTIFF, exactly as ``roadseg calibrate`` scores
a checkpoint (:func:`roadseg.training.trainer.validate`); the relaxed counts
(ρ = 3 px) are pooled over the tiles and the break-even point and its threshold
reported, with the prediction's wall time as MPix/s of 1 m imagery.

Reduced precision: ``int8`` is ONNX Runtime static quantisation (QDQ, per-channel
int8 weights, uint8 activations, MinMax) calibrated on crops of the same valid
tiles; ``ov_bf16`` is OpenVINO with the bf16 inference precision hint.

    PYTHONPATH=$PWD python benchmarks/cpu_quality.py --threads 2 \
        --json benchmarks/results/cpu_quality.json --calibrations roadseg/weights/calibrations.json

The machine's cores may be shared: compare MPix/s between rows of one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from roadseg.evaluation.pixel import breakeven, relaxed_counts
from roadseg.inference import PredictConfig, predict_array
from roadseg.inference.backends import BackendOptions, Runner, build_runner, load_source
from roadseg.inference.backends.onnx_graph import cached_onnx
from roadseg.inference.backends.onnxruntime_backend import session_options, session_runner
from roadseg.inference.ensemble import calibration_key, ensemble_runner
from roadseg.inference.tags import file_sha256
from roadseg.training.config import TrainConfig
from roadseg.training.pairs import split_pairs
from roadseg.training.trainer import load_validation_tiles

log = logging.getLogger("cpu_quality")
DEFAULT, LITE = "resunet_w32_massachusetts", "resunet_lite_massachusetts"

#: name -> (models, backend, precision, tta)
CONFIGS: dict[str, tuple[tuple[str, ...], str, str, bool]] = {
    "default": ((DEFAULT,), "onnxruntime", "fp32", False),
    "lite": ((LITE,), "onnxruntime", "fp32", False),
    "default_int8": ((DEFAULT,), "onnxruntime", "int8", False),
    "lite_int8": ((LITE,), "onnxruntime", "int8", False),
    "default_ov_bf16": ((DEFAULT,), "openvino", "bf16", False),
    "default+lite": ((DEFAULT, LITE), "onnxruntime", "fp32", False),
    "lite_tta": ((LITE,), "onnxruntime", "fp32", True),
    "default_tta": ((DEFAULT,), "onnxruntime", "fp32", True),
    "default+lite_tta": ((DEFAULT, LITE), "onnxruntime", "fp32", True),
}


def quantised_runner(
    weights: str, tiles: list[Any], threads: int, crops_per_tile: int = 2
) -> Runner:
    """ONNX Runtime static int8 (QDQ) of the exported graph, calibrated on crops of ``tiles``."""
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = load_source(weights)
    fp32 = cached_onnx(src)
    rng = np.random.default_rng(0)
    side = src.meta.tile
    crops = []
    for t in tiles:
        _, h, w = t.image.shape
        for _ in range(crops_per_tile):
            r, c = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            crops.append(t.image[None, :, r : r + side, c : c + side].astype(np.float32))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(crops)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.it, None)
            return None if x is None else {"image": x}

    tmp = Path(tempfile.mkdtemp(prefix="roadseg-int8-"))
    pre, out = tmp / "pre.onnx", tmp / "int8.onnx"
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    quantize_static(
        str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
    )  # fmt: skip
    _describe_int8(fp32, out, tiles)
    if SAVE_INT8:
        import shutil

        target = Path(SAVE_INT8) / f"{Path(str(src.weights_file)).stem}.int8.onnx"
        shutil.copyfile(out, target)
        log.info("wrote %s", target)
    sess = ort.InferenceSession(
        str(out), session_options(threads), providers=["CPUExecutionProvider"]
    )
    return Runner(
        "onnxruntime-int8", session_runner(sess, out), "probabilities", True, src.down_factor
    )


#: folder to keep the quantised graphs in (``--save-int8``)
SAVE_INT8: str | None = None


def _describe_int8(fp32: Path, out: Path, tiles: list[Any]) -> None:
    """The fp32 graph's roadseg metadata on the int8 graph, plus what it was calibrated on."""
    import onnx

    props = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
    props["roadseg_precision"] = "int8"
    props["roadseg_calibration"] = json.dumps(
        {"tiles": [t.name for t in tiles], "crops_per_tile": 2, "method": "MinMax, QDQ, "
         "per-channel int8 weights, uint8 activations", "by": "benchmarks/cpu_quality.py"}
    )  # fmt: skip
    model = onnx.load(str(out))
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(out))


def build(name: str, tiles: list[Any], threads: int) -> tuple[Runner, Any, list[str]]:
    models, backend, precision, _ = CONFIGS[name]
    sources = [load_source(m) for m in models]
    shas = [file_sha256(s.weights_file) for s in sources if s.weights_file is not None]
    if precision == "int8":
        return quantised_runner(models[0], tiles, threads), sources[0].meta, shas
    opts = BackendOptions(threads=threads, precision=precision)
    runners = [build_runner(backend, s, opts) for s in sources]
    if len(runners) == 1:
        return runners[0], sources[0].meta, shas
    return ensemble_runner(runners, sources), sources[0].meta, shas


def score(runner: Runner, meta: Any, tiles: list[Any], tta: bool) -> dict[str, Any]:
    """:func:`roadseg.training.trainer.validate`'s measurement, with any runner and TTA."""
    cfg = PredictConfig(device="cpu", tta=tta, progress=False)
    total, seconds, mpix = None, 0.0, 0.0
    for t in tiles:
        t0 = time.perf_counter()
        prob = predict_array(runner, meta, t.image, cfg)
        seconds += time.perf_counter() - t0
        mpix += t.label.size / 1e6
        if prob.shape != t.label.shape:
            prob = F.interpolate(
                torch.from_numpy(prob)[None, None],
                size=t.label.shape,
                mode="bilinear",
                align_corners=False,
            )[0, 0].numpy()
        prob8 = np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)
        counts = relaxed_counts(prob8, t.label, valid=t.valid, rho=3)
        total = counts if total is None else total + counts
    assert total is not None
    be = breakeven(total)
    return {
        "breakeven": float(be.breakeven),
        "threshold": float(be.breakeven_threshold),
        "seconds": seconds,
        "mpix_per_s": mpix / seconds,
        "tiles": [t.name for t in tiles],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", default="data_manifests/massachusetts_v2_tiles.csv")
    ap.add_argument("--root", default="/work/shared/data/massachusetts_roads")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tiles", type=int, default=None, help="first N valid tiles (smoke runs)")
    ap.add_argument(
        "--json", default=None, help="write the results here (updated after each config)"
    )
    ap.add_argument("--calibrations", default=None, help="record ensemble/TTA thresholds here")
    ap.add_argument("--save-int8", default=None, help="keep the int8 graphs in this folder")
    args = ap.parse_args()
    global SAVE_INT8
    SAVE_INT8 = args.save_int8
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(
        tiles_csv=args.csv, tiles_root=args.root, gsd_m=2.0, val_max_tiles=args.max_tiles
    )
    _, pairs = split_pairs(cfg)
    tiles = load_validation_tiles(pairs, cfg)
    log.info("%d valid tiles", len(tiles))
    results: dict[str, Any] = {}
    for name in args.configs:
        try:
            runner, meta, shas = build(name, tiles, args.threads)
        except Exception as exc:  # a backend missing here: say so, measure the rest
            log.warning("%s: not measured (%s)", name, exc)
            continue
        r = score(runner, meta, tiles, CONFIGS[name][3])
        r.update(models=list(CONFIGS[name][0]), backend=CONFIGS[name][1],
                 precision=CONFIGS[name][2], tta=CONFIGS[name][3], key=calibration_key(shas, CONFIGS[name][3]))  # fmt: skip
        results[name] = r
        log.info(
            "%-18s break-even %.4f at p=%.4f  %.3f MPix/s",
            name,
            r["breakeven"],
            r["threshold"],
            r["mpix_per_s"],
        )
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    if args.calibrations:
        write_calibrations(Path(args.calibrations), results)


def write_calibrations(path: Path, results: dict[str, Any]) -> None:
    """Thresholds of ensembles and TTA runs in fp32 (single models keep their checkpoint's)."""
    table = json.loads(path.read_text()) if path.is_file() else {}
    for r in results.values():
        if r["precision"] != "fp32" or (len(r["models"]) == 1 and not r["tta"]):
            continue
        table[r["key"]] = {
            "threshold": r["threshold"],
            "valid_relaxed_breakeven": r["breakeven"],
            "models": r["models"],
            "tta": r["tta"],
            "tiles": r["tiles"],
            "rho_px": 3,
            "white_excluded": True,
            "measured_by": "benchmarks/cpu_quality.py",
        }
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
