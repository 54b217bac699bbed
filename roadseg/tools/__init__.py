"""Subcommands of the ``roadseg`` CLI, one module each (see :mod:`roadseg.cli`)."""

from __future__ import annotations

import sys


def on_terminal() -> bool:
    """Whether stderr is a terminal: progress bars only then (in a log file they are noise)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False
