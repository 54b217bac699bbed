"""Predict road probabilities for a whole scene (streamed) or an in-memory image.

Two entry points share one code path (:func:`roadseg.inference.engine.run_tiles`):

* :func:`predict_scene` reads a GeoTIFF (or any GDAL raster) by strips, resamples
  it to the model's GSD when needed, and writes a probability GeoTIFF on the
  input's grid (see :mod:`roadseg.raster.write` for the format and nodata).
* :func:`predict_array` predicts a ``(bands, H, W)`` array in memory, e.g. a
  whole held-out tile during training validation.

Example:
    >>> import numpy as np
    >>> from roadseg.models import CheckpointMeta, build_model
    >>> net = build_model("resunet", filters=[4, 8])
    >>> meta = CheckpointMeta("resunet", {"filters": [4, 8]}, tile=32)
    >>> img = np.random.randint(0, 255, (3, 40, 50), dtype=np.uint8)
    >>> prob = predict_array(net, meta, img, PredictConfig(overlap=4, progress=False))
    >>> prob.shape, prob.dtype, bool((prob >= 0).all() and (prob <= 1).all())
    ((40, 50), dtype('float32'), True)
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from rasterio.errors import RasterioError
from rasterio.windows import Window
from tqdm import tqdm

from roadseg.atomic import atomic_path, owner_token  # owner-named: a later run cleans up
from roadseg.errors import InputError
from roadseg.inference.blending import BlendMode
from roadseg.inference.config import PredictConfig, PredictResult  # light to import
from roadseg.inference.device import make_forward, resolve_amp, resolve_device
from roadseg.inference.engine import Prepare, RunStats, array_reader, run_tiles
from roadseg.inference.runner import load_runner
from roadseg.inference.tags import warn_if_huge
from roadseg.models import CheckpointMeta, Normalisation, load_checkpoint, resolve_weights
from roadseg.raster.cog import cog_file
from roadseg.raster.grid import TileGrid, check_tile_overlap
from roadseg.raster.io import open_raster
from roadseg.raster.quantise import quantise_tensor
from roadseg.raster.resample import (
    Upsampler,
    integer_factor,
    model_grid,
    needs_resampling,
    warp_back,
    warped_view,
)
from roadseg.raster.scene import band_hint, open_scene
from roadseg.raster.write import BackgroundWriter, StripWriter, verify_written
from roadseg.sizeguard import SizeLimits, check_predict_plan
from roadseg.uri import RemotePath
from roadseg.uri import scene_path as as_scene

log = logging.getLogger(__name__)


def load_model(
    weights: str | os.PathLike[str] | None, device: torch.device | str = "cpu"
) -> tuple[torch.nn.Module, CheckpointMeta]:
    """Load ``weights`` (or the default model) onto ``device``.

    Raises:
        InputError: no ``weights`` given and no default model installed, or a bad checkpoint.
    """
    return load_checkpoint(resolve_weights(weights), device=device)


def _check_tile(tile: int, overlap: int, model: Any, source: str) -> None:
    try:
        check_tile_overlap(tile, overlap)
    except ValueError as exc:
        raise InputError(f"{source}: {exc}") from None
    factor = int(getattr(model, "down_factor", 1))
    if tile % factor:
        raise InputError(f"{source}: tile {tile} must be a multiple of {factor} for this model")


def predict_array(
    model: Any,
    meta: CheckpointMeta,
    image: np.ndarray,
    config: PredictConfig | None = None,
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """Road probabilities for an in-memory ``(bands, H, W)`` image; ``(H, W)`` float32 in [0, 1].

    ``image`` holds values in the model's input range (0..255, uint8 or float,
    as the training tiles); it is normalised with ``meta.normalisation`` strip
    by strip. The model runs on the device of its parameters (``config.device``
    is not used: the caller owns the model), in eval mode; its training mode is
    restored afterwards. Pixels where ``valid`` is ``False`` come out as 0.
    """
    from roadseg.inference.backends import Runner

    config = config or PredictConfig()
    if isinstance(model, Runner):
        return _predict_array_runner(model, meta, image, config, valid)
    if image.ndim != 3:
        raise ValueError(f"image must be (bands, height, width), got shape {image.shape}")
    meta.check_bands(image.shape[0], "image")
    tile = int(config.tile or meta.tile)
    _check_tile(tile, config.overlap, model, "image")
    try:
        device = next(model.parameters()).device
    except (StopIteration, AttributeError):
        device = torch.device("cpu")
    forward = make_forward(
        model,
        device=device,
        outputs="logits",
        tta=config.tta,
        amp=resolve_amp(config.amp, device),
        channels_last=False,
    )
    was_training = bool(getattr(model, "training", False))
    if isinstance(model, torch.nn.Module):
        model.eval()
    try:
        return _blend_array(
            image, valid, tile, config, forward, torch_normaliser(meta.normalisation, device), device
        )
    finally:
        if was_training:
            model.train()


def _blend_array(
    image: np.ndarray,
    valid: Any,
    tile: int,
    config: PredictConfig,
    forward: Any,
    prepare: Any,
    device: torch.device,
) -> np.ndarray:
    """The tiled, blended forward over an in-memory image (both :func:`predict_array` paths)."""
    h, w = image.shape[1:]
    out = np.zeros((h, w), dtype=np.float32)

    def sink(row_off: int, values: np.ndarray, _valid: np.ndarray) -> None:
        out[row_off : row_off + values.shape[0]] = values

    run_tiles(
        TileGrid(h, w, tile, config.overlap),
        array_reader(image, valid),
        forward,
        sink,
        blend=config.blend,
        batch_size=config.batch_size,
        prefetch=config.prefetch,
        prepare=prepare,
        device=device,
    )
    return out


def _predict_array_runner(
    runner: Any, meta: CheckpointMeta, image: np.ndarray, config: PredictConfig, valid: Any
) -> np.ndarray:
    """:func:`predict_array` with a backend's runner (on the CPU) instead of a torch model."""
    meta.check_bands(image.shape[0], "image")
    tile = int(config.tile or meta.tile)
    _check_tile(tile, config.overlap, runner, "image")
    device = torch.device("cpu")
    forward = make_forward(runner.run, device=device, outputs=runner.outputs, tta=config.tta)
    prepare = None if runner.normalised else torch_normaliser(meta.normalisation, device)
    return _blend_array(image, valid, tile, config, forward, prepare, device)


