#!/usr/bin/env python
"""Train a road model: a thin wrapper around ``roadseg train`` (same arguments)."""

import sys

from roadseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
