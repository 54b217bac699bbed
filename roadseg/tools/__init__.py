"""Subcommands of the ``roadseg`` CLI, one module each (see :mod:`roadseg.cli`).

What the subcommands share lives here: the one help format (:class:`HelpFormatter`, every
option's default shown), the defaults read from the config dataclasses
(:func:`config_default`), and whether progress bars are wanted (:func:`on_terminal`).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import sys
from typing import Any


def on_terminal() -> bool:
    """Whether stderr is a terminal: progress bars only then (in a log file they are noise)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def config_default(cls: type, dotted: str) -> Any:
    """The default of field ``dotted`` of dataclass ``cls`` (``"predict.overlap"`` descends into
    nested config dataclasses): the one home of a CLI default is its config's field.

    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Inner:
    ...     size: int = 8
    >>> @dataclass
    ... class Outer:
    ...     inner: Inner = field(default_factory=Inner)
    ...     names: list = field(default_factory=lambda: ["a"])
    >>> config_default(Outer, "inner.size"), config_default(Outer, "names")
    (8, ['a'])
    """
    head, _, rest = dotted.partition(".")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if head not in fields:
        raise KeyError(f"{cls.__name__} has no field {head!r}")
    f = fields[head]
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        raise KeyError(f"{cls.__name__}.{head} has no default")
    if not rest:
        return value
    return config_default(type(value), rest)


def default_text(value: Any) -> str:
    """A default as help text shows it: floats without trailing zeros, enums by value,
    sequences comma-separated.

    >>> default_text(0.05), default_text(3.0), default_text(["geojson", "gpkg"]), default_text(None)
    ('0.05', '3', 'geojson,gpkg', 'none')
    """
    if value is None:
        return "none"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(default_text(v) for v in value)
    return str(value)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The one help format of every subcommand: descriptions kept as written and each option's
    default shown, ``(default: X)``, unless its help already says what the default is.

    Defaults a flag does not set on the parser (``extract``'s flags stay ``None`` so that a
    config file is not overridden) are named in their help text from the config dataclass
    (:func:`config_default`); flags whose absence means "off" show nothing.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or "default" in text
            or default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
            or default == []
        ):
            return action.help
        return f"{text} (default: {default_text(default).replace('%', '%%')})"


def use_help_formatter(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every subcommand parser under it :class:`HelpFormatter` (called
    once, by :func:`roadseg.cli.build_parser`, so that no subcommand can miss it)."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                use_help_formatter(child)


def weights_help() -> str:
    """The help of ``--weights`` (predict, extract): the shipped models and the default one."""
    from roadseg.models.shipped import DEFAULT_MODEL, SHIPPED_MODELS  # no torch for --help

    return (
        "checkpoint .safetensors, .onnx (docs/backends.md) or a shipped model's name: "
        f"{', '.join(SHIPPED_MODELS)}; several comma-separated: an ensemble "
        f"(default: {DEFAULT_MODEL})"
    )