def torch_normaliser(norm: Normalisation, device: torch.device) -> Prepare:
    """``meta.normalisation`` on the device, folded to ``x · a + b`` per band (in place).

    ``a = 1 / (scale · std)``, ``b = -mean / std``: one multiply-add instead of
    three ops (it differs from ``(x / scale - mean) / std`` by float rounding
    only), on scalars when every band has the same mean and std (the usual
    case: a vectorised op over the whole batch), else per band over the
    interleaved (channels_last) memory.
    """
    std = np.asarray(norm.std, dtype=np.float64)
    a64 = 1.0 / (float(norm.scale) * std)
    b64 = -np.asarray(norm.mean, dtype=np.float64) / std
    if np.all(a64 == a64[0]) and np.all(b64 == b64[0]):
        sa = float(np.float32(a64[0]))
        sb = torch.tensor(float(np.float32(b64[0])), dtype=torch.float32, device=device)

        def prepare_uniform(x: torch.Tensor) -> torch.Tensor:
            return torch.add(sb, x, alpha=sa, out=x)  # b + a·x in one pass

        return prepare_uniform
    a = torch.tensor(a64, dtype=torch.float32, device=device)
    b = torch.tensor(b64, dtype=torch.float32, device=device)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        nhwc = x.permute(0, 2, 3, 1)
        if not nhwc.is_contiguous():
            return x * a.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)
        flat = nhwc.view(-1, x.shape[1])
        return torch.addcmul(b, flat, a, out=flat).view(nhwc.shape).permute(0, 3, 1, 2)

    return prepare


