"""Config files (YAML or TOML) into typed dataclasses, with command-line overrides.

The one loader of the package: ``extract``'s config (:mod:`roadseg.pipeline.config`)
and ``train``'s recipes (:mod:`roadseg.training.config`) both use it. Every
value is converted to its field's declared type (``--set lr=3e-4`` is a float,
``--set epochs=5.0`` an int, ``--set amp=off`` a bool) or refused with one
line naming the key.

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
    >>> apply_overrides(cfg, ["inner.size=many"])
    Traceback (most recent call last):
    roadseg.errors.InputError: --set: inner.size: expected a whole number, got 'many'
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from roadseg.errors import InputError, why_missing

T = TypeVar("T")


def check_regular_config(path: Path) -> None:
    """Refuse a config path that is a folder, a FIFO, a socket or a device (reading a FIFO
    would block until something writes to it)."""
    import stat

    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device file"
    )
    raise InputError(f"{path}: is {kind}, not a config file")


def load_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a dict."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {why_missing(path, 'config file')}")
    check_regular_config(path)
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


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null", "~", ""}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _is_exactly(value: Any, tp: Any) -> bool:
    """``isinstance`` where a bool is not an int and only plain classes count."""
    if not isinstance(tp, type):
        return False
    if isinstance(value, bool) and tp is not bool:
        return False
    return isinstance(value, tp)


def _coerce_union(value: Any, tp: Any, where: str) -> Any:
    members = typing.get_args(tp)
    args = [a for a in members if a is not type(None)]
    optional = len(args) < len(members)
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in _NONE):
        if optional:
            return None
        raise InputError(f"{where}: a value is required")
    if len(args) == 1:
        return _coerce(value, args[0], where)
    for arg in args:  # a member the value already is wins
        if _is_exactly(value, arg):
            return value
    # then the first member it converts to, text last (anything converts to text)
    for arg in sorted(args, key=lambda a: a is str):
        try:
            return _coerce(value, arg, where)
        except InputError:
            continue
    names = " or ".join(_type_name(a) for a in args)
    raise InputError(f"{where}: expected {names}, got {value!r}")


def _coerce_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE and not isinstance(value, float):
        return text in _TRUE
    raise InputError(f"{where}: expected true or false, got {value!r}")


def _coerce_number(value: Any, tp: type, where: str) -> Any:
    """An int or a float: from a number of that kind (an integral float for an int) or text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if tp is float or isinstance(value, int):
            return tp(value)
        if value.is_integer():
            return int(value)
    elif isinstance(value, str):
        try:  # YAML reads "3e-4" as text
            return tp(value.strip())
        except ValueError:
            pass
    kind = "a whole number" if tp is int else "a number"
    raise InputError(f"{where}: expected {kind}, got {value!r}")


def _coerce_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"{where}: expected text, got {value!r}")


def _coerce_enum(value: Any, tp: type[enum.Enum], where: str) -> enum.Enum:
    try:
        return tp(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in tp)
        raise InputError(f"{where}: {value!r} is not one of {choices}") from None


def _coerce_scalar(value: Any, tp: type, where: str) -> Any:
    """bool, int, float, str, paths and enums, from their own type or from text."""
    if tp is bool:
        return _coerce_bool(value, where)
    if tp in (int, float):
        return _coerce_number(value, tp, where)
    if tp is str:
        return _coerce_text(value, where)
    if issubclass(tp, os.PathLike | Path) and isinstance(value, str | os.PathLike):
        return Path(value)
    if issubclass(tp, enum.Enum):
        return _coerce_enum(value, tp, where)
    return value


def _coerce_sequence(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if isinstance(value, str):  # --set holdout=a,b
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        raise InputError(f"{where}: expected a list, got {value!r}")
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(args) != len(value):
            raise InputError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(args, value)))
    item = args[0] if args else Any
    items = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a parsed config value to the field's declared type, or refuse it in one line.

    Handles bool, int, float, str, paths, enums, ``Optional``/unions, lists, tuples,
    dicts and nested dataclasses (which may also take a compact ``parse``-able value);
    other types pass the value through unchanged.
    """
    origin = typing.get_origin(tp)
    if tp is Any or isinstance(tp, typing.TypeVar):
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, tp, where)
    if origin is typing.Literal:
        return _coerce_literal(value, tp, where)
    if value is None:
        raise InputError(f"{where}: a value is required")
    if _is_dataclass_type(tp):
        return _coerce_dataclass(value, tp, where)
    if origin in (list, tuple, collections.abc.Sequence) or tp in (list, tuple):
        return _coerce_sequence(value, tp, where)
    if origin in (dict, collections.abc.Mapping) or tp is dict:
        return _coerce_mapping(value, tp, where)
    if isinstance(tp, type):
        return _coerce_scalar(value, tp, where)
    return value


def _coerce_literal(value: Any, tp: Any, where: str) -> Any:
    if value in typing.get_args(tp):
        return value
    choices = ", ".join(map(str, typing.get_args(tp)))
    raise InputError(f"{where}: {value!r} is not one of {choices}")


def _coerce_mapping(value: Any, tp: Any, where: str) -> dict[Any, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected a mapping, got {value!r}")
    kt, vt = typing.get_args(tp) or (Any, Any)
    return {_coerce(k, kt, where): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}


def _coerce_dataclass(value: Any, tp: type, where: str) -> Any:
    if isinstance(value, tp):
        return value
    if not isinstance(value, Mapping) and callable(getattr(tp, "parse", None)):
        try:  # a compact spelling, e.g. a threshold given as 0.4 or "otsu"
            return tp.parse(value)  # type: ignore[attr-defined]
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: {exc}") from exc
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected a mapping of options, got {value!r}")
    source, _, key = where.rpartition(": ")
    return from_mapping(tp, value, source=source or where, prefix=f"{key}." if source else "")


def from_mapping(
    cls: type[T], data: Mapping[str, Any], source: str = "config", prefix: str = ""
) -> T:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclass fields.

    ``prefix``: the dotted key of ``data`` inside the whole config (for messages).

    Raises:
        InputError: naming ``source`` and the dotted key, for unknown keys or wrong types.
    """
    types_ = _field_types(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    where = f"{source}: {prefix.rstrip('.')}" if prefix else source
    if unknown:
        raise InputError(
            f"{where}: unknown option(s) {', '.join(map(repr, unknown))} for "
            f"{cls.__name__}; expected some of {', '.join(sorted(names))}"
        )
    kwargs = {
        k: _coerce(v, types_.get(k, Any), f"{source}: {prefix}{k}") for k, v in data.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{where}: {exc}") from exc


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
