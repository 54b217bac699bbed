"""Turn a width name ('paper', 'lite') or an explicit channel list into channels per level.

Every registered 2-D model accepts ``filters="lite"`` and ``filters="paper"`` so that
all of them can be trained at a comparable width budget: the name picks the base
width ``WIDTHS[name][0]`` (64 for 'paper', 16 for 'lite') and doubles it per level.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Named widths: ``lite`` is the CPU-friendly quarter width of the paper's model.
WIDTHS: dict[str, list[int]] = {
    "paper": [64, 128, 256, 512],
    "lite": [16, 32, 64, 128],
}


def base_width(name: str) -> int:
    """The first-level width of the named width ('paper' -> 64, 'lite' -> 16)."""
    if name not in WIDTHS:
        raise ValueError(f"unknown width {name!r}; expected one of {sorted(WIDTHS)}")
    return int(WIDTHS[name][0])


def resolve_filters(filters: str | Sequence[int], levels: int) -> list[int]:
    """Channels per level: a width name gives ``base * 2**i`` for ``levels`` levels."""
    if isinstance(filters, str):
        base = base_width(filters)
        return [base * 2**i for i in range(levels)]
    out = [int(f) for f in filters]
    if not out or min(out) < 1:
        raise ValueError(f"filters must be positive channel counts, got {list(filters)}")
    return out
