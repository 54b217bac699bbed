"""``roadseg``: one subcommand per stage.

Each subcommand lives in its own small module under :mod:`roadseg.tools` with a
``register(subparsers)`` that adds its parser and a ``main(args) -> int``; the
modules are listed once, in :data:`TOOLS`. Tool modules import heavy libraries
inside ``main`` so that ``roadseg --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from roadseg.errors import RoadsegError

#: Subcommand modules under ``roadseg.tools``, in the order ``--help`` lists them.
TOOLS: tuple[str, ...] = (
    "extract",
    "predict",
    "vectorize",
    "train",
    "calibrate",
    "data",
    "evaluate",
)

log = logging.getLogger("roadseg")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roadseg",
        description="Road networks from aerial imagery: segment, vectorise, evaluate, train.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in TOOLS:
        importlib.import_module(f"roadseg.tools.{name}").register(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (not at set-up time), so a
    replaced or closed stream (pytest's capture, notebooks) never breaks logging."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Log roadseg's messages to stderr at the level the flags ask for (idempotent)."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logger = logging.getLogger("roadseg")
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except RoadsegError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted; no partial output was kept")
        return 130


if __name__ == "__main__":
    sys.exit(main())
