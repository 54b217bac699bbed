#!/usr/bin/env python
"""Split a file into parts of at most N MiB (a device call returns files of at most 16 MiB), and join them.

    python benchmarks/gpu/parts.py split FILE DIR [--max-mib 16]   # DIR/NAME.partNNN + DIR/NAME.parts.json
    python benchmarks/gpu/parts.py join DIR/NAME.parts.json OUT     # checks sizes and sha256, writes OUT atomically
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from roadseg.atomic import atomic_path
from roadseg.errors import InputError


def split(path: Path, folder: Path, max_mib: float = 16.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    size = int(max_mib * 2**20)
    data = path.read_bytes()
    parts = []
    for k, start in enumerate(range(0, max(len(data), 1), size)):
        chunk = data[start : start + size]
        name = f"{path.name}.part{k:03d}"
        (folder / name).write_bytes(chunk)
        parts.append({"name": name, "bytes": len(chunk), "sha256": hashlib.sha256(chunk).hexdigest()})
    index = folder / f"{path.name}.parts.json"
    index.write_text(json.dumps({"file": path.name, "bytes": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest(), "parts": parts}, indent=1))
    return index


def join(index: Path, out: Path) -> Path:
    info = json.loads(index.read_text())
    h = hashlib.sha256()
    with atomic_path(out) as tmp, tmp.open("wb") as fh:
        for part in info["parts"]:
            chunk = (index.parent / part["name"]).read_bytes()
            if len(chunk) != part["bytes"] or hashlib.sha256(chunk).hexdigest() != part["sha256"]:
                raise InputError(f"{index.parent / part['name']}: size or sha256 differs from {index.name}")
            h.update(chunk)
            fh.write(chunk)
        if h.hexdigest() != info["sha256"]:
            raise InputError(f"{index}: the joined file's sha256 differs")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("file", type=Path)
    s.add_argument("dir", type=Path)
    s.add_argument("--max-mib", type=float, default=16.0)
    j = sub.add_parser("join")
    j.add_argument("index", type=Path)
    j.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    try:
        print(split(args.file, args.dir, args.max_mib) if args.cmd == "split" else join(args.index, args.out))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
