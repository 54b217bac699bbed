"""Config files (YAML or TOML) into nested dataclasses, with command-line overrides.

A config file is a mapping whose keys are the fields of the target dataclass;
a field that is itself a dataclass takes a nested mapping (a YAML mapping or a
TOML table). Unknown keys are errors that name the file and the key, so a typo
never passes silently. Overrides given as ``section.field=value`` strings (the
CLI's ``--set``) are parsed as YAML scalars and applied after the file.

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Inner:
    ...     size: int = 1
    >>> @dataclass
    ... class Outer:
    ...     name: str = "a"
    ...     inner: Inner = field(default_factory=Inner)
    >>> cfg = from_mapping(Outer, {"inner": {"size": 3}}, source="x.yaml")
    >>> apply_overrides(cfg, ["inner.size=5", "name=b"]).inner.size
    5
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from roadseg.errors import InputError

T = TypeVar("T")


def load_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError as exc:  # Python 3.10
                raise InputError(f"{path}: TOML configs need Python 3.11 or newer") from exc
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise InputError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'} ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a config file must hold a mapping of options at the top level")
    return data


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _field_types(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward refs: fall back to what the defaults say
        out: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if not isinstance(f.type, str):
                out[f.name] = f.type
            elif _is_dataclass_type(f.default_factory):
                out[f.name] = f.default_factory
            else:
                out[f.name] = Any
        return out


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a parsed config value to the field's declared type where that is unambiguous."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) == 1:
            return _coerce(value, args[0], where)
        for arg in args:  # first member the value already is (or converts to losslessly)
            if isinstance(arg, type) and isinstance(value, arg):
                return value
        if any(a is float for a in args) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping) and callable(getattr(tp, "parse", None)):
            try:  # a compact spelling, e.g. a threshold given as 0.4 or "otsu"
                return tp.parse(value)
            except (TypeError, ValueError) as exc:
                raise InputError(f"{where}: {exc}") from exc
        if not isinstance(value, Mapping):
            raise InputError(f"{where}: expected a mapping of options, got {value!r}")
        return from_mapping(tp, value, source=where)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp in (int, float) and isinstance(value, bool | str):
        raise InputError(f"{where}: expected a number, got {value!r}")
    if tp is bool and not isinstance(value, bool):
        raise InputError(f"{where}: expected true or false, got {value!r}")
    if tp is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    if origin in (tuple,) and isinstance(value, list):
        return tuple(value)
    return value


def from_mapping(cls: type[T], data: Mapping[str, Any], source: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclass fields.

    Raises:
        InputError: naming ``source`` and the key, for unknown keys or wrong types.
    """
    types_ = _field_types(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(
            f"{source}: unknown option(s) {', '.join(map(repr, unknown))} for "
            f"{cls.__name__}; expected some of {', '.join(sorted(names))}"
        )
    kwargs = {k: _coerce(v, types_.get(k, Any), f"{source}: {k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{source}: {exc}") from exc


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}``, values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item}: expected KEY=VALUE, e.g. predict.tile=512")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise InputError(f"--set {item}: cannot parse the value ({exc})") from exc
    return out


def merge_dotted(mapping: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the nested ``mapping`` with ``{"a.b": v}`` entries set at ``mapping["a"]["b"]``."""
    out = _deep_copy(mapping)
    for dotted, value in values.items():
        *parents, last = dotted.split(".")
        node = out
        for name in parents:
            child = node.get(name)
            if not isinstance(child, dict):
                child = {} if child is None else child
                if not isinstance(child, dict):
                    raise InputError(f"{dotted}: {name!r} is a value, not a section of options")
                node[name] = child
            node = child
        node[last] = value
    return out


def _deep_copy(m: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in m.items()}


def apply_overrides(obj: T, overrides: Iterable[str] | Mapping[str, Any]) -> T:
    """A copy of dataclass ``obj`` with ``key.path=value`` overrides applied (frozen-safe).

    ``overrides`` is a list of ``KEY=VALUE`` strings (values parsed as YAML) or a
    mapping of dotted keys to values.
    """
    values = dict(overrides) if isinstance(overrides, Mapping) else parse_assignments(overrides)
    if not values:
        return obj
    merged = merge_dotted(to_mapping(obj), values)
    return from_mapping(type(obj), merged, source="--set")


def to_mapping(obj: Any) -> dict[str, Any]:
    """A dataclass as plain JSON-able data (paths as strings), for hashing and reports."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, os.PathLike):
            return os.fspath(v)
        return v

    return plain(obj)
