"""Datasets on disk: the tile layout, Massachusetts Roads manifests, download and ingest.

Every dataset writer here produces one layout, which the trainer reads with
:func:`list_pairs`::

    ROOT/<split>/sat/<tile>.<ext>     image (RGB), split in train | valid | test,
    ROOT/<split>/map/<tile>.<ext>     label (1 band, 0 = background, 255 = road),
                                      ext in tif | tiff | png | jpg | jpeg; image and label share the stem
    ROOT/checksums.sha256             sha256 of every file, ``sha256sum -c`` format,
                                      paths relative to ROOT
    ROOT/provenance.json              per file: source (URL or path), how it got there,
                                      georeferencing (from-file | derived-from-tile-name |
                                      copied-from-image | none)

Writers:

* :func:`ingest_local` -- local PNG/TIFF/JPEG copies (e.g. the Massachusetts
  ``train_subset``), optionally georeferenced from the tile name
  (:func:`tile_transform`).
* :mod:`roadseg.data.download` / :mod:`roadseg.data.massachusetts` -- the
  official Massachusetts Roads files from ``data_manifests/massachusetts_roads.csv``.
* :mod:`roadseg.data.generic` -- any GeoTIFF scenes + road vectors, labels rasterised
  on the scene grid.
"""

from roadseg.data.checksums import ChecksumStore, verify_root
from roadseg.data.download import (
    ChecksumError,
    DownloadConfig,
    DownloadError,
    DownloadJob,
    download_file,
    download_many,
)
from roadseg.data.generic import GenericConfig, GenericReport, prepare_generic
from roadseg.data.georef import DERIVED, MASSACHUSETTS_EPSG, tile_origin, tile_transform
from roadseg.data.ingest import IngestConfig, IngestReport, ingest_local, run_ingest
from roadseg.data.layout import SPLITS, TilePair, image_dir, label_dir, list_pairs
from roadseg.data.manifest import ManifestRow, build_manifest, read_manifest
from roadseg.data.massachusetts import PrepareConfig, PrepareReport, prepare_massachusetts

__all__ = [
    "DERIVED",
    "MASSACHUSETTS_EPSG",
    "SPLITS",
    "ChecksumError",
    "ChecksumStore",
    "DownloadConfig",
    "DownloadError",
    "DownloadJob",
    "GenericConfig",
    "GenericReport",
    "IngestConfig",
    "IngestReport",
    "ManifestRow",
    "PrepareConfig",
    "PrepareReport",
    "TilePair",
    "build_manifest",
    "download_file",
    "download_many",
    "image_dir",
    "ingest_local",
    "label_dir",
    "list_pairs",
    "prepare_generic",
    "prepare_massachusetts",
    "read_manifest",
    "run_ingest",
    "tile_origin",
    "tile_transform",
    "verify_root",
]
