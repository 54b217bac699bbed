"""sha256 records of a dataset root (``ROOT/checksums.sha256``) and its provenance file.

``checksums.sha256`` uses the ``sha256sum`` text format, one ``<hex>  <path>``
line per file with the path relative to ROOT, so ``cd ROOT && sha256sum -c
checksums.sha256`` checks a dataset without roadseg. ``provenance.json`` maps
the same relative paths to where each file came from (URL or local path) and
how it is georeferenced.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from roadseg.atomic import atomic_path
from roadseg.data.layout import CHECKSUMS_NAME, PROVENANCE_NAME
from roadseg.errors import InputError
from roadseg.hashing import file_sha256

log = logging.getLogger(__name__)

_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def normalise_sha256(value: str | None, where: str = "") -> str | None:
    """Lower-case hex digest, or None for an empty value; :class:`InputError` if malformed."""
    if value is None or not value.strip():
        return None
    v = value.strip().lower()
    if not _HEX.match(v):
        raise InputError(f"{where or value}: not a sha256 hex digest: {value!r}")
    return v


class ChecksumStore:
    """The ``ROOT/checksums.sha256`` records, loaded once and saved atomically.

    Keys are POSIX paths relative to ROOT (``train/sat/10078660_15.tiff``).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.path = self.root / CHECKSUMS_NAME
        self.records: dict[str, str] = {}
        if self.path.exists():
            for n, line in enumerate(self.path.read_text().splitlines(), 1):
                if not line.strip() or line.startswith("#"):
                    continue
                m = _LINE.match(line)
                if not m:
                    raise InputError(f"{self.path}: line {n} is not '<sha256>  <path>': {line!r}")
                self.records[m.group(2)] = m.group(1).lower()

    def key(self, path: str | os.PathLike[str]) -> str:
        """Record key of ``path``: given as ``root / rel`` (absolute or not) or as ``rel`` itself."""
        return relative_key(self.root, path)

    def get(self, path: str | os.PathLike[str]) -> str | None:
        return self.records.get(self.key(path))

    def set(self, path: str | os.PathLike[str], digest: str) -> None:
        self.records[self.key(path)] = digest

    def discard(self, path: str | os.PathLike[str]) -> None:
        self.records.pop(self.key(path), None)

    def save(self) -> None:
        lines = [f"{d}  {k}\n" for k, d in sorted(self.records.items())]
        with atomic_path(self.path) as tmp:
            tmp.write_text("".join(lines))


def relative_key(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """POSIX path of ``path`` relative to ``root``; a relative path not under root is taken as is."""
    root_abs, p = Path(os.path.abspath(root)), Path(path)
    try:
        return Path(os.path.abspath(p)).relative_to(root_abs).as_posix()
    except ValueError:
        if p.is_absolute():
            raise ValueError(f"{path} is not under {root}") from None
        return p.as_posix()


class Provenance:
    """``ROOT/provenance.json``: per file, its source and georeferencing, saved atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.path = self.root / PROVENANCE_NAME
        self.files: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                self.files = dict(data.get("files", {}))
            except (json.JSONDecodeError, AttributeError) as exc:
                raise InputError(f"{self.path}: not a roadseg provenance file ({exc})") from exc

    def set(self, rel: str, **info: Any) -> None:
        self.files[rel] = {k: v for k, v in info.items() if v is not None}

    def discard(self, rel: str) -> None:
        self.files.pop(rel, None)

    def save(self) -> None:
        data = {"format": "roadseg-tiles/1", "files": dict(sorted(self.files.items()))}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(data, indent=1) + "\n")


def verify_root(root: str | os.PathLike[str]) -> list[str]:
    """Re-hash every file recorded in ``ROOT/checksums.sha256``.

    Returns the messages for missing or mismatching files (empty: all good).
    """
    store = ChecksumStore(root)
    if not store.path.exists():
        raise InputError(f"{store.path}: no checksum records to verify")
    problems = []
    for rel, digest in sorted(store.records.items()):
        p = store.root / rel
        if not p.exists():
            problems.append(f"{p}: recorded but missing")
        elif (got := file_sha256(p)) != digest:
            problems.append(f"{p}: sha256 {got} != recorded {digest}")
    return problems
