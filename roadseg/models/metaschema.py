"""Schema of a checkpoint's ``roadseg`` metadata, checked before anything is built from it.

A checkpoint can come from anywhere, so its metadata is treated as hostile
input: size and nesting depth are bounded before and after parsing, every field
the loader uses is checked for type and range (an architecture argument that
would allocate tens of GB, a GSD of 0, negative or text, a std of 0, a
normalisation of the wrong length), and :func:`check_parameter_count` compares
the parameter count the metadata implies -- from a model built on PyTorch's
``meta`` device, which allocates nothing -- with the tensors in the file before
the real model is allocated. Each problem is one :class:`InputError` line.
"""

from __future__ import annotations

import json
import math
from typing import Any

from roadseg.errors import InputError

#: The paper's tile side in pixels: the tile a checkpoint states when it states none, and
#: the training crop of the recipes.
DEFAULT_TILE = 224

MAX_META_BYTES = 1 << 20  # 1 MiB of JSON
MAX_DEPTH = 32
MAX_BANDS = 64
MAX_WIDTH = 4096  # channels of any layer named in arch_args
MAX_PARAMETERS = 500_000_000  # 2 GB of float32
#: the pixel sizes a real sensor has: 5 mm (close-range drone) to 1 km (MODIS-class
#: satellites); outside them the metadata is wrong, not the sensor (issue 22 item 5)
MIN_GSD_M = 0.005
MAX_GSD_M = 1_000.0
#: the newest checkpoint format this version reads (roadseg.models.checkpoint.FORMAT_VERSION)
MAX_FORMAT_VERSION = 1


def parse_meta(text: str, source: str) -> dict[str, Any]:
    """Parse and check ``text``; return the raw mapping (see the module docstring)."""
    if len(text) > MAX_META_BYTES:
        raise InputError(f"{source}: roadseg metadata of {len(text)} bytes (more than {MAX_META_BYTES})")
    depth = _bracket_depth(text)
    if depth > MAX_DEPTH:
        raise InputError(f"{source}: roadseg metadata nested {depth} deep (at most {MAX_DEPTH})")
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{source}: unreadable roadseg metadata (not valid JSON: {exc})") from exc
    if not isinstance(raw, dict):
        raise InputError(f"{source}: roadseg metadata is not a JSON object")
    check_fields(raw, source)
    return raw


def _bracket_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting outside strings (a scan: no recursion, no parse)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_fields(raw: dict[str, Any], source: str) -> None:
    """Types and ranges of the fields the loader and the pipeline use."""

    def bad(field: str, why: str) -> InputError:
        return InputError(f"{source}: metadata field {field}={_short(raw.get(field))}: {why}")

    if not isinstance(raw.get("architecture"), str) or not raw["architecture"]:
        raise bad("architecture", "expected a model name")
    args = raw.get("arch_args", {})
    if not isinstance(args, dict):
        raise bad("arch_args", "expected a mapping")
    _check_arch_args(args, source)
    bands = raw.get("in_bands", 3)
    if not _is_int(bands) or not 1 <= bands <= MAX_BANDS:
        raise bad("in_bands", f"expected a whole number from 1 to {MAX_BANDS}")
    names = raw.get("band_names", [])
    if not isinstance(names, list) or len(names) > MAX_BANDS or not all(isinstance(n, str) for n in names):
        raise bad("band_names", "expected a list of band names")
    gsd = raw.get("gsd_m", 1.0)
    if not _is_number(gsd) or not MIN_GSD_M <= gsd <= MAX_GSD_M:
        raise bad("gsd_m", f"expected metres per pixel, from {MIN_GSD_M:g} to {MAX_GSD_M:g}")
    thr = raw.get("threshold")
    if thr is not None and (not _is_number(thr) or not 0.0 <= thr <= 1.0):
        raise bad("threshold", "expected a probability from 0 to 1, or null")
    tile = raw.get("tile", DEFAULT_TILE)
    if not _is_int(tile) or not 8 <= tile <= 16384:
        raise bad("tile", "expected a whole number of pixels from 8 to 16384")
    for key in ("provenance", "metrics"):
        if not isinstance(raw.get(key, {}), dict):
            raise bad(key, "expected a mapping")
    version = raw.get("format_version", 1)
    if not _is_int(version) or version < 1:
        raise bad("format_version", "expected a whole number >= 1")
    if version > MAX_FORMAT_VERSION:
        raise bad(
            "format_version",
            f"written by a newer roadseg (this one reads formats up to {MAX_FORMAT_VERSION}); "
            "upgrade roadseg to use this checkpoint",
        )
    _check_normalisation(raw.get("normalisation", {}), bands, source)


def _check_arch_args(args: dict[str, Any], source: str) -> None:
    for key, value in args.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > 64:
            raise InputError(f"{source}: metadata arch_args.{key} lists {len(values)} values (at most 64)")
        for v in values:
            if isinstance(v, (dict, list)):
                raise InputError(f"{source}: metadata arch_args.{key}: nested values are not architecture arguments")
            if _is_int(v) and not -MAX_WIDTH <= v <= MAX_WIDTH:
                raise InputError(
                    f"{source}: metadata arch_args.{key}={_short(value)}: {v} is beyond the {MAX_WIDTH} allowed"
                )
            if isinstance(v, float) and not math.isfinite(v):
                raise InputError(f"{source}: metadata arch_args.{key}={_short(value)}: not a finite number")


def _check_normalisation(norm: Any, bands: int, source: str) -> None:
    if not isinstance(norm, dict):
        raise InputError(f"{source}: metadata normalisation={_short(norm)}: expected a mapping")
    scale = norm.get("scale", 255.0)
    if not _is_number(scale) or scale <= 0:
        raise InputError(f"{source}: metadata normalisation.scale={_short(scale)}: expected a number > 0")
    for key in ("mean", "std"):
        v = norm.get(key)
        if v is None:
            continue
        if not isinstance(v, list) or not all(_is_number(x) for x in v):
            raise InputError(f"{source}: metadata normalisation.{key}={_short(v)}: expected a list of numbers")
        if len(v) != bands:
            raise InputError(
                f"{source}: metadata normalisation.{key} has {len(v)} value(s) for {bands} input band(s)"
            )
        if key == "std" and any(x <= 0 for x in v):
            raise InputError(f"{source}: metadata normalisation.std={_short(v)}: every std must be > 0")


def check_parameter_count(model_factory: Any, tensor_numel: int, source: str) -> None:
    """Compare the parameter count of the metadata's model (built on ``meta``) with the file's tensors.

    ``model_factory`` builds the model; it is called under ``torch.device("meta")``
    so nothing is allocated however large the metadata says the model is.
    """
    import torch

    with torch.device("meta"):
        model = model_factory()
    implied = sum(t.numel() for t in model.state_dict().values())
    if implied > MAX_PARAMETERS:
        raise InputError(f"{source}: the metadata describes a model of {implied:,} values (at most {MAX_PARAMETERS:,})")
    if implied != tensor_numel:
        raise InputError(
            f"{source}: the metadata's model has {implied:,} values but the file holds {tensor_numel:,}"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
