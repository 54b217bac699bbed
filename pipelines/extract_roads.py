#!/usr/bin/env python
"""Road networks from aerial imagery: every stage, one scene or many on Dask.

    python pipelines/extract_roads.py SCENE.tif -o roads.geojson
    python pipelines/extract_roads.py scenes/*.tif -o network.gpkg --workers 4
    python pipelines/extract_roads.py SCENE.tif -o roads.geojson --evaluate labels.tif \\
        --keep-intermediates work/

The same arguments as ``roadseg extract`` (see ``--help``). Exit status: 0 when
everything was written, 2 for a bad input/option/output, and with several
scenes 3 when some failed, 4 when all failed (see :mod:`roadseg.errors`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from roadseg.cli import configure_logging, handle_sigterm, interrupted_status, wrapped_interrupt
from roadseg.errors import RoadsegError
from roadseg.tools import HelpFormatter
from roadseg.tools import extract as tool


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="extract_roads.py",
        description=tool.__doc__,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    tool.add_arguments(parser)
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    handle_sigterm()
    try:
        return tool.main(args)
    except RoadsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:
        interrupt = wrapped_interrupt(exc)  # a signal inside a library's class creation
        if interrupt is None:
            raise
        return _interrupted(interrupt)


def _interrupted(exc: KeyboardInterrupt) -> int:
    print("interrupted; completed stages are cached and a rerun resumes", file=sys.stderr)
    return interrupted_status(exc)


if __name__ == "__main__":
    sys.exit(main())
