"""Checkpoints: safetensors weights with the model's own metadata in the header.

A checkpoint is a single ``.safetensors`` file. Its string metadata holds one
key, ``roadseg``, whose value is the JSON of :class:`CheckpointMeta`: the
architecture and its arguments, the input bands and their normalisation, the
training ground sample distance (GSD) in metres, the calibrated probability
threshold, provenance and metrics. Nothing is ever unpickled, so loading a file
from elsewhere cannot run code.

Normalisation: a band value ``v`` becomes ``(v / scale - mean[b]) / std[b]``
(see :meth:`Normalisation.apply`).

Example:
    >>> import tempfile, pathlib
    >>> from roadseg.models import build_model
    >>> meta = CheckpointMeta(architecture="resunet", arch_args={"filters": [8, 16]})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
    >>> save_checkpoint(path, build_model("resunet", filters=[8, 16]), meta)
    >>> model, meta2 = load_checkpoint(path)
    >>> meta2.arch_args
    {'filters': [8, 16]}
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.models.metaschema import (
    DEFAULT_TILE,
    MAX_FORMAT_VERSION,
    check_parameter_count,
    parse_meta,
)
from roadseg.models.registry import build_model
from roadseg.models.shipped import DEFAULT_MODEL, SHIPPED_MODELS, WEIGHTS_DIR

FORMAT_VERSION = MAX_FORMAT_VERSION  # one home: the schema knows what it reads
_META_KEY = "roadseg"


class CheckpointError(InputError):
    """A checkpoint file is unreadable, or does not fit the scene it is used on."""


@dataclass
class Normalisation:
    """Per-band input scaling: ``(v / scale - mean) / std``."""

    scale: float = 255.0
    mean: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    std: list[float] = field(default_factory=lambda: [0.25, 0.25, 0.25])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Normalise a ``(bands, H, W)`` or ``(N, bands, H, W)`` array to float32."""
        bands_axis = x.ndim - 3
        shape = [1] * x.ndim
        shape[bands_axis] = -1
        mean = np.asarray(self.mean, dtype=np.float32).reshape(shape)
        std = np.asarray(self.std, dtype=np.float32).reshape(shape)
        return (x.astype(np.float32) / np.float32(self.scale) - mean) / std


@dataclass
class CheckpointMeta:
    """Everything needed to use a checkpoint correctly on a new scene.

    Attributes:
        architecture: registry name (see :func:`roadseg.models.build_model`).
        arch_args: keyword arguments for the architecture.
        in_bands: number of input bands the model expects.
        band_names: names of those bands, in order (documentation only).
        normalisation: input scaling (see :class:`Normalisation`).
        gsd_m: ground sample distance the model was trained at, metres per pixel.
        threshold: calibrated probability threshold (the held-out break-even level),
            used by the pipeline when the user gives none; ``None`` means 0.5.
        tile: tile size the model was trained with (pixels at ``gsd_m``).
        provenance: data, recipe, code version, hardware, wall time.
        metrics: held-out metrics measured for this checkpoint.
    """

    architecture: str
    arch_args: dict[str, Any] = field(default_factory=dict)
    in_bands: int = 3
    band_names: list[str] = field(default_factory=lambda: ["red", "green", "blue"])
    normalisation: Normalisation = field(default_factory=Normalisation)
    gsd_m: float = 1.0
    threshold: float | None = None
    tile: int = DEFAULT_TILE
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "<metadata>") -> CheckpointMeta:
        """Parse metadata after checking it against the schema (:mod:`roadseg.models.metaschema`)."""
        try:
            raw = parse_meta(text, source)
        except InputError as exc:
            raise CheckpointError(str(exc)) from exc
        try:
            norm = {k: v for k, v in raw.get("normalisation", {}).items() if k in ("scale", "mean", "std")}
            raw["normalisation"] = Normalisation(**norm)
            known = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in raw.items() if k in known})
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{source}: unreadable roadseg metadata ({exc})") from exc

    def check_bands(
        self, n_bands: int, scene: str | os.PathLike[str] = "scene", hint: str | None = None
    ) -> None:
        """Refuse a scene whose (selected) band count differs from the model's.

        ``hint``: the ``--bands`` choice to suggest (from the raster's colour interpretation
        and band descriptions, :func:`roadseg.raster.scene.band_hint`); default 1..n.
        """
        if n_bands != self.in_bands:
            hint = hint or f"--bands {','.join(str(i + 1) for i in range(self.in_bands))}"
            raise CheckpointError(
                f"{scene}: has {n_bands} band(s) but the model expects {self.in_bands} "
                f"({', '.join(self.band_names)}); choose bands with --bands (e.g. {hint})"
            )


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, meta: CheckpointMeta) -> None:
    """Write ``model``'s weights and ``meta`` to one safetensors file, atomically."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    # unwrap DDP / torch.compile prefixes so the file loads into a bare model
    state = {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={_META_KEY: meta.to_json()})


def read_meta(path: str | os.PathLike[str]) -> CheckpointMeta:
    """Read only the metadata of a checkpoint (cheap: the header alone)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a safetensors checkpoint ({exc})") from exc
    if _META_KEY not in header:
        raise CheckpointError(f"{path}: safetensors file without roadseg metadata")
    return CheckpointMeta.from_json(header[_META_KEY], source=str(path))


