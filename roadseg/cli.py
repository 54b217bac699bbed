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
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import TextIO

from roadseg import __version__
from roadseg.errors import RoadsegError
from roadseg.tools import on_terminal, use_help_formatter  # the subcommands use it too

#: Subcommand modules under ``roadseg.tools``, in the order ``--help`` lists them.
TOOLS: tuple[str, ...] = (
    "extract",
    "predict",
    "vectorize",
    "train",
    "calibrate",
    "data",
    "evaluate",
    "conflate",
    "export",
)

log = logging.getLogger("roadseg")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roadseg",
        description="Road networks from aerial imagery: segment, vectorise, evaluate, train.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (default: INFO; -vv: DEBUG)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in TOOLS:
        importlib.import_module(f"roadseg.tools.{name}").register(sub)
    use_help_formatter(parser)  # one help format, defaults shown, for every subcommand
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


#: Libraries whose log records are shown like roadseg's own (Dask's at WARNING and above).
LIBRARY_LOGGERS = ("distributed",)



#: Library notices that say nothing to a user of roadseg (logged at DEBUG): roadseg's own
#: GeoPackages hold an ``edges`` and a ``nodes`` layer and the edges are the default one.
_BENIGN_WARNINGS = ("More than one layer found",)


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Python warnings of libraries (pyogrio's layer notice, Dask's port notice, rasterio's
    georeferencing notice) as one log line each, instead of two raw lines with source code."""
    origin = os.path.basename(os.path.dirname(filename)) or "python"
    text = str(message)
    level = logging.DEBUG if any(b in text for b in _BENIGN_WARNINGS) else logging.WARNING
    logging.getLogger(f"roadseg.warnings.{origin}").log(level, "%s: %s", category.__name__, text)


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Log roadseg's messages to stderr at the level the flags ask for (idempotent).

    Library warnings (the ``warnings`` module) and Dask's log records go through the
    same handler and format; progress bars are switched off when stderr is not a
    terminal (``TQDM_DISABLE``, for bars the tools do not control themselves).
    """
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    for name in ("roadseg", *LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(handler)
        handler = _StderrHandler()
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.propagate = name == "roadseg"  # libraries: shown once, not again by the root
    logging.getLogger("roadseg").setLevel(level)
    if verbose < 2:
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    warnings.showwarning = _log_warning
    if not on_terminal():
        os.environ.setdefault("TQDM_DISABLE", "1")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (temporary files removed)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """Treat SIGTERM like SIGINT: unwind, remove partial files, exit 143 (128 + 15).

    Python's default for SIGTERM ends the process at once, skipping every ``finally``
    and leaving temporary files and staging folders behind.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def wrapped_interrupt(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C / SIGTERM inside ``exc``, when a library turned it into another error.

    A signal that lands while Python creates a class (matplotlib's first import, say) comes
    out as ``RuntimeError: Error calling __set_name__`` with the interrupt as its cause; it
    is still an interruption, to be reported as one, not as a crash with a traceback.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def interrupted_status(exc: KeyboardInterrupt) -> int:
    """130 for SIGINT (Ctrl-C), 143 for SIGTERM: the shell's 128 + signal number."""
    return 128 + signal.SIGTERM if isinstance(exc, Terminated) else 128 + signal.SIGINT


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    handle_sigterm()
    try:
        return int(args.func(args) or 0)
    except RoadsegError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted(exc, args)
    except Exception as exc:
        interrupt = wrapped_interrupt(exc)
        if interrupt is None:
            raise
        return _interrupted(interrupt, args)


def _interrupted(exc: KeyboardInterrupt, args: argparse.Namespace) -> int:
    what = "terminated" if isinstance(exc, Terminated) else "interrupted"
    note = getattr(args, "interrupt_note", None)  # a command's word on what it kept
    if callable(note):  # decided once the command has unwound (and cleaned up)
        note = note()
    log.error("%s; no partial output was kept%s", what, f"; {note}" if note else "")
    return interrupted_status(exc)


if __name__ == "__main__":
    sys.exit(main())
