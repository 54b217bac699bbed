"""The ONNX Runtime backend: the exported graph on ONNX Runtime's CPU execution provider.

About 3x torch eager on the CPU for the default model (see docs/backends.md and
``benchmarks/cpu_backends.py``). Intra-op threads follow ``--threads`` / the
Dask worker's share (:meth:`BackendOptions.intra_op_threads`); inter-op
parallelism is off (the graph is a chain). The intra-op threads do not spin
while they wait: the reader and writer threads of the tiled predictor share the
same cores, and a spinning pool would starve them.

Memory: by default ONNX Runtime's CPU arena grows by powers of two and plans a
memory pattern for every batch shape it sees (the last batch of a tile row is
smaller), which doubled the predictor's peak RSS on a 10,500 px wide scene
(2.43 GB against torch's 1.21 GB). Sessions here share one process-wide arena that
grows by what is asked (``kSameAsRequested``) and plan no memory patterns: 1.51 GB,
at the same speed within the noise (``benchmarks/cpu_backends.py``, docs/backends.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from roadseg.errors import InputError
from roadseg.inference.backends.base import BackendOptions, ModelSource, Runner
from roadseg.inference.backends.onnx_graph import cached_onnx, shipped_int8

log = logging.getLogger(__name__)

#: whether idle intra-op threads busy-wait (see the module docstring)
ALLOW_SPINNING = False


_ENV_ARENA: list[bool] = []


def _shared_arena() -> bool:
    """Register the process-wide CPU arena (grows by what is asked) once; ``False`` if refused."""
    import onnxruntime as ort

    if not _ENV_ARENA:
        try:
            info = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            # (max_mem: no limit, arena_extend_strategy 1 = kSameAsRequested, defaults)
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, 1, -1, -1))
            _ENV_ARENA.append(True)
        except Exception as exc:  # an older onnxruntime, or registered by someone else
            log.debug("onnxruntime shared arena not registered (%s)", exc)
            _ENV_ARENA.append(False)
    return _ENV_ARENA[0]


def session_options(threads: int, spinning: bool = ALLOW_SPINNING) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.enable_mem_pattern = False  # one plan per batch shape held memory (module docstring)
    if _shared_arena():
        so.add_session_config_entry("session.use_env_allocators", "1")
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only: the session's own notices mean nothing to a user
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return so


def session_runner(sess: Any, source: Path | str) -> Any:
    """``(N, C, h, w)`` tensor -> ``(N, 1, h, w)`` tensor through an ORT (or compatible) session."""
    in_name = sess.get_inputs()[0].name
    out_name = sess.get_outputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        arr = np.ascontiguousarray(x.detach().to("cpu").numpy(), dtype=np.float32)
        try:
            (y,) = sess.run([out_name], {in_name: arr})
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(
                f"{source}: the ONNX model failed on a {arr.shape} batch ({exc})"
            ) from None
        t = torch.from_numpy(np.asarray(y, dtype=np.float32))
        if t.ndim == 3:
            t = t[:, None]
        return t.to(x.device)

    return run


def smoke_test(run: Any, source: ModelSource) -> None:
    """One tile of zeros through the runner, so a broken session fails now (and falls back)."""
    meta = source.meta
    x = torch.zeros((1, meta.in_bands, meta.tile, meta.tile), dtype=torch.float32)
    y = run(x)
    if tuple(y.shape) != (1, 1, meta.tile, meta.tile):
        raise InputError(
            f"{source.name}: the ONNX model maps {tuple(x.shape)} to {tuple(y.shape)}; "
            "expected (N, 1, h, w)"
        )


def create(source: ModelSource, options: BackendOptions) -> Runner:
    """An ONNX Runtime session over the checkpoint's graph (exported and cached on first use)."""
    import onnxruntime as ort

    if options.precision == "int8":
        path = shipped_int8(source)  # calibrated on the valid tiles (docs/backends.md)
    elif options.precision != "fp32":
        raise InputError(
            f"precision {options.precision}: onnxruntime offers fp32 and int8; bf16 is "
            "offered with --backend openvino (docs/backends.md)"
        )
    else:
        path = cached_onnx(source)
    threads = options.intra_op_threads()
    sess = ort.InferenceSession(
        str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )
    run = session_runner(sess, source.onnx_file or source.name)
    smoke_test(run, source)
    outputs, normalised = source.graph_io()
    return Runner(
        name="onnxruntime",
        run=run,
        outputs=outputs,
        normalised=normalised,
        down_factor=source.down_factor,
        precision=options.precision,
        detail=f"onnxruntime {ort.__version__} CPU, {options.precision}, {threads} intra-op thread(s), {path}",
    )