def load_checkpoint(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[nn.Module, CheckpointMeta]:
    """Build the model described in ``path``'s metadata and load its weights (eval mode)."""
    meta = read_meta(path)
    # in_bands is the single source of the input width; an in_channels left in arch_args is ignored
    args = {k: v for k, v in meta.arch_args.items() if k != "in_channels"}
    try:
        # the size the metadata implies, compared with the file before anything is allocated
        check_parameter_count(
            lambda: build_model(meta.architecture, in_channels=meta.in_bands, **args), _file_numel(path), str(path)
        )
        model = build_model(meta.architecture, in_channels=meta.in_bands, **args)
    except InputError as exc:
        raise CheckpointError(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    try:
        state = load_file(str(path), device="cpu")
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: weights do not match the metadata ({exc})") from exc
    return model.to(device).eval(), meta


def _file_numel(path: str | os.PathLike[str]) -> int:
    """Number of values in the file's tensors, from its header (no tensor is read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return sum(int(np.prod(handle.get_slice(k).get_shape())) for k in handle.keys())  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a safetensors checkpoint ({exc})") from exc




def default_weights_path() -> Path:
    """The default model shipped with roadseg (see the model card in the README)."""
    return WEIGHTS_DIR / SHIPPED_MODELS[DEFAULT_MODEL]


def resolve_weights(weights: str | os.PathLike[str] | None) -> Path:
    """The checkpoint file meant by ``weights``: the default model, a shipped model's name, or a path.

    >>> resolve_weights("resunet_lite_massachusetts").name
    'resunet_lite_massachusetts.safetensors'
    >>> resolve_weights(None) == default_weights_path()
    True

    Raises:
        InputError: the default model is asked for and not installed.
    """
    if weights is None:
        path = default_weights_path()
        if not path.is_file():
            raise InputError(f"{path}: no default model is installed; pass a checkpoint with --weights")
        return path
    name = os.fspath(weights)
    if name in SHIPPED_MODELS:
        return WEIGHTS_DIR / SHIPPED_MODELS[name]
    path = Path(name)
    if not path.suffix and len(path.parts) == 1 and not path.exists():
        raise InputError(unknown_model_message(name))  # a misspelt name, not a file
    return path


def unknown_model_message(name: str) -> str:
    """One line for a ``--weights`` name that is neither a shipped model nor a file: the
    shipped models, the closest matches first.

    >>> print(unknown_model_message("resunet_w23_massachusets"))  # doctest: +ELLIPSIS
    --weights resunet_w23_massachusets: no such model or file; did you mean resunet_w32_massachusetts? ...
    """
    import difflib

    close = difflib.get_close_matches(name, SHIPPED_MODELS, n=len(SHIPPED_MODELS), cutoff=0.5)
    ordered = close + [m for m in SHIPPED_MODELS if m not in close]
    hint = f"; did you mean {close[0]}?" if close else "."
    return (
        f"--weights {name}: no such model or file{hint} Shipped models: {', '.join(ordered)} "
        "(or give the path of a .safetensors checkpoint)"
    )