def predict_scene(
    scene_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    config: PredictConfig | None = None,
    model: tuple[Any, CheckpointMeta] | None = None,
) -> PredictResult:
    """Predict ``scene_path`` and write the probability GeoTIFF ``out_path`` (atomically).

    ``model``: an already loaded ``(model, meta)`` pair used instead of
    ``config.weights`` (several scenes with one model, or a benchmark's stand-in;
    the output then carries no model file tags).

    The steps: check the options, load and prepare the model, open the scene and
    plan its grid (at the model's GSD when the scene's differs), then run the tiles
    into one of three writers (:func:`_write_probabilities`).

    Raises:
        InputError: unreadable/unsuitable scene, bad options, missing or unfit weights
            (no output file is left behind).
        OutputError: the output cannot be written.
    """
    t0 = time.perf_counter()
    config = config or PredictConfig()
    scene_path, out_path = as_scene(scene_path), Path(out_path)
    blend, device = _checked_options(config, scene_path, out_path)
    loaded = load_runner(config, device, model)
    runner, meta = loaded.runner, loaded.meta
    tile = int(config.tile or meta.tile)
    _check_tile(tile, config.overlap, runner, str(scene_path))
    forward = make_forward(
        runner.run,
        device=device,
        outputs=runner.outputs,
        tta=loaded.tta,
        amp=resolve_amp(config.amp, device) if runner.name == "torch" else None,
        channels_last=config.channels_last and runner.name == "torch",
        fixed_batch=config.batch_size if (config.compile or device.type == "cuda") else None,
    )
    prepare = None if runner.normalised else torch_normaliser(meta.normalisation, device)
    with contextlib.ExitStack() as stack:
        scene = stack.enter_context(
            open_scene(
                scene_path,
                bands=config.bands,
                gsd_m=config.gsd_m,
                model_bands=meta.in_bands,
                bbox=config.bbox,
            )
        )
        # bound GDAL's block cache: its default (5 % of the RAM) would fill up on a big scene
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=scene.block_cache_bytes()))
        meta.check_bands(scene.count, scene_path, band_hint(scene.dataset, meta.in_bands))
        plan = _plan_grid(scene, meta, config, tile, str(device), scene_path)
        warn_if_huge(
            plan.grid, forward, config.batch_size, scene.count, device, scene_path,
            int(SizeLimits.from_env().warn_tiles),
        )  # fmt: skip

        def run(view: Any, sink: Any, factor: int = 1, tensor_sink: bool = True) -> RunStats:
            with tqdm(
                total=plan.grid.n_tiles, unit="tile", desc=scene_path.name,
                disable=not config.progress,
            ) as bar:  # fmt: skip
                return run_tiles(
                    plan.grid,
                    _strip_reader(view),
                    forward,
                    sink,
                    blend,
                    config.batch_size,
                    config.prefetch,
                    bar,
                    prepare=prepare,
                    device=device,
                    factor=factor,
                    tensor_sink=tensor_sink,
                )

        stats = _write_probabilities(
            scene, plan, run, out_path, loaded.tags, device, meta.gsd_m, stack
        )
        result = PredictResult(
            out_path=out_path,
            shape=(scene.height, scene.width),
            predicted_shape=plan.shape,
            tiles=stats.tiles,
            tiles_predicted=stats.tiles_predicted,
            seconds=time.perf_counter() - t0,
            scene_gsd_m=scene.gsd_m,
            model_gsd_m=meta.gsd_m,
            resampled=plan.resample,
            device=str(device),
            tile=tile,
            overlap=config.overlap,
            backend=runner.name,
        )
    log.info(
        "%s: %d tiles (%d predicted) in %.1f s on %s/%s (%.2f MPix/s) -> %s",
        scene_path,
        result.tiles,
        result.tiles_predicted,
        result.seconds,
        result.device,
        result.backend,
        result.mpix_per_s,
        out_path,
    )
    return result


def _checked_options(
    config: PredictConfig, scene_path: Path | RemotePath, out_path: Path
) -> tuple[BlendMode, torch.device]:
    """The blend mode and device, or one line naming the scene and the bad option."""
    try:
        blend = BlendMode.parse(config.blend)
        device = resolve_device(config.device)
    except ValueError as exc:
        raise InputError(f"{scene_path}: {exc}") from None
    if config.batch_size < 1:
        raise InputError(f"{scene_path}: batch size must be >= 1, got {config.batch_size}")
    if out_path.resolve() == scene_path.resolve():
        raise InputError(f"{out_path}: the output would overwrite the input scene")
    return blend, device


@dataclass(frozen=True)
class _GridPlan:
    """Where the tiles run: the scene's grid, or the model's GSD (``mgrid``).

    ``factor`` is the integer ratio of the two grids when there is one (resampled on
    the device), else 0 (GDAL's warper) -- and 1 when nothing is resampled.
    """

    resample: bool
    mgrid: Any
    factor: int
    shape: tuple[int, int]
    grid: TileGrid


def _plan_grid(
    scene: Any,
    meta: CheckpointMeta,
    config: PredictConfig,
    tile: int,
    device: str,
    path: Path | RemotePath,
) -> _GridPlan:
    resample = needs_resampling(scene.gsd_m, meta.gsd_m, config.gsd_tolerance)
    mgrid = model_grid(scene, meta.gsd_m) if resample else None
    factor = (integer_factor((scene.height, scene.width), mgrid) or 0) if mgrid else 1
    if resample:
        log.info(
            "%s: GSD %.3f m differs from the model's %.3f m by more than %.0f%%; resampling%s",
            path,
            scene.gsd_m,
            meta.gsd_m,
            100 * config.gsd_tolerance,
            f" (area average {factor}x{factor} on {device})" if factor else " (GDAL warper)",
        )
    shape: tuple[int, int] = (mgrid.height, mgrid.width) if mgrid else (scene.height, scene.width)
    # before anything is allocated: a plan that cannot fit is refused with its estimate
    est = check_predict_plan(path, shape, tile, config.overlap, scene.count, config.batch_size)
    log.info("%s: plan: %s", path, est.describe())
    grid = TileGrid(shape[0], shape[1], tile, config.overlap)
    return _GridPlan(resample, mgrid, factor, shape, grid)


