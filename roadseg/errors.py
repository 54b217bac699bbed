"""User-facing errors.

Every error a user can cause (a bad file, a bad option) is raised as a
:class:`RoadsegError` whose message names the file and what is wrong with it.
The CLI prints such errors as one line and exits with status 2; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations


class RoadsegError(Exception):
    """Base class of errors caused by the user's input, shown without a traceback."""


class InputError(RoadsegError, ValueError):
    """An input file or option is missing, unreadable or unsuitable."""


class OutputError(RoadsegError, OSError):
    """An output could not be written (unwritable folder, full disk, ...)."""
