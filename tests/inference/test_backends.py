"""Inference backends: each within 1/255 of torch, ONNX in and out, fallback, ensembles."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from roadseg.cli import build_parser
from roadseg.cli import main as cli_main
from roadseg.errors import InputError
from roadseg.inference.backends import (
    BackendOptions,
    ModelSource,
    backend_choices,
    build_runner,
    load_source,
    register_backend,
    resolve_backend,
)
from roadseg.inference.predictor import PredictConfig, predict_array, predict_scene
from roadseg.inference.quality import resolve_quality
from roadseg.models import CheckpointMeta, Normalisation, load_checkpoint, resolve_weights

LITE = "resunet_lite_massachusetts"
SAMPLE = Path(__file__).resolve().parents[2] / "roadseg" / "sample" / "scene.tif"
TILES = Path(__file__).resolve().parents[1] / "data" / "massachusetts" / "images"
HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
ONNX_BACKENDS = [
    "onnxruntime",
    pytest.param(
        "openvino", marks=pytest.mark.skipif(not HAS_OPENVINO, reason="openvino not installed")
    ),
]

pytestmark = pytest.mark.skipif(
    not resolve_weights(LITE).is_file(), reason="lite model not installed"
)


def read(path: Path) -> tuple[np.ndarray, dict[str, str]]:
    with rasterio.open(path) as d:
        return d.read(1).astype(np.int16), d.tags()


@pytest.fixture(scope="module")
def torch_sample(tmp_path_factory) -> np.ndarray:
    out = tmp_path_factory.mktemp("torch") / "p.tif"
    res = predict_scene(SAMPLE, out, PredictConfig(weights=LITE, backend="torch", progress=False))
    assert res.backend == "torch"
    return read(out)[0]


@pytest.mark.parametrize("backend", ONNX_BACKENDS)
def test_backend_within_one_level_of_torch_on_the_sample(tmp_path, torch_sample, backend):
    out = tmp_path / "p.tif"
    res = predict_scene(SAMPLE, out, PredictConfig(weights=LITE, backend=backend, progress=False))
    assert res.backend == backend
    prob, tags = read(out)
    assert np.abs(prob - torch_sample).max() <= 1
    assert tags["ROADSEG_MODEL"] == f"{LITE}.safetensors"


@pytest.mark.parametrize("backend", ONNX_BACKENDS)
def test_backend_within_one_level_of_torch_on_a_real_tile(backend):
    from PIL import Image

    image = np.array(Image.open(next(TILES.glob("*.png"))).convert("RGB")).transpose(2, 0, 1)
    net, meta = load_checkpoint(resolve_weights(LITE))
    cfg = PredictConfig(tile=64, overlap=8, progress=False)
    expected = predict_array(net, meta, image, cfg)
    runner = build_runner(backend, load_source(LITE), BackendOptions(threads=1))
    assert runner.name == backend and runner.normalised and runner.outputs == "probabilities"
    got = predict_array(runner, meta, image, cfg)
    assert np.abs(got - expected).max() <= 1 / 255


def test_auto_is_onnxruntime_on_cpu_and_torch_for_models_in_memory():
    cpu = torch.device("cpu")
    meta = CheckpointMeta("resunet", {"filters": [4, 8]})
    assert (
        resolve_backend(
            "auto", cpu, ModelSource(meta, net=torch.nn.Identity(), weights_file=Path("m"))
        )
        == "onnxruntime"
    )
    assert resolve_backend("auto", cpu, ModelSource(meta, net=torch.nn.Identity())) == "torch"
    assert (
        resolve_backend("auto", torch.device("cuda"), ModelSource(meta, onnx_file=Path("m.onnx")))
        == "onnxruntime"
    )
    with pytest.raises(InputError, match="backend must be one of auto, torch, onnxruntime"):
        PredictConfig(backend="tensorrt")


def test_cli_backend_choices_come_from_the_registry():
    p = build_parser()
    args = p.parse_args(["predict", "s.tif", "-o", "o.tif"])
    assert (args.backend, args.precision, args.quality) == ("auto", "fp32", "default")
    assert set(backend_choices()) >= {"auto", "torch", "onnxruntime", "openvino"}
    with pytest.raises(SystemExit):
        p.parse_args(["predict", "s.tif", "-o", "o.tif", "--backend", "nope"])
    args = p.parse_args(["extract", "s.tif", "-o", "o.geojson", "--backend", "torch"])
    assert args.backend == "torch" and args.quality is None


def test_a_failing_backend_falls_back_to_torch_with_one_warning(caplog):
    def broken(source, options):
        raise RuntimeError("session could not be created")

    register_backend("broken", broken)
    try:
        with caplog.at_level(logging.WARNING):
            runner = build_runner("broken", load_source(LITE), BackendOptions())
    finally:
        from roadseg.inference import backends

        backends._FACTORIES.pop("broken")
    assert runner.name == "torch"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "running on torch" in warnings[0].getMessage()


def test_intra_op_threads_follow_torch_threads():
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert BackendOptions().intra_op_threads() == 1
        assert BackendOptions(threads=3).intra_op_threads() == 3
    finally:
        torch.set_num_threads(n)


def test_export_then_predict_with_the_onnx_file(tmp_path, torch_sample):
    import onnx

    model = tmp_path / "lite.onnx"
    assert cli_main(["-q", "export", LITE, "-o", str(model)]) == 0
    props = {p.key: p.value for p in onnx.load(str(model)).metadata_props}
    assert json.loads(props["roadseg"])["architecture"] == "resunet"
    assert props["roadseg_input"] == "raw" and props["roadseg_output"] == "probabilities"
    out = tmp_path / "p.tif"
    assert (
        cli_main(
            ["-q", "predict", str(SAMPLE), "-o", str(out), "--weights", str(model), "--no-progress"]
        )
        == 0
    )
    prob, tags = read(out)
    assert np.abs(prob - torch_sample).max() <= 1
    assert tags["ROADSEG_MODEL"] == "lite.onnx" and "ROADSEG_THRESHOLD" in tags
    with pytest.raises(InputError, match="runs with --backend onnxruntime or openvino"):
        predict_scene(
            SAMPLE, tmp_path / "q.tif", PredictConfig(weights=str(model), backend="torch")
        )


class _Foreign(torch.nn.Module):
    """A road model roadseg did not make: two convolutions, logits out."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def test_foreign_onnx_needs_a_sidecar_then_matches_torch(tmp_path):
    net = _Foreign().eval()
    model = tmp_path / "foreign.onnx"
    axes = {0: "n", 2: "h", 3: "w"}
    torch.onnx.export(
        net, (torch.zeros(1, 3, 32, 32),), str(model), dynamo=False, opset_version=17,
        input_names=["x"], output_names=["y"], dynamic_axes={"x": axes, "y": axes},
    )  # fmt: skip
    cfg = PredictConfig(weights=str(model), progress=False, tile=64, overlap=8)
    with pytest.raises(
        InputError,
        match=r"foreign.onnx: ONNX model without roadseg metadata and no sidecar foreign.json giving bands, normalisation, gsd_m",
    ):
        predict_scene(SAMPLE, tmp_path / "p.tif", cfg)
    side = tmp_path / "foreign.json"
    side.write_text(json.dumps({"bands": 3, "gsd_m": 1.0}))
    with pytest.raises(InputError, match="lacks normalisation, output, threshold"):
        predict_scene(SAMPLE, tmp_path / "p.tif", cfg)
    norm = {"scale": 255.0, "mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3]}
    side.write_text(json.dumps({"bands": 3, "normalisation": norm, "gsd_m": 1.0, "output": "logits",
                                "threshold": 0.3, "down_factor": 1}))  # fmt: skip
    res = predict_scene(SAMPLE, tmp_path / "p.tif", cfg)
    assert res.backend == "onnxruntime"
    meta = CheckpointMeta("foreign", gsd_m=1.0, normalisation=Normalisation(**norm))
    ref_cfg = PredictConfig(progress=False, tile=64, overlap=8, backend="torch")
    predict_scene(SAMPLE, tmp_path / "ref.tif", ref_cfg, model=(net, meta))
    prob, tags = read(tmp_path / "p.tif")
    assert np.abs(prob - read(tmp_path / "ref.tif")[0]).max() <= 1
    assert tags["ROADSEG_THRESHOLD"] == "0.3"


def test_ensemble_names_every_model_and_has_no_uncalibrated_threshold(
    tmp_path, torch_sample, caplog
):
    out = tmp_path / "p.tif"
    with caplog.at_level(logging.WARNING):
        predict_scene(SAMPLE, out, PredictConfig(weights=[LITE, LITE], progress=False))
    prob, tags = read(out)
    # the mean of a model with itself is the model
    assert np.abs(prob - torch_sample).max() <= 1
    assert tags["ROADSEG_MODEL"] == f"{LITE}.safetensors+{LITE}.safetensors"
    assert len(tags["ROADSEG_MODEL_SHA256"].split(",")) == 2
    assert "ROADSEG_THRESHOLD" not in tags
    assert any(
        "no threshold was calibrated for the ensemble" in r.getMessage() for r in caplog.records
    )


def test_quality_levels():
    assert resolve_quality("default", "m.safetensors", False) == ("m.safetensors", False)
    assert resolve_quality("fast", None, False)[0] == LITE
    with pytest.raises(InputError, match="give --weights or --quality, not both"):
        resolve_quality("best", "m.safetensors", False)
    with pytest.raises(InputError, match="precision must be one of fp32"):
        PredictConfig(precision="fp8")


def test_shipped_ensemble_has_its_own_calibrated_threshold():
    from roadseg.inference.ensemble import calibrated_threshold
    from roadseg.inference.quality import QUALITY
    from roadseg.inference.tags import file_sha256

    shas = [file_sha256(resolve_weights(w)) for w in QUALITY["best"].weights or ()]
    both = calibrated_threshold(shas, tta=False)
    assert both is not None and both == calibrated_threshold(shas[::-1], tta=False)
    # not a member's level: the ensemble's own break-even on the valid tiles
    assert both not in {load_source(w).meta.threshold for w in QUALITY["best"].weights or ()}
    assert calibrated_threshold(shas[:1], tta=False) is None


@pytest.mark.skipif(
    not (resolve_weights(LITE).parent / f"{LITE}.int8.onnx").is_file(),
    reason="the lite model's int8 graph is not installed",
)
def test_int8_runs_the_shipped_calibrated_graph_and_says_so(tmp_path, torch_sample):
    out = tmp_path / "p.tif"
    predict_scene(SAMPLE, out, PredictConfig(weights=LITE, precision="int8", progress=False))
    prob, tags = read(out)
    assert tags["ROADSEG_PRECISION"] == "int8"
    # calibrated on real tiles: close to fp32 on average, not within one level everywhere
    assert np.abs(prob - torch_sample).mean() < 1.0
    if HAS_OPENVINO:
        with pytest.raises(InputError, match="openvino offers fp32, bf16"):
            build_runner("openvino", load_source(LITE), BackendOptions(precision="int8"))


def test_int8_is_refused_for_a_model_without_a_calibrated_graph(tmp_path):
    from roadseg.models import build_model, save_checkpoint

    ckpt = tmp_path / "m.safetensors"
    save_checkpoint(
        ckpt, build_model("resunet", filters=[4, 8]), CheckpointMeta("resunet", {"filters": [4, 8]})
    )
    with pytest.raises(InputError, match="no int8 graph was calibrated for this model"):
        build_runner("onnxruntime", load_source(ckpt), BackendOptions(precision="int8"))