def _write_probabilities(
    scene: Any,
    plan: _GridPlan,
    run: Any,
    out_path: Path,
    tags: dict[str, str],
    device: torch.device,
    model_gsd_m: float,
    stack: contextlib.ExitStack,
) -> RunStats:
    """Run the tiles into the output, written atomically and read back before it is renamed.

    Three ways: on the scene's grid; at the model's GSD with an integer factor (area
    average down and bilinear back on the device, by row strips); any other ratio
    through GDAL's warper and a float32 raster at the model's GSD warped back.
    """
    masked_out = scene.masked or plan.resample
    # strips into a tiled GeoTIFF, then copied as a cloud-optimised GeoTIFF (raster.cog)
    with atomic_path(out_path) as tmp:
        with cog_file(tmp, out_path) as strips, StripWriter(
            strips, scene.height, scene.width, scene.crs, scene.transform,
            masked=masked_out, tags=tags,
        ) as writer:  # fmt: skip
            if not plan.resample or plan.factor:
                with BackgroundWriter(writer, convert=_to_host(masked_out)) as bg:
                    if not plan.resample:
                        stats: RunStats = run(scene.view(), bg.write_rows)
                    else:
                        up = Upsampler(
                            plan.shape,
                            (scene.height, scene.width),
                            bg.write_rows,
                            device,
                            valid_reader=_valid_reader(scene, stack),
                            masked=scene.masked,
                        )
                        stats = run(scene.view(), up.push, factor=plan.factor)
                        up.finish()
            else:
                stats = _run_warped(scene, plan, run, out_path, writer, model_gsd_m)
        verify_written(tmp, (scene.height, scene.width), out_path)
    return stats


def _run_warped(
    scene: Any, plan: _GridPlan, run: Any, out_path: Path, writer: Any, model_gsd_m: float
) -> RunStats:
    """Tiles read through a WarpedVRT at the model's GSD, their float32 raster warped back."""
    mgrid = plan.mgrid
    with (
        tempfile.TemporaryDirectory(
            dir=out_path.parent, prefix=f".roadseg-predict.{owner_token()}.partial-"
        ) as tmpdir,
        warped_view(scene, model_gsd_m) as (view, _),
    ):
        model_raster = Path(tmpdir) / "prob_model_gsd.tif"
        with StripWriter(
            model_raster, mgrid.height, mgrid.width, scene.crs, mgrid.transform, dtype="float32"
        ) as tw:
            stats: RunStats = run(view, tw.write_rows, tensor_sink=False)
        warp_back(model_raster, scene, writer)
    return stats


def _to_host(masked: bool) -> Any:
    """Quantise on the device, copy only uint8 (and the mask, if any) back: run by the writer."""

    def convert(values: torch.Tensor, valid: torch.Tensor) -> tuple[Any, Any]:
        # invalid pixels are 0 in values already (engine and Upsampler guarantee it)
        with torch.inference_mode():
            q = quantise_tensor(values).cpu().numpy()
            return q, (valid.cpu().numpy() if masked else None)

    return convert


def _strip_reader(view: Any) -> Any:
    """Strips of an 8-bit scene read straight into pixel-interleaved memory.

    The engine wants ``(rows, cols, bands)``; GDAL can fill that layout
    directly (the ``(bands, rows, cols)`` array handed over is a transposed
    view of it), which saves a full copy of every strip. Other scenes (scaled
    or floating point) go through :meth:`RasterView.read_rows`.
    """
    dtypes = {view.dataset.dtypes[b - 1] for b in view.bands}
    if view.is_float or view.scaling.kind != "none" or dtypes != {"uint8"}:
        return view.read_rows

    def read(row_off: int, n_rows: int) -> tuple[np.ndarray, np.ndarray | None]:
        window = Window(0, row_off, view.width, n_rows)
        hwc = np.empty((n_rows, view.width, len(view.bands)), np.uint8)
        try:
            view.dataset.read(indexes=list(view.bands), window=window, out=hwc.transpose(2, 0, 1))
        except RasterioError as exc:
            raise InputError(
                f"{view.path}: could not read pixels in rows {row_off}..{row_off + n_rows - 1}; "
                f"the file looks corrupt or truncated ({exc})"
            ) from exc
        valid = view.read_valid(window) if view.masked else None
        if valid is not None and not valid.all():
            hwc[~valid] = 0
        return hwc.transpose(2, 0, 1), valid

    return read


def _valid_reader(scene: Any, stack: contextlib.ExitStack) -> Any:
    """The scene's own mask by rows, through a second handle (the reader thread uses the first)."""
    if not scene.masked:
        return None
    view = scene.view(stack.enter_context(open_raster(scene.path)))

    def read(row_off: int, n_rows: int) -> np.ndarray | None:
        return view.read_valid(Window(0, row_off, scene.width, n_rows))

    return read
