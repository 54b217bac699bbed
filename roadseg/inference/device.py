"""Device, mixed precision, memory format and test-time augmentation for the forward pass.

:func:`make_forward` turns a model (any callable mapping a float tensor
``(N, C, h, w)`` to ``(N, 1, h, w)``) into a numpy function
``(N, C, h, w) -> (N, h, w)`` float32 (tensors on the device, or numpy arrays)
that the tiled predictor calls once per batch. ``outputs`` says what the model returns:

* ``"logits"`` (every roadseg model): ``sigmoid`` is applied, probabilities are blended;
* ``"probabilities"`` (or any value to blend as is): used unchanged.

Test-time augmentation (``tta=True``) averages the 8 symmetries of the square
(the dihedral group D4: 4 rotations x optional flip), each undone on the output:
``p = 1/8 Σ_g g⁻¹(f(g(x)))``.

Example:
    >>> import numpy as np, torch
    >>> f = make_forward(lambda x: x[:, :1], outputs="probabilities", tta=True)
    >>> x = np.random.rand(2, 3, 8, 8).astype(np.float32)
    >>> bool(np.allclose(f(x), x[:, 0], atol=1e-6))
    True
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from roadseg.errors import InputError

log = logging.getLogger(__name__)

#: ``(N, C, h, w)`` float tensor on the device (or ndarray) -> ``(N, h, w)`` probabilities
ForwardFn = Callable[[Any], Any]
OUTPUTS = ("logits", "probabilities")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``.

    Raises:
        InputError (a ``ValueError``): an unknown name, or CUDA asked for where there is none.
    """
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(
                f"device {device!r} requested but CUDA is not available; use cpu or auto"
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise InputError(f"device must be auto, cpu or cuda[:N], got {device!r}")


def resolve_amp(amp: bool | str | None, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: ``auto``/``True`` -> bf16 on CUDA if supported else fp16, none on CPU.

    ``"bf16"``/``"fp16"`` force a dtype (CUDA only); ``False``/``"off"`` disable AMP.
    """
    if amp in (False, None, "off", "none", "no"):
        return None
    if device.type != "cuda":
        if amp not in (True, "auto"):
            log.warning("AMP %s ignored on %s (CUDA only)", amp, device)
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        return torch.float16
    if amp in (True, "auto"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    raise ValueError(f"amp must be auto, bf16, fp16 or off, got {amp!r}")


_model_threads: list[int] = []


@contextlib.contextmanager
def pipeline_threads(device: torch.device) -> Iterator[None]:
    """On the CPU, run the tiled pipeline's element-wise ops on one thread (the model keeps all).

    PyTorch splits every op of more than 32768 elements across its threads;
    for a 224 x 224 tile that costs more in synchronisation than it saves,
    and on a loaded machine a descheduled worker makes each op wait (measured
    here: ``addcmul_`` on a tile 0.13 ms on one thread, 6-12 ms on two while
    other processes ran). :func:`make_forward` restores the caller's thread
    count around the model call itself. Nothing changes on CUDA.
    """
    if device.type != "cpu":
        yield
        return
    n = torch.get_num_threads()
    _model_threads.append(n)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        _model_threads.pop()
        torch.set_num_threads(n)


@contextlib.contextmanager
def _model_threads_on() -> Iterator[None]:
    if not _model_threads:
        yield
        return
    torch.set_num_threads(_model_threads[-1])
    try:
        yield
    finally:
        torch.set_num_threads(1)


def d4_transforms() -> list[tuple[int, bool]]:
    """The 8 elements of D4 as ``(quarter turns, flip)``."""
    return [(k, flip) for flip in (False, True) for k in range(4)]


def _apply(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    if flip:
        x = torch.flip(x, dims=(3,))
    return torch.rot90(x, k, dims=(2, 3)) if k else x


def _undo(y: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    if k:
        y = torch.rot90(y, -k, dims=(2, 3))
    return torch.flip(y, dims=(3,)) if flip else y


def prepare_model(
    model: Any, device: torch.device, channels_last: bool = True, compile: bool = False
) -> Any:
    """Move an ``nn.Module`` to ``device`` in eval mode, optionally channels_last / compiled."""
    if isinstance(model, torch.nn.Module):
        model = model.to(device).eval()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        if compile:
            model = torch.compile(model)
    return model


def make_forward(
    model: Callable[[torch.Tensor], torch.Tensor],
    device: str | torch.device = "cpu",
    outputs: str = "logits",
    tta: bool = False,
    amp: torch.dtype | None = None,
    channels_last: bool = False,
    fixed_batch: int | None = None,
) -> ForwardFn:
    """Wrap ``model`` as ``(N, C, h, w) float -> (N, h, w) float32`` probabilities.

    The returned function takes a float tensor already on ``device`` and
    returns a float32 tensor there (the tiled engine keeps everything on the
    device and only copies the final uint8 rows back); given a numpy array it
    returns a numpy array.

    Args:
        model: maps ``(N, C, h, w)`` float tensors to ``(N, 1, h, w)`` (see ``outputs``).
        device: where the model runs (the model must already be there).
        outputs: ``"logits"`` (sigmoid applied) or ``"probabilities"`` (blended as is).
        tta: average the 8 D4 symmetries (square tiles only).
        amp: autocast dtype on CUDA (see :func:`resolve_amp`), or ``None``.
        channels_last: feed the input in channels_last memory format (the
            engine builds its batches that way already, so this costs nothing there).
        fixed_batch: pad smaller batches (the last one) to this size, so that a
            compiled model or cuDNN autotuning never sees a new shape.
    """
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs must be one of {OUTPUTS}, got {outputs!r}")
    device = torch.device(device)
    transforms = d4_transforms() if tta else [(0, False)]

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format
        )
        ctx = (
            torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
        )
        with ctx, _model_threads_on():
            y = model(x)
        if y.ndim != 4 or y.shape[1] != 1 or y.shape[2:] != x.shape[2:]:
            raise ValueError(
                f"model must map (N, C, h, w) to (N, 1, h, w); got {tuple(x.shape)} -> {tuple(y.shape)}"
            )
        # element-wise ops on a strided output (e.g. a channel slice) are ~3x slower
        y = y.float().contiguous()
        return torch.sigmoid(y) if outputs == "logits" else y

    def forward_tensor(x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if fixed_batch is not None and n < fixed_batch:
            pad = x.new_zeros((fixed_batch - n, *x.shape[1:]))
            x = torch.cat([x, pad])
        acc: torch.Tensor | None = None
        for k, flip in transforms:
            y = _undo(run(_apply(x, k, flip)), k, flip)
            acc = y if acc is None else acc + y
        assert acc is not None
        if len(transforms) > 1:
            acc = acc / len(transforms)
        return acc[:n, 0]

    def forward(batch: Any) -> Any:
        with torch.inference_mode():
            if isinstance(batch, torch.Tensor):
                return forward_tensor(batch.to(device, dtype=torch.float32))
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device)
            return forward_tensor(x).cpu().numpy()

    return forward
