"""Conflation: the detected roads OSM lacks, and the OSM roads the imagery does not support.

:func:`conflate` takes a detected network and an OSM file and returns, in a local
metric CRS (UTM of the network's centroid):

* **missing** -- the parts of detected roads that no OSM road covers (near *and*
  roughly parallel, :mod:`roadseg.conflate.match`), cut where they leave OSM's
  coverage, at least ``min_length_m`` long, their ends within the buffer of an OSM
  road moved onto it (:mod:`roadseg.conflate.snap`), with ``length_m``,
  ``mean_prob``, ``width_m``, ``confidence``, the OSM way they connect to
  (``nearest_osm_id``, ``nearest_osm_m``, ``connects``) and the tags an editor uses
  (``highway=road``, ``source``); parts below ``min_confidence`` are dropped;
* **unconfirmed** (with a scene) -- the OSM roads inside the imagery's valid area
  that no detected road supports (the same test the other way round), with their
  ``osm_id`` and ``highway``;
* the lengths: detected, mapped (detected and covered by OSM), missing, OSM, unconfirmed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.conflate.config import ConflateConfig
from roadseg.conflate.inputs import local_utm, provenance_of, read_network, read_osm, valid_area
from roadseg.conflate.match import ReferenceSegments, uncovered_parts
from roadseg.conflate.snap import snap_ends
from roadseg.errors import InputError

log = logging.getLogger(__name__)

#: OSM roads are loaded this far around the network (and scene), beyond the buffer.
OSM_MARGIN_M = 100.0

MISSING_COLUMNS = [
    "length_m",
    "mean_prob",
    "width_m",
    "confidence",
    "nearest_osm_id",
    "nearest_osm_m",
    "connects",
    "highway",
    "source",
]
UNCONFIRMED_COLUMNS = ["osm_id", "highway", "length_m"]


@dataclass
class ConflateResult:
    """What :func:`conflate` found (tables in ``crs``, lengths in metres)."""

    missing: Any  # GeoDataFrame, MISSING_COLUMNS
    unconfirmed: Any | None  # GeoDataFrame, UNCONFIRMED_COLUMNS; None without a scene
    mapped: Any  # GeoDataFrame of the detected parts OSM covers (with keep_mapped)
    crs: Any
    buffer_m: float
    buffer_from: str
    detected_m: float
    mapped_m: float
    osm_m: float
    parameters: dict = field(default_factory=dict)

    @property
    def missing_m(self) -> float:
        return float(self.missing["length_m"].sum()) if len(self.missing) else 0.0

    @property
    def unconfirmed_m(self) -> float | None:
        if self.unconfirmed is None:
            return None
        return float(self.unconfirmed["length_m"].sum()) if len(self.unconfirmed) else 0.0

    def summary(self) -> dict[str, Any]:
        """The lengths in km and the parameters, as JSON types."""
        un = self.unconfirmed_m
        return {
            "detected_km": round(self.detected_m / 1000, 4),
            "mapped_km": round(self.mapped_m / 1000, 4),
            "missing_km": round(self.missing_m / 1000, 4),
            "missing_parts": len(self.missing),
            "osm_km": round(self.osm_m / 1000, 4),
            "unconfirmed_km": None if un is None else round(un / 1000, 4),
            "unconfirmed_parts": None if self.unconfirmed is None else len(self.unconfirmed),
            "buffer_m": self.buffer_m,
            "buffer_from": self.buffer_from,
            "metric_crs": self.crs.to_string(),
            **self.parameters,
        }

    def format(self) -> str:
        """The summary as a few lines for the terminal."""
        s = self.summary()
        lines = [
            f"detected {s['detected_km']:.2f} km: mapped in OSM {s['mapped_km']:.2f} km, "
            f"missing from OSM {s['missing_km']:.2f} km in {s['missing_parts']} parts",
            f"buffer {self.buffer_m:g} m ({self.buffer_from}); OSM roads near the network "
            f"{s['osm_km']:.2f} km",
        ]
        if un := s["unconfirmed_km"]:
            lines.append(
                f"OSM roads in the imagery that nothing detected supports: {un:.2f} km in "
                f"{s['unconfirmed_parts']} parts"
            )
        elif un is not None:
            lines.append("every OSM road in the imagery is supported by a detected road")
        return "\n".join(lines)


def _median_width(det: Any) -> float | None:
    """The length-weighted median ``width_m`` of the network (None where it has none)."""
    if "width_m" not in det.columns or len(det) == 0:
        return None
    w = det["width_m"].to_numpy(dtype=float)
    lengths = det.geometry.length.to_numpy()
    ok = np.isfinite(w) & (w > 0) & (lengths > 0)
    if not ok.any():
        return None
    order = np.argsort(w[ok])
    cum = np.cumsum(lengths[ok][order])
    return float(w[ok][order][np.searchsorted(cum, cum[-1] / 2)])


def _buffer(cfg: ConflateConfig, det: Any) -> tuple[float, str]:
    """The buffer and a line saying where it came from."""
    if cfg.buffer_m is not None:
        return float(cfg.buffer_m), "given"
    width = _median_width(det)
    buffer_m = cfg.resolve_buffer(width)
    what = (
        f"the network's median width {width:.2f} m" if width else f"a {cfg.road_width_m:g} m road"
    )
    return buffer_m, f"half of {what} + {cfg.registration_m:g} m registration error"


def _search_area(det_m: Any, scene_area: Any, margin: float) -> Any:
    """The box around the network (and the scene) within which OSM roads are loaded."""
    from shapely.geometry import box

    bounds = [det_m.total_bounds] if len(det_m) else []
    if scene_area is not None:
        bounds.append(np.asarray(scene_area.bounds))
    b = np.array(bounds)
    return box(
        b[:, 0].min() - margin,
        b[:, 1].min() - margin,
        b[:, 2].max() + margin,
        b[:, 3].max() + margin,
    )


def _source_tag(cfg: ConflateConfig, network: Any) -> str:
    """The ``source`` tag: the configured one, else roadseg and the model the network records."""
    if cfg.source:
        return cfg.source
    weights = provenance_of(network).get("weights")
    return f"roadseg ({weights})" if weights else "roadseg"


def _metric_crs(det: Any, scene: Path | None, name: str) -> Any:
    """The UTM zone of the network's centre, else of the scene's (an empty network)."""
    import geopandas as gpd

    if len(det):
        return local_utm(det)
    if scene is None:
        raise InputError(
            f"{name}: no road line in the network, and no scene to look for unconfirmed OSM "
            "roads in: nothing to conflate"
        )
    import rasterio
    from shapely.geometry import box

    from roadseg.raster.io import open_raster

    try:
        with open_raster(scene) as ds:
            crs, bounds = ds.crs, ds.bounds
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{scene}: cannot read as a raster ({exc})") from exc
    if crs is None:
        raise InputError(f"{scene}: the scene has no CRS; its valid area cannot be placed")
    return local_utm(gpd.GeoDataFrame(geometry=[box(*bounds)], crs=crs))


@dataclass
class _Inputs:
    """The inputs of one conflation, in the local metric CRS."""

    det: Any  # the detected lines (GeoDataFrame, mean_prob/width_m where present)
    osm: Any  # the OSM roads near them (highway, osm_id)
    crs: Any
    area: Any | None  # the scene's valid area (shapely), None without a scene
    buffer_m: float
    buffer_from: str


def _read_inputs(network: Any, osm: Path, cfg: ConflateConfig, scene: Path | None) -> _Inputs:
    """Read the network, the scene's valid area and the OSM roads near them, in metres."""
    if not osm.exists():
        raise InputError(f"{osm}: OSM file not found")
    det = read_network(network)
    crs = _metric_crs(det, scene, "the network" if hasattr(network, "edges") else str(network))
    det_m = det.to_crs(crs).reset_index(drop=True)
    area = valid_area(scene, crs) if scene is not None else None
    buffer_m, buffer_from = _buffer(cfg, det_m)
    osm_m = read_osm(osm, cfg.highways, crs, _search_area(det_m, area, buffer_m + OSM_MARGIN_M))
    if len(osm_m) == 0:
        log.warning("%s: no OSM road near the network: every detected road is missing", osm)
    log.info(
        "conflating %d detected lines against %d OSM lines in %s, buffer %g m (%s)",
        len(det_m),
        len(osm_m),
        crs.to_string(),
        buffer_m,
        buffer_from,
    )
    return _Inputs(det_m, osm_m, crs, area, buffer_m, buffer_from)


