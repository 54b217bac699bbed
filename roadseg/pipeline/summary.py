"""What a run did, in numbers: scene size, tiles, road length, graph size, time per stage."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunSummary:
    """Figures of one scene's run, logged at the end and returned to the caller.

    Attributes:
        scene: the input path.
        width, height: scene size in pixels (as read, before resampling).
        gsd_m: the scene's pixel size in metres (``None`` without a CRS).
        model_gsd_m: the model's GSD the scene was resampled to.
        tiles: model tiles run (including TTA variants: no).
        road_km: total length of the road edges, km (map units / 1000 without a CRS).
        edges, nodes: size of the road graph.
        stage_s: wall time per stage, seconds, in run order.
        resumed: stages whose output was found in the cache instead of recomputed.
        outputs: the files written.
    """

    scene: str
    width: int = 0
    height: int = 0
    gsd_m: float | None = None
    model_gsd_m: float | None = None
    tiles: int = 0
    road_km: float = 0.0
    edges: int = 0
    nodes: int = 0
    stage_s: dict[str, float] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall time of the ``with`` body to ``stage_s[stage]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stage_s[stage] = self.stage_s.get(stage, 0.0) + time.perf_counter() - t0

    @property
    def total_s(self) -> float:
        return sum(self.stage_s.values())

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["total_s"] = round(self.total_s, 3)
        out["stage_s"] = {k: round(v, 3) for k, v in self.stage_s.items()}
        return out

    def format(self) -> str:
        """A few human-readable lines."""
        gsd = f"{self.gsd_m:g} m" if self.gsd_m else "pixel units"
        model = f" -> {self.model_gsd_m:g} m model GSD" if self.model_gsd_m else ""
        lines = [
            f"scene {self.scene}: {self.width}x{self.height} px at {gsd}{model}, {self.tiles} tiles",
            f"network: {self.road_km:.2f} km of road, {self.edges} edges, {self.nodes} nodes",
            "time: "
            + ", ".join(
                f"{k} {v:.1f}s" + (" (cached)" if k in self.resumed else "")
                for k, v in self.stage_s.items()
            )
            + f"; total {self.total_s:.1f}s",
        ]
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"wrote {p}" for p in self.outputs]
        return "\n".join(lines)


def result_line(
    road_km: float, edges: int, nodes: int, report: dict[str, Any] | None = None
) -> str:
    """The one line ``extract`` ends with on stdout: the network's size and, when it was
    evaluated, relaxed precision/recall, the break-even point and APLS (those that apply).

    >>> result_line(10.693, 91, 92)
    'network: 10.69 km of road, 91 edges, 92 nodes'
    >>> result_line(1.0, 2, 3, {"pixel": {"relaxed_precision": 0.9, "relaxed_recall": 0.8,
    ...     "breakeven": 0.85}, "graph": {"apls": None}})
    'network: 1.00 km of road, 2 edges, 3 nodes; relaxed P 0.900 R 0.800, break-even 0.850'
    """
    line = f"network: {road_km:.2f} km of road, {edges} edges, {nodes} nodes"
    if not report:
        return line
    pixel, graph = report.get("pixel") or {}, report.get("graph") or {}
    scores = []
    p, r = pixel.get("relaxed_precision"), pixel.get("relaxed_recall")
    if p is not None and r is not None:
        scores.append(f"relaxed P {p:.3f} R {r:.3f}")
    for label, value in (("break-even", pixel.get("breakeven")), ("APLS", graph.get("apls"))):
        if value is not None:
            scores.append(f"{label} {value:.3f}")
    return f"{line}; {', '.join(scores)}" if scores else line
