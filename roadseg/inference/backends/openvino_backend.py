"""The OpenVINO backend (optional: ``pip install roadseg[openvino]``), CPU plugin.

The inference precision is pinned to f32 unless a reduced one is asked for:
OpenVINO's CPU plugin otherwise picks bf16 on its own on CPUs with
AVX-512-BF16 / AMX, which moved logits by up to 0.18 on the default model.
``--precision bf16`` asks for it explicitly: on the 14 valid tiles it kept the
default model's relaxed break-even (docs/backends.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from roadseg.errors import InputError
from roadseg.inference.backends.base import BackendOptions, ModelSource, Runner
from roadseg.inference.backends.onnx_graph import cached_onnx
from roadseg.inference.backends.onnxruntime_backend import smoke_test

#: roadseg precision -> OpenVINO's INFERENCE_PRECISION_HINT
HINTS = {"fp32": "f32", "bf16": "bf16"}


def compiled_model(path: Any, threads: int, precision: str = "fp32") -> Any:
    import openvino as ov

    if precision not in HINTS:
        raise InputError(f"precision {precision}: openvino offers {', '.join(HINTS)}")
    core = ov.Core()
    config = {
        "INFERENCE_PRECISION_HINT": HINTS[precision],
        "INFERENCE_NUM_THREADS": int(threads),
        "PERFORMANCE_HINT": "LATENCY",
    }
    return core.compile_model(str(path), "CPU", config)


def create(source: ModelSource, options: BackendOptions) -> Runner:
    try:
        import openvino as ov
    except ImportError:
        raise InputError(
            "backend openvino: OpenVINO is not installed (pip install openvino)"
        ) from None
    path = cached_onnx(source)
    threads = options.intra_op_threads()
    compiled = compiled_model(path, threads, options.precision)
    request = compiled.create_infer_request()
    output = compiled.output(0)

    def run(x: torch.Tensor) -> torch.Tensor:
        arr = np.ascontiguousarray(x.detach().to("cpu").numpy(), dtype=np.float32)
        y = request.infer({0: arr})[output]
        t = torch.from_numpy(np.array(y, dtype=np.float32))
        if t.ndim == 3:
            t = t[:, None]
        return t.to(x.device)

    smoke_test(run, source)
    outputs, normalised = source.graph_io()
    return Runner(
        name="openvino",
        run=run,
        outputs=outputs,
        normalised=normalised,
        down_factor=source.down_factor,
        precision=options.precision,
        detail=f"openvino {ov.__version__} CPU, {options.precision}, {threads} thread(s), {path}",
    )