def conflate(
    network: Any,
    osm: str | os.PathLike[str],
    config: ConflateConfig | None = None,
    scene: str | os.PathLike[str] | None = None,
    keep_mapped: bool = False,
) -> ConflateResult:
    """Conflate ``network`` (a RoadNetwork or a line file) against the OSM file ``osm``.

    ``scene``: imagery or probability raster; its valid area bounds the unconfirmed
    OSM roads (none are looked for without it). ``keep_mapped``: also return the mapped
    parts of the network (``result.mapped``, for a picture); else that table is empty.

    Raises:
        InputError: an unreadable network, OSM file or scene, a network in pixel
            coordinates, or nothing to conflate.
    """
    import geopandas as gpd

    cfg = config or ConflateConfig()
    inp = _read_inputs(network, Path(osm), cfg, Path(scene) if scene is not None else None)
    lines = inp.det.geometry.to_numpy()
    osm_ref = ReferenceSegments.of(inp.osm.geometry.to_numpy())
    match = dict(
        buffer_m=inp.buffer_m,
        max_angle_deg=cfg.max_angle_deg,
        sample_m=cfg.sample_m,
        direction_window_m=cfg.direction_window_m,
    )
    cov = uncovered_parts(lines, osm_ref, **match, keep_covered=keep_mapped)
    source = _source_tag(cfg, network)
    osm_ids = inp.osm["osm_id"].to_numpy()
    missing = _missing_table(inp.det, cov, osm_ref, osm_ids, inp.buffer_m, cfg, source)
    unconfirmed = None
    if inp.area is not None:
        unconfirmed = _unconfirmed(inp.osm, inp.area, lines, cfg, match)
    return ConflateResult(
        missing=gpd.GeoDataFrame(missing, geometry="geometry", crs=inp.crs),
        unconfirmed=unconfirmed,
        mapped=gpd.GeoDataFrame(geometry=cov.covered, crs=inp.crs),
        crs=inp.crs,
        buffer_m=inp.buffer_m,
        buffer_from=inp.buffer_from,
        detected_m=float(inp.det.geometry.length.sum()),
        mapped_m=float(cov.covered_m.sum()),
        osm_m=float(inp.osm.geometry.length.sum()),
        parameters={
            "max_angle_deg": cfg.max_angle_deg,
            "min_length_m": cfg.min_length_m,
            "min_confidence": cfg.min_confidence,
            "highways": cfg.highways or "massachusetts",
            "source": source,
        },
    )


