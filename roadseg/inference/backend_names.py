"""The names of the inference backends and precisions, light to import (no torch).

The backends themselves live in :mod:`roadseg.inference.backends`; this module holds
only what option parsing and config checks need (``roadseg --help`` stays fast).

Example:
    >>> backend_choices()
    ('auto', 'torch', 'onnxruntime', 'openvino')
    >>> check_backend_options("auto", "fp32", "default")
"""

from __future__ import annotations

from typing import Any

from roadseg.errors import InputError

#: backend name -> module under roadseg.inference.backends (with a ``create`` factory)
BACKENDS: dict[str, str] = {
    "torch": "roadseg.inference.backends.torch_backend",
    "onnxruntime": "roadseg.inference.backends.onnxruntime_backend",
    "openvino": "roadseg.inference.backends.openvino_backend",
}
#: backends added at run time (:func:`roadseg.inference.backends.register_backend`)
PLUGINS: dict[str, Any] = {}

#: numeric precisions: ``fp32`` (exact), ``bf16`` (openvino) and ``int8`` (onnxruntime, the
#: shipped models' graphs calibrated on the valid tiles); both reduced ones measured within
#: the seed noise on the valid tiles (docs/backends.md)
PRECISIONS = ("fp32", "bf16", "int8")


def backend_names() -> tuple[str, ...]:
    """The registered backends, in registration order."""
    return tuple(BACKENDS) + tuple(n for n in PLUGINS if n not in BACKENDS)


def backend_choices() -> tuple[str, ...]:
    """What ``--backend`` accepts: ``auto`` and every registered backend."""
    return ("auto", *backend_names())


def check_backend_options(backend: str, precision: str, quality: str) -> None:
    """Refuse an unknown backend, precision or quality level in one line."""
    from roadseg.inference.quality import QUALITY

    if str(backend).lower() not in backend_choices():
        raise InputError(f"backend must be one of {', '.join(backend_choices())}, got {backend!r}")
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if quality not in QUALITY:
        raise InputError(f"quality must be one of {', '.join(QUALITY)}, got {quality!r}")
