"""What every inference backend receives and returns.

A backend turns a :class:`ModelSource` (a loaded torch model and/or an ONNX
file, with the checkpoint's metadata) into a :class:`Runner`: one function
from a float32 batch ``(N, C, h, w)`` (a CPU or device tensor) to
``(N, 1, h, w)`` (a tensor on the same device). Everything else in
:mod:`roadseg.inference` -- strips, blending, resampling, the writer thread,
test-time augmentation -- is shared and does not know which backend runs.

A runner states what it expects and returns, so the predictor feeds it right:

* ``normalised=True``: it normalises its input itself (raw band values in,
  e.g. an ONNX graph with the normalisation folded in); otherwise the
  predictor normalises every batch first (``meta.normalisation``);
* ``outputs``: ``"logits"`` (the predictor applies the sigmoid) or
  ``"probabilities"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from roadseg.inference.backend_names import PRECISIONS  # noqa: E402,F401  (re-exported)
from roadseg.models import CheckpointMeta


@dataclass
class ModelSource:
    """A model to run: a torch module, an ONNX file, or both (the ONNX exported from it).

    Attributes:
        meta: the checkpoint's metadata (from the safetensors header, the ONNX
            ``metadata_props`` or a sidecar JSON).
        net: the torch model (``None`` for a model that exists only as ONNX).
        weights_file: the file the model came from (``None`` when handed over loaded).
        onnx_file: an ONNX file to run (a ``.onnx`` given as weights).
        onnx_normalised: the ONNX graph takes raw band values (normalisation folded in).
        onnx_outputs: what the ONNX graph returns: ``logits`` or ``probabilities``.
    """

    meta: CheckpointMeta
    net: torch.nn.Module | None = None
    weights_file: Path | None = None
    onnx_file: Path | None = None
    onnx_normalised: bool = True
    onnx_outputs: str = "probabilities"
    #: the model's size divisor (tile sides must be multiples of it)
    down_factor: int = 1

    @property
    def name(self) -> str:
        return self.weights_file.name if self.weights_file is not None else "<model in memory>"

    def graph_io(self) -> tuple[str, bool]:
        """``(outputs, normalised)`` of the ONNX graph an ONNX backend runs: a given ``.onnx``
        says its own; one exported from the checkpoint returns probabilities of raw bands."""
        if self.onnx_file is not None:
            return self.onnx_outputs, self.onnx_normalised
        return "probabilities", True


@dataclass
class BackendOptions:
    """How a backend should run.

    Attributes:
        device: where batches live (ONNX Runtime and OpenVINO run on the CPU).
        threads: intra-op threads; ``None``: torch's thread count at build time
            (what ``--threads`` and a Dask worker's share set).
        precision: ``fp32`` (exact), ``bf16`` or ``int8`` (see :data:`PRECISIONS`).
        channels_last: the torch backend runs convolutions channels_last.
        compile: the torch backend wraps the model in ``torch.compile``.
    """

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    threads: int | None = None
    precision: str = "fp32"
    channels_last: bool = True
    compile: bool = False

    def intra_op_threads(self) -> int:
        return int(self.threads) if self.threads else max(1, torch.get_num_threads())


@dataclass
class Runner:
    """A backend's forward: ``(N, C, h, w)`` float32 tensor -> ``(N, 1, h, w)`` tensor.

    Attributes:
        name: the backend that runs (``torch``, ``onnxruntime``, ``openvino``, ``ensemble``).
        run: the forward.
        outputs: ``logits`` or ``probabilities``.
        normalised: ``run`` normalises raw band values itself.
        down_factor: tile sides must be multiples of this.
        precision: the numeric precision it runs in.
        detail: one line for the log (provider, cache file, ...).
    """

    name: str
    run: Callable[[torch.Tensor], torch.Tensor]
    outputs: str = "logits"
    normalised: bool = False
    down_factor: int = 1
    precision: str = "fp32"
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


#: ``(source, options) -> Runner``; raises on failure (the registry falls back to torch)
BackendFactory = Callable[[ModelSource, BackendOptions], Runner]
