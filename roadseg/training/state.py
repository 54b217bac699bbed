"""The resume state of a run: weights, optimizer state and counters in ONE safetensors file.

``OUT/resume.safetensors`` is written atomically after every epoch, so a run
killed at any moment -- also while a checkpoint is being written -- resumes
from a consistent epoch: the weights, the optimizer moments and the counters
always come from the same step. Tensors are stored as ``model.<name>``,
``optim.<param index>.<state name>`` and ``rng.torch``; everything else (the
optimizer's parameter groups, non-tensor state, counters, history) is JSON in
the header. Nothing is ever unpickled.

Runs written by older roadseg versions kept the optimizer in a pickle-based
``state.pt``; such a folder is refused with one line (start afresh with
``--no-resume`` or another ``--out``), never unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from roadseg.atomic import atomic_path
from roadseg.errors import InputError

STATE_NAME = "resume.safetensors"
LEGACY_NAMES = ("state.pt", "state.json")
_KEY = "roadseg_resume"


def save_state(
    out: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, counters: dict[str, Any]
) -> Path:
    """Write weights + optimizer + counters of ``out`` as one file, atomically."""
    tensors: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        tensors["model." + k.removeprefix("module.").removeprefix("_orig_mod.")] = v.detach().cpu().contiguous()
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in opt["state"].items():
        for name, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    header = {"counters": counters, "param_groups": opt["param_groups"], "optim_scalars": scalars}
    path = out / STATE_NAME
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_KEY: json.dumps(header)})
    return path


def has_state(out: Path) -> bool:
    """True when ``out`` holds a resumable run; a legacy pickle state is refused, never read."""
    if (out / STATE_NAME).is_file():
        return True
    legacy = [out / n for n in LEGACY_NAMES if (out / n).exists()]
    if legacy:
        raise InputError(
            f"{legacy[0]}: resume state of an older roadseg (pickle-based), not read; "
            "start afresh with --no-resume or another --out"
        )
    return False


def load_state(
    out: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, device: torch.device
) -> dict[str, Any]:
    """Load ``out``'s resume state into ``model`` and ``optimizer``; return the counters."""
    path = out / STATE_NAME
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            header = json.loads((fh.metadata() or {})[_KEY])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (not a dict)
        counters = header["counters"]
        weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
        model.load_state_dict(weights, strict=True)
        state: dict[int, dict[str, Any]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, idx, name = k.split(".", 2)
                state.setdefault(int(idx), {})[name] = v.to(device)
        for idx, extra in header["optim_scalars"].items():
            state.setdefault(int(idx), {}).update(extra)
        optimizer.load_state_dict({"state": state, "param_groups": header["param_groups"]})
        torch.set_rng_state(tensors["rng.torch"])
        int(counters["epoch"]), int(counters["step"]), float(counters["elapsed_s"])
    except (SafetensorError, OSError, KeyError, ValueError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: unreadable or not this run's resume state ({msg}); "
            "start afresh with --no-resume or another --out"
        ) from exc
    return counters
