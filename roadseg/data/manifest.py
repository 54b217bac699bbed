"""Dataset manifests: one CSV row per tile with its split, URLs and (optional) sha256.

Columns of ``data_manifests/massachusetts_roads.csv``::

    tile,split,image_url,label_url,image_sha256,label_sha256

``split`` is ``train`` | ``valid`` | ``test``; empty hashes mean "not known
yet": the downloader then records the hash of what it got in
``ROOT/checksums.sha256`` and verifies against that record afterwards.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from urllib.parse import urlparse

from roadseg.atomic import atomic_path
from roadseg.data.checksums import normalise_sha256
from roadseg.data.layout import SPLITS
from roadseg.errors import InputError

COLUMNS: tuple[str, ...] = (
    "tile",
    "split",
    "image_url",
    "label_url",
    "image_sha256",
    "label_sha256",
)
#: Official split sizes of Massachusetts Roads (Mnih 2013).
OFFICIAL_COUNTS: dict[str, int] = {"train": 1108, "valid": 14, "test": 49}
#: Split names used by mirrors, mapped to the original directory names.
SPLIT_ALIASES: dict[str, str] = {"val": "valid", "validation": "valid"}


@dataclass(frozen=True)
class ManifestRow:
    """One tile of a manifest."""

    tile: str
    split: str
    image_url: str
    label_url: str
    image_sha256: str | None = None
    label_sha256: str | None = None


def default_manifest_path() -> Path:
    """``data_manifests/massachusetts_roads.csv`` of the source checkout."""
    return Path(__file__).resolve().parents[2] / "data_manifests" / "massachusetts_roads.csv"


def _check_url(url: str, where: str) -> str:
    u = urlparse(url)
    if u.scheme not in ("http", "https", "file") or not u.path:
        raise InputError(f"{where}: not an http(s) or file URL: {url!r}")
    return url


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestRow]:
    """Read and validate a manifest CSV (columns :data:`COLUMNS`; hash columns optional).

    Raises :class:`InputError` naming the file and line for a missing column,
    an unknown split, a duplicate tile, a malformed URL or hash.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read manifest ({exc.strerror})") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"
        )
    rows: list[ManifestRow] = []
    seen: set[str] = set()
    for n, rec in enumerate(reader, 2):
        where = f"{path}:{n}"
        tile = (rec["tile"] or "").strip()
        split = SPLIT_ALIASES.get((rec["split"] or "").strip(), (rec["split"] or "").strip())
        if not tile or "/" in tile or tile.startswith("."):
            raise InputError(f"{where}: bad tile name {tile!r}")
        if split not in SPLITS:
            raise InputError(
                f"{where}: unknown split {rec['split']!r}; expected {', '.join(SPLITS)}"
            )
        if tile in seen:
            raise InputError(f"{where}: tile {tile} listed twice")
        seen.add(tile)
        rows.append(
            ManifestRow(
                tile=tile,
                split=split,
                image_url=_check_url((rec["image_url"] or "").strip(), where),
                label_url=_check_url((rec["label_url"] or "").strip(), where),
                image_sha256=normalise_sha256(rec.get("image_sha256"), where),
                label_sha256=normalise_sha256(rec.get("label_sha256"), where),
            )
        )
    if not rows:
        raise InputError(f"{path}: manifest has no rows")
    return rows


def write_manifest(rows: list[ManifestRow], out: str | os.PathLike[str]) -> None:
    """Write rows as a manifest CSV (atomically), empty strings for unknown hashes."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([f.name for f in fields(ManifestRow)])
    for r in rows:
        w.writerow(["" if v is None else v for v in astuple(r)])
    with atomic_path(out) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")


def split_counts(rows: list[ManifestRow]) -> dict[str, int]:
    """Number of tiles per split, in :data:`SPLITS` order."""
    c = Counter(r.split for r in rows)
    return {s: c[s] for s in SPLITS}


def build_manifest(
    official_split_csv: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    expect_counts: dict[str, int] | None = OFFICIAL_COUNTS,
) -> list[ManifestRow]:
    """Build the Massachusetts Roads manifest from the official file list.

    ``official_split_csv`` has columns ``tile,split,image_url,label_url``
    (``../shared/data/massachusetts_roads/official_split.csv``); ``val`` is
    read as ``valid``. Rows are written in split order (train, valid, test),
    sorted by tile within a split, with empty sha256 columns (the hashes of the
    original files are not known). With ``expect_counts`` (default: the official
    1108/14/49), other split sizes are an :class:`InputError`.
    """
    rows = read_manifest(official_split_csv)
    counts = split_counts(rows)
    if expect_counts is not None and counts != expect_counts:
        raise InputError(f"{official_split_csv}: split sizes {counts}, expected {expect_counts}")
    order = {s: i for i, s in enumerate(SPLITS)}
    rows.sort(key=lambda r: (order[r.split], r.tile))
    write_manifest(rows, out)
    return rows
