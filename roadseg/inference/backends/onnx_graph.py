"""ONNX graphs of roadseg models: exported from a checkpoint, cached, or read from a file.

Export (:func:`export_onnx`): the checkpoint's model with its input normalisation
in front and the sigmoid behind, so the graph maps raw band values
``(N, C, h, w)`` float32 (0..255 for 8-bit imagery) to road probabilities
``(N, 1, h, w)`` -- whoever deploys it elsewhere needs nothing but the graph.
The legacy TorchScript exporter at opset 17 (dynamic batch, height and width).
The checkpoint's metadata rides along in the model's ``metadata_props``:

    roadseg          the checkpoint's metadata JSON (:class:`CheckpointMeta`)
    roadseg_sha256   SHA-256 of the checkpoint it was exported from
    roadseg_input    "raw"  (normalisation folded in)
    roadseg_output   "probabilities"

Cache (:func:`cached_onnx`): by the checkpoint's SHA-256 in the user's cache
folder (``$ROADSEG_CACHE_DIR``, else ``$XDG_CACHE_HOME/roadseg``, else
``~/.cache/roadseg``), under ``onnx/<sha256>-opset17-v1.onnx``. Not shipped
beside the safetensors: the package folder is often read-only, user checkpoints
live anywhere, and the graph depends on the exporter's version (the key names
the opset and this module's format version) -- exporting once per machine
(about 5 s for the default model) costs less than doubling the wheel.

A foreign ONNX model (no ``roadseg`` metadata) runs when a sidecar JSON beside
it (``model.onnx`` -> ``model.json``) states what roadseg cannot guess::

    {"bands": 3, "normalisation": {"scale": 255, "mean": [0.5, 0.5, 0.5],
     "std": [0.25, 0.25, 0.25]}, "gsd_m": 1.0, "output": "logits", "threshold": 0.5}

(``bands``: a count or a list of band names; ``threshold``: a probability or
``null``; optional ``tile``, default 224, and ``down_factor``, default 32).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.inference.backends.base import ModelSource
from roadseg.models import CheckpointMeta, Normalisation

log = logging.getLogger(__name__)

OPSET = 17
#: bump when the exported graph changes (invalidates cached graphs)
FORMAT = 1
SIDECAR_KEYS = ("bands", "normalisation", "gsd_m", "output", "threshold")


class _Deployable(torch.nn.Module):
    """``sigmoid(net((x / scale - mean) / std))`` as one module (folded to ``x·a + b``)."""

    def __init__(self, net: torch.nn.Module, norm: Normalisation, sigmoid: bool = True) -> None:
        super().__init__()
        std = torch.tensor(norm.std, dtype=torch.float64)
        a = 1.0 / (float(norm.scale) * std)
        b = -torch.tensor(norm.mean, dtype=torch.float64) / std
        self.net = net
        self.register_buffer("a", a.float().view(1, -1, 1, 1))
        self.register_buffer("b", b.float().view(1, -1, 1, 1))
        self.sigmoid = sigmoid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.a, self.b
        assert isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
        y = self.net(x * a + b)
        return torch.sigmoid(y) if self.sigmoid else y


def cache_dir() -> Path:
    """The user cache folder for exported graphs (see the module docstring)."""
    root = os.environ.get("ROADSEG_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "roadseg"


def export_onnx(
    net: torch.nn.Module,
    meta: CheckpointMeta,
    out: str | os.PathLike[str],
    sha256: str | None = None,
    tile: int | None = None,
) -> Path:
    """Write ``net`` (normalisation and sigmoid folded in) as ONNX to ``out``, atomically."""
    import onnx

    out = Path(out)
    if any(t.device.type != "cpu" for t in net.state_dict().values()):
        import copy

        net = copy.deepcopy(net).to("cpu")  # the caller's model stays where it is
    model = _Deployable(net, meta.normalisation).eval()
    side = int(tile or meta.tile)
    x = torch.zeros((1, meta.in_bands, side, side), dtype=torch.float32)
    axes = {0: "batch", 2: "height", 3: "width"}
    with atomic_path(out) as tmp, warnings.catch_warnings():
        # the legacy exporter's deprecation notice and the models' shape-check trace notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x,),
            str(tmp),
            dynamo=False,
            opset_version=OPSET,
            input_names=["image"],
            output_names=["probability"],
            dynamic_axes={"image": axes, "probability": axes},
        )
        graph = onnx.load(str(tmp))
        props = {
            "roadseg": meta.to_json(),
            "roadseg_input": "raw",
            "roadseg_output": "probabilities",
            "roadseg_format": str(FORMAT),
        }
        if sha256:
            props["roadseg_sha256"] = sha256
        onnx.helper.set_model_props(graph, props)
        onnx.save(graph, str(tmp))
    return out


def cached_onnx(source: ModelSource) -> Path:
    """The exported graph of ``source`` from the cache, exported there first if missing."""
    from roadseg.inference.tags import file_sha256

    if source.onnx_file is not None:
        return source.onnx_file
    if source.net is None:
        raise InputError(f"{source.name}: no model to export")
    # a model handed over in memory: keyed by its weights and metadata instead of a file
    sha = file_sha256(source.weights_file) if source.weights_file else _model_sha256(source)
    path = cache_dir() / "onnx" / f"{sha}-opset{OPSET}-v{FORMAT}.onnx"
    if not path.is_file():
        log.info("%s: exporting the ONNX graph once to %s", source.name, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(source.net, source.meta, path, sha256=sha)
    return path


def _model_sha256(source: ModelSource) -> str:
    import hashlib

    assert source.net is not None
    h = hashlib.sha256(source.meta.to_json().encode())
    for k, v in source.net.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()


def read_onnx_source(path: Path) -> ModelSource:
    """A ``.onnx`` file as a model: its roadseg metadata, or its sidecar JSON.

    Raises:
        InputError: unreadable file, or a foreign model without a usable sidecar
            (one line saying what is missing).
    """
    import onnx

    if not path.is_file():
        raise InputError(f"{path}: ONNX model file not found")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others
        raise InputError(f"{path}: not a readable ONNX model ({exc})") from None
    props = {p.key: p.value for p in model.metadata_props}
    if "roadseg" in props:
        meta = CheckpointMeta.from_json(props["roadseg"], source=str(path))
        return ModelSource(
            meta=meta,
            weights_file=path,
            onnx_file=path,
            onnx_normalised=props.get("roadseg_input") == "raw",
            onnx_outputs=props.get("roadseg_output", "probabilities"),
            down_factor=_down_factor(meta),
        )
    return _foreign_source(path)


def _down_factor(meta: CheckpointMeta) -> int:
    """The size divisor of a roadseg architecture, built on the meta device (nothing allocated)."""
    from roadseg.models import build_model

    args = {k: v for k, v in meta.arch_args.items() if k != "in_channels"}
    try:
        with torch.device("meta"):
            net = build_model(meta.architecture, in_channels=meta.in_bands, **args)
        return int(getattr(net, "down_factor", 1))
    except (ValueError, TypeError, KeyError, InputError):
        return 1


def sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _foreign_source(path: Path) -> ModelSource:
    side = sidecar_path(path)
    need = "bands, normalisation, gsd_m, output (logits|probabilities) and threshold"
    if not side.is_file():
        raise InputError(
            f"{path}: ONNX model without roadseg metadata and no sidecar {side.name} giving {need}"
        )
    try:
        raw = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{side}: unreadable sidecar JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{side}: the sidecar must be a JSON object giving {need}")
    missing = [k for k in SIDECAR_KEYS if k not in raw]
    if missing:
        raise InputError(
            f"{side}: sidecar of {path.name} lacks {', '.join(missing)} (needs {need})"
        )
    return _source_from_sidecar(path, side, raw)


def _source_from_sidecar(path: Path, side: Path, raw: dict[str, Any]) -> ModelSource:
    bands = raw["bands"]
    names = [str(b) for b in bands] if isinstance(bands, list) else None
    n = len(bands) if isinstance(bands, list) else bands
    output = raw["output"]
    if output not in ("logits", "probabilities"):
        raise InputError(f"{side}: output={output!r}: expected logits or probabilities")
    fields: dict[str, Any] = {
        "architecture": f"onnx:{path.name}",
        "in_bands": n,
        "band_names": names or [f"band{i + 1}" for i in range(n if isinstance(n, int) else 0)],
        "normalisation": raw["normalisation"],
        "gsd_m": raw["gsd_m"],
        "threshold": raw["threshold"],
        "tile": raw.get("tile", 224),
        "provenance": {"onnx_file": path.name, "sidecar": side.name},
    }
    meta = CheckpointMeta.from_json(json.dumps(fields), source=str(side))
    down = raw.get("down_factor", 32)
    if not isinstance(down, int) or isinstance(down, bool) or down < 1:
        raise InputError(f"{side}: down_factor={down!r}: expected a whole number >= 1")
    return ModelSource(
        meta=meta,
        weights_file=path,
        onnx_file=path,
        onnx_normalised=False,
        onnx_outputs=output,
        down_factor=down,
    )


def export_checkpoint(weights: str | os.PathLike[str] | None, out: str | os.PathLike[str]) -> Path:
    """``roadseg export``: the checkpoint (a path or a shipped name) as a self-describing ONNX file.

    Raises:
        InputError: an unreadable checkpoint, or an ONNX file given as the checkpoint.
    """
    from roadseg.inference.tags import file_sha256
    from roadseg.models import load_checkpoint, resolve_weights

    path = resolve_weights(weights)
    if path.suffix.lower() == ".onnx":
        raise InputError(f"{path}: already an ONNX model; export takes a .safetensors checkpoint")
    net, meta = load_checkpoint(path)
    out = export_onnx(net, meta, out, sha256=file_sha256(path))
    log.info("%s -> %s (opset %d; input raw band values, output probabilities)", path, out, OPSET)
    return out


def shipped_int8(source: ModelSource) -> Path:
    """The int8 graph shipped for ``source``'s checkpoint (``roadseg/weights/<name>.int8.onnx``).

    Static int8 needs calibration data; the shipped graphs were calibrated on the
    14 valid Massachusetts tiles (their ``metadata_props`` say how) and are matched
    to the checkpoint by its SHA-256.

    Raises:
        InputError: no int8 graph was calibrated for this checkpoint.
    """
    import onnx

    from roadseg.inference.tags import file_sha256
    from roadseg.models.checkpoint import WEIGHTS_DIR

    sha = file_sha256(source.weights_file) if source.weights_file is not None else None
    for path in sorted(WEIGHTS_DIR.glob("*.int8.onnx")):
        props = {
            p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props
        }
        if sha is not None and props.get("roadseg_sha256") == sha:
            return path
    raise InputError(
        f"{source.name}: no int8 graph was calibrated for this model (shipped models only; "
        "use fp32)"
    )
