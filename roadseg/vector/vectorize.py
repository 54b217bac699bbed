"""Probability/mask raster → georeferenced road network (the whole stage 2).

``vectorize_raster`` runs, with every length of :class:`VectorizeConfig` converted
from metres with the raster's GSD:

1. for Otsu only, scan the raster once for its histogram (values are checked while
   reading; a {0, 1} mask is recognised after the block pass, which is then redone);
2. threshold + cleanup + skeleton by block with a halo (identical to whole-image);
3. skeleton → graph (int64 pixels, junction clusters, rings and loops kept);
4. merge close junctions → prune spurs → bridge gaps → drop short components →
   simplify;
5. georeference at pixel centres in the native CRS.

Memory is bounded by the block size plus the (sparse) skeleton, not by the
raster size.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from roadseg.atomic import atomic_path
from roadseg.errors import InputError
from roadseg.postprocess import clean
from roadseg.postprocess.graph import skeleton_to_graph
from roadseg.postprocess.skeleton import BlockParams, SkeletonPixels, skeletonize_blocks
from roadseg.postprocess.threshold import resolve_threshold
from roadseg.raster.cog import cog_file
from roadseg.raster.georef import local_grid_note
from roadseg.raster.source import RasterInfo, WindowReader, open_source
from roadseg.sizeguard import check_vectorize_plan
from roadseg.vector.config import VectorizeConfig
from roadseg.vector.network import RoadNetwork, graph_to_network

log = logging.getLogger(__name__)


def block_params(info: RasterInfo, config: VectorizeConfig) -> BlockParams:
    """Pixel parameters of the block stage for ``info``'s GSD."""
    rt = resolve_threshold(config.threshold, info.histogram, on_codes=info.kind != "float")
    gsd = info.gsd
    pad = max(2, math.ceil(config.border_extend_m / gsd)) if config.border == "extend" else 0
    return BlockParams(
        threshold=rt,
        min_object_px=config.area_px(config.min_object_m2, gsd),
        max_hole_px=int(math.floor(config.max_hole_m2 / (gsd * gsd) + 1e-9)),
        pad=pad,
    )


def _tiff_sink(
    stack: contextlib.ExitStack, path: Path, info: RasterInfo, nodata: float | None = None
) -> Any:
    from roadseg.raster.io import open_raster

    # blocks stream into a tiled GeoTIFF, copied as a cloud-optimised GeoTIFF (raster.cog)
    tmp = stack.enter_context(cog_file(stack.enter_context(atomic_path(path)), path))
    profile = {
        "driver": "GTiff",
        "height": info.height,
        "width": info.width,
        "count": 1,
        "dtype": "uint8",
        "transform": info.transform,
        "crs": info.crs,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "nodata": nodata,
    }
    ds = stack.enter_context(open_raster(tmp, "w", **profile))
    from rasterio.windows import Window

    def sink(r0: int, c0: int, arr: np.ndarray) -> None:
        ds.write(
            (arr.astype(np.uint8) * 255)[None], window=Window(c0, r0, arr.shape[1], arr.shape[0])
        )

    return sink


def skeleton_of_raster(
    path: str | Path,
    config: VectorizeConfig | None = None,
    mask_out: str | Path | None = None,
    skeleton_out: str | Path | None = None,
    info: RasterInfo | None = None,
) -> tuple[SkeletonPixels, RasterInfo, BlockParams]:
    """Stages 1–2: the sparse skeleton of ``path``; optionally write mask/skeleton GeoTIFFs
    ({0, 255} uint8, same grid, written atomically while the blocks stream by)."""
    config = config or VectorizeConfig()
    # only Otsu needs the histogram before the block pass; {0,1} masks are detected after it
    scanned = info is not None or config.threshold.kind == "otsu"
    info = info or open_source(
        path, config.block_size, scanned, band=config.band, gsd_m=config.gsd_m
    )
    params = block_params(info, config)
    check_vectorize_plan(
        info.path, (info.height, info.width), info.gsd, config.block_size, config.halo, params.pad
    )
    with contextlib.ExitStack() as stack:
        mask_sink = _tiff_sink(stack, Path(mask_out), info) if mask_out else None
        skel_sink = _tiff_sink(stack, Path(skeleton_out), info) if skeleton_out else None
        reader = stack.enter_context(WindowReader(info, params.pad))
        run = (config.block_size, config.halo, mask_sink, skel_sink, config.show_progress)
        sk = skeletonize_blocks(reader, params, *run)
        if not scanned and info.kind == "code" and reader.max_seen == 1:
            # a {0, 1} mask read as codes: redo the pass reading 1 as road (sinks are overwritten)
            log.info("%s: values are {0, 1}: reading it as a binary mask", info.path)
            info.kind = "binary01"
            params = block_params(info, config)
            sk = skeletonize_blocks(reader, params, *run)
    return sk, info, params


