"""User-facing errors.

Every error a user can cause (a bad file, a bad option) is raised as a
:class:`RoadsegError` whose message names the file and what is wrong with it.
The CLI prints such errors as one line and exits with status 2; anything else is
a bug and keeps its traceback.

Exit statuses of every command (one scheme, so scripts can tell the cases apart):

* 0 -- everything was written;
* 1 -- a bug (a traceback was printed);
* 2 -- a bad input, option or output: one line, nothing written;
* 3 -- ``extract`` on several scenes: some scenes failed (each named in the log), the
  network of the others was written;
* 4 -- ``extract`` on several scenes: every scene failed, nothing written;
* 130 / 143 -- interrupted by SIGINT (Ctrl-C) / SIGTERM; no partial output kept.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SOME_SCENES_FAILED = 3
EXIT_ALL_SCENES_FAILED = 4


class RoadsegError(Exception):
    """Base class of errors caused by the user's input, shown without a traceback."""


class InputError(RoadsegError, ValueError):
    """An input file or option is missing, unreadable or unsuitable."""


class OutputError(RoadsegError, OSError):
    """An output could not be written (unwritable folder, full disk, ...)."""
