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


def why_missing(path: object, what: str = "file") -> str:
    """Why ``path`` cannot be opened, in words: a symbolic link that loops or points
    nowhere is said to be one (not "not found"); else ``"<what> not found"``.

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp(); a, b = os.path.join(d, "a"), os.path.join(d, "b")
    >>> os.symlink(b, a); os.symlink(a, b)
    >>> why_missing(a)
    'is a symbolic link that loops back on itself'
    >>> why_missing(os.path.join(d, "c"), "config file")
    'config file not found'
    """
    import errno
    import os

    p = os.fspath(path)  # type: ignore[call-overload]
    if os.path.islink(p):
        try:
            os.stat(p)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "is a symbolic link that loops back on itself"
            return f"is a symbolic link to {os.readlink(p)}, which does not exist"
    return f"{what} not found"
