#!/usr/bin/env python
"""Prepare Massachusetts Roads: ``roadseg data massachusetts`` with the same arguments.

Examples::

    # download the official files (resumable; sha256 recorded in ROOT/checksums.sha256)
    python pipelines/prepare_massachusetts.py --root data/mass_roads
    # ingest local PNG copies, georeferenced from their tile names
    python pipelines/prepare_massachusetts.py --root data/mass_roads \\
        --from-local ../shared/data/massachusetts_roads/train_subset/{images,masks} --georeference
"""

import sys

from roadseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["data", "massachusetts", *sys.argv[1:]]))
