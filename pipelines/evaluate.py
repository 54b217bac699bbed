#!/usr/bin/env python
"""Evaluate predictions against labels; the same arguments as ``roadseg evaluate``.

    python pipelines/evaluate.py --pred prob.tif --labels roads.osm.pbf --scene scene.tif \\
        --json report.json --plot overlay.png
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from roadseg.cli import configure_logging
from roadseg.errors import RoadsegError
from roadseg.tools import HelpFormatter
from roadseg.tools import evaluate as tool


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=tool.__doc__, formatter_class=HelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("-q", "--quiet", action="store_true")
    tool.add_arguments(parser)
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        return tool.main(args)
    except RoadsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