def write_mask_and_skeleton(
    path: str | Path,
    config: VectorizeConfig | None,
    mask_out: str | Path | None,
    skeleton_out: str | Path | None,
) -> None:
    """Write the cleaned mask and the skeleton of ``path`` as GeoTIFFs (pipeline intermediates)."""
    skeleton_of_raster(path, config, mask_out, skeleton_out)


def _sample(path: Path, info: RasterInfo, sk: SkeletonPixels, block_size: int) -> np.ndarray:
    """Probabilities of ``path`` (same grid as ``info``) at the skeleton pixels."""
    other = open_source(path, block_size=block_size)
    if other.shape != info.shape or not np.allclose(
        tuple(other.transform)[:6], tuple(info.transform)[:6]
    ):
        raise InputError(
            f"{path}: probability raster grid {other.shape} {tuple(other.transform)[:6]} differs from "
            f"the mask's {info.shape} {tuple(info.transform)[:6]}"
        )
    out = np.full(len(sk), np.nan, np.float32)
    rows, cols = sk.rows, sk.cols
    with WindowReader(other, 0) as rd:
        for r0 in range(0, info.height, block_size):
            r1 = min(r0 + block_size, info.height)
            lo, hi = np.searchsorted(sk.flat, [r0 * info.width, r1 * info.width])
            if hi <= lo:
                continue
            a = rd.read(r0, r1, 0, info.width)
            v = a[rows[lo:hi] - r0, cols[lo:hi]]
            out[lo:hi] = v.astype(np.float32) / 255.0 if v.dtype == np.uint8 else v
    return out


def clean_graph(g: Any, config: VectorizeConfig, gsd_rc: tuple[float, float]) -> Any:
    """Step 4 on a pixel-space graph (in place; returns it)."""
    clean.dissolve_degree2(g)
    clean.merge_close_junctions(g, config.junction_merge_m, gsd_rc)
    clean.prune_spurs(g, config.min_spur_m, gsd_rc)
    clean.bridge_gaps(
        g, config.bridge_m, config.bridge_collinear_m, config.bridge_angle_deg, gsd_rc
    )
    clean.drop_short_components(g, config.min_component_m, gsd_rc, config.keep_border_components)
    clean.simplify_edges(g, config.simplify_m, gsd_rc)
    return g


def vectorize_raster(
    path: str | Path,
    config: VectorizeConfig | None = None,
    probability_path: str | Path | None = None,
    mask_out: str | Path | None = None,
    skeleton_out: str | Path | None = None,
) -> RoadNetwork:
    """Road network of a probability or mask raster.

    ``probability_path``: a probability raster on the same grid whose values give the
    edges' ``mean_prob`` (useful when ``path`` is an already thresholded mask).
    ``mask_out`` / ``skeleton_out``: also write those intermediates as GeoTIFFs.
    """
    import pyproj

    config = config or VectorizeConfig()
    t0 = time.perf_counter()
    sk, info, params = skeleton_of_raster(path, config, mask_out, skeleton_out)
    if probability_path is not None:
        sk.prob = _sample(Path(probability_path), info, sk, config.block_size)
    t1 = time.perf_counter()
    g = skeleton_to_graph(sk)
    n_raw = g.number_of_edges()
    gsd_rc = (info.gsd_y, info.gsd_x)
    clean_graph(g, config, gsd_rc)
    crs = pyproj.CRS.from_user_input(info.crs.to_wkt()) if info.crs is not None else None
    cfg = asdict(config)
    cfg["threshold"] = str(config.threshold)
    meta = {
        "source": str(Path(path)),
        "probability_source": str(probability_path) if probability_path else None,
        "input_kind": info.kind,
        "threshold": params.threshold.description,
        "threshold_level": params.threshold.level,
        "gsd_m": [info.gsd_y, info.gsd_x],
        "crs": crs.to_string() if crs is not None else None,
        "coordinates": "pixel" if info.pixel_coords else "map",
        "skeleton_pixels": len(sk),
        "raw_edges": n_raw,
        "config": cfg,
    }
    if info.pixel_coords:
        meta["georeferencing"] = local_grid_note(config.gsd_m, info.transform)
    net = graph_to_network(g, info.transform, crs, gsd_rc, meta)
    log.info(  # no path: the caller names its input and output once
        "vectorised: %d edges, %d nodes, %.0f m of road (skeleton %.1f s, graph %.1f s)",
        len(net.edges),
        len(net.nodes),
        net.total_length_m,
        t1 - t0,
        time.perf_counter() - t1,
    )
    return net