def _missing_table(
    det_m: Any,
    cov: Any,
    osm_ref: ReferenceSegments,
    osm_ids: np.ndarray,
    buffer_m: float,
    cfg: ConflateConfig,
    source: str,
) -> dict[str, Any]:
    """The columns of the missing parts: long enough, snapped, confident enough."""
    keep = [i for i, p in enumerate(cov.parts) if p.length >= cfg.min_length_m]
    parts = [cov.parts[i] for i in keep]
    src = cov.line[keep] if keep else np.zeros(0, np.int64)
    snapped = snap_ends(parts, osm_ref, osm_ids, buffer_m)
    length = np.array([p.length for p in snapped.parts], dtype=float)
    n = len(parts)

    def column(name: str) -> np.ndarray:
        if name in det_m.columns and n:
            return det_m[name].to_numpy(dtype=float)[src]
        return np.full(n, np.nan)

    mean_prob, width = column("mean_prob"), column("width_m")
    confidence = np.where(np.isfinite(mean_prob), mean_prob, 1.0) * np.minimum(
        1.0, length / cfg.confidence_length_m
    )
    ok = confidence >= cfg.min_confidence
    if cfg.min_confidence > 0:
        log.info(
            "--min-confidence %g keeps %d of %d missing parts", cfg.min_confidence, int(ok.sum()), n
        )
    return {
        "length_m": np.round(length[ok], 2),
        "mean_prob": mean_prob[ok],
        "width_m": width[ok],
        "confidence": np.round(confidence[ok], 4),
        "nearest_osm_id": snapped.osm_id[ok],
        "nearest_osm_m": np.round(snapped.distance_m[ok], 2),
        "connects": snapped.connects[ok],
        "highway": ["road"] * int(ok.sum()),
        "source": [source] * int(ok.sum()),
        "geometry": [p for p, k in zip(snapped.parts, ok) if k],
    }


def _unconfirmed(
    osm_m: Any, area: Any, det_lines: np.ndarray, cfg: ConflateConfig, match: dict
) -> Any:
    """OSM roads inside ``area`` that no detected road supports (near and parallel)."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import LineString

    inside = shapely.intersection(osm_m.geometry.to_numpy(), area)
    lines: list[LineString] = []
    rows: list[int] = []
    for i, g in enumerate(inside):
        for part in shapely.get_parts(
            shapely.line_merge(g) if g.geom_type == "MultiLineString" else g
        ):
            if isinstance(part, LineString) and part.length > 0:
                lines.append(part)
                rows.append(i)
    cov = uncovered_parts(np.asarray(lines, dtype=object), ReferenceSegments.of(det_lines), **match)
    keep = [k for k, p in enumerate(cov.parts) if p.length >= cfg.min_length_m]
    src = np.asarray(rows, np.int64)[cov.line[keep]] if keep else np.zeros(0, np.int64)
    parts = [cov.parts[k] for k in keep]
    return gpd.GeoDataFrame(
        {
            "osm_id": osm_m["osm_id"].to_numpy()[src],
            "highway": osm_m["highway"].to_numpy()[src],
            "length_m": np.round([p.length for p in parts], 2),
        },
        geometry=parts,
        crs=osm_m.crs,
    )
