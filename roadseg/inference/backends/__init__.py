"""Inference backends: a registry of name -> factory, so a new backend is one module.

Each backend module has ``create(source, options) -> Runner`` (see
:mod:`roadseg.inference.backends.base`); :data:`BACKENDS` names the module of
each, imported only when that backend is used (ONNX Runtime and OpenVINO load
nothing at start-up). ``auto`` is ONNX Runtime on the CPU and torch on CUDA.

If a backend other than torch cannot be built (the export or the session
fails, the package is missing), the model runs on torch after one warning;
only a model that exists solely as ONNX has no torch to fall back to.

Example:
    >>> backend_names()
    ('torch', 'onnxruntime', 'openvino')
    >>> import torch
    >>> resolve_backend("auto", torch.device("cpu"))
    'onnxruntime'
    >>> resolve_backend("auto", torch.device("cuda"))
    'torch'
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

import torch

from roadseg.errors import InputError
from roadseg.inference.backend_names import (
    BACKENDS,
    PLUGINS,
    PRECISIONS,
    backend_choices,
    backend_names,
)
from roadseg.inference.backends.base import (
    BackendFactory,
    BackendOptions,
    ModelSource,
    Runner,
)

log = logging.getLogger(__name__)

_FACTORIES = PLUGINS

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "BackendOptions",
    "ModelSource",
    "Runner",
    "backend_choices",
    "backend_names",
    "build_runner",
    "load_source",
    "register_backend",
    "resolve_backend",
]


def register_backend(name: str, factory: BackendFactory) -> None:
    """Add (or replace) a backend by its factory (a plug-in outside this package)."""
    _FACTORIES[name] = factory


def _factory(name: str) -> BackendFactory:
    if name in _FACTORIES:
        return _FACTORIES[name]
    if name not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(backend_choices())}, got {name!r}")
    return importlib.import_module(BACKENDS[name]).create  # type: ignore[no-any-return]


def resolve_backend(name: str, device: torch.device, source: ModelSource | None = None) -> str:
    """``auto`` -> ``onnxruntime`` on the CPU (and for ONNX-only models), ``torch`` on CUDA.

    A model handed over already loaded (no file: a training run's validation, a
    benchmark's stand-in) runs on torch under ``auto``: its graph has no file hash
    to be cached by. Name a backend to run it elsewhere.
    """
    name = str(name).lower()
    if name != "auto":
        _factory(name)  # refuses an unknown name in one line
        return name
    if source is not None and source.net is None:
        return "onnxruntime"
    if device.type == "cuda" or (source is not None and source.weights_file is None):
        return "torch"
    return "onnxruntime"


def load_source(
    weights: str | os.PathLike[str] | None, device: torch.device | str = "cpu"
) -> ModelSource:
    """The model meant by ``weights``: a checkpoint (a path or a shipped name), or an ONNX file."""
    from roadseg.models import load_checkpoint, resolve_weights

    path = resolve_weights(weights)
    if path.suffix.lower() == ".onnx":
        from roadseg.inference.backends.onnx_graph import read_onnx_source

        return read_onnx_source(path)
    net, meta = load_checkpoint(path, device=device)
    return ModelSource(
        meta=meta, net=net, weights_file=path, down_factor=int(getattr(net, "down_factor", 1))
    )


def build_runner(name: str, source: ModelSource, options: BackendOptions) -> Runner:
    """The runner of backend ``name`` (or ``auto``) for ``source``, torch if that one fails.

    Raises:
        InputError: an unknown backend, an ONNX-only model that no ONNX backend can
            run, or a precision the chosen backend does not offer.
    """
    chosen = resolve_backend(name, options.device, source)
    requested = options
    if chosen != "torch" and options.device.type != "cpu":
        if name != "auto":
            log.warning(
                "backend %s runs on the CPU; the device %s is not used", chosen, options.device
            )
        options = BackendOptions(**{**vars(options), "device": torch.device("cpu")})
    try:
        runner = _factory(chosen)(source, options)
    except InputError as exc:
        if source.net is None or options.precision != "fp32" or chosen == "torch":
            raise
        return _fallback(source, requested, chosen, exc)
    except Exception as exc:  # an export or session failure: any exception type
        if source.net is None or chosen == "torch":
            raise InputError(f"{source.name}: backend {chosen} failed ({exc})") from exc
        return _fallback(source, requested, chosen, exc)
    log.info("%s: %s", source.name, runner.detail)
    return runner


def _fallback(source: ModelSource, options: BackendOptions, chosen: str, exc: Any) -> Runner:
    log.warning("%s: backend %s unavailable (%s); running on torch", source.name, chosen, exc)
    return _factory("torch")(source, options)


def is_onnx(weights: str | os.PathLike[str] | None) -> bool:
    return weights is not None and Path(os.fspath(weights)).suffix.lower() == ".onnx"
