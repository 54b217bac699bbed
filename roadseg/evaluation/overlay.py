"""PNG overlay of a binary prediction against labels over the imagery, with its metrics.

Colours: true positives (predicted road pixels within ρ of a label pixel)
green, false positives (predicted, no label within ρ) red, misses (label road
pixels with no prediction within ρ) blue, drawn over the dimmed imagery (or a
grey background when there is none). The PNG is written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from roadseg.atomic import atomic_path
from roadseg.evaluation.slack import PAPER_RHO_PX

TP_COLOUR = (0, 200, 0)
FP_COLOUR = (230, 30, 30)
MISS_COLOUR = (40, 90, 255)
MIN_WIDTH_PX = 480  # narrower overlays are enlarged so that the legend and caption fit


def _unit_rgb(c: tuple[int, int, int]) -> tuple[float, float, float]:
    """An 8-bit colour as matplotlib's 0..1 floats."""
    return (c[0] / 255, c[1] / 255, c[2] / 255)


def to_rgb8(image: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """Imagery (bands × H × W, any dtype) as an H × W × 3 uint8 picture.

    Non-uint8 data is stretched between its 2nd and 98th percentiles; a single
    band is shown in grey. None gives a mid-grey background.
    """
    if image is None:
        return np.full((*shape, 3), 128, np.uint8)
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[None]
    img = img[:3] if img.shape[0] >= 3 else np.repeat(img[:1], 3, axis=0)
    if img.dtype != np.uint8:
        f = img.astype(np.float32)
        lo, hi = np.percentile(f, [2, 98])
        img = np.clip((f - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    return np.moveaxis(img, 0, -1)


def overlay_rgb(
    pred: np.ndarray,
    label: np.ndarray,
    image: np.ndarray | None = None,
    rho: int = PAPER_RHO_PX,
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """The overlay as an H × W × 3 uint8 array (see module docstring)."""
    pred = np.asarray(pred, bool)
    label = np.asarray(label, bool)
    if valid is not None:
        pred, label = pred & valid, label & valid
    size = 2 * rho + 1
    near_label = ndimage.maximum_filter(label.view(np.uint8), size=size, mode="constant") > 0
    near_pred = ndimage.maximum_filter(pred.view(np.uint8), size=size, mode="constant") > 0
    rgb = (to_rgb8(image, pred.shape).astype(np.float32) * 0.55).astype(np.uint8)
    if valid is not None:
        rgb[~valid] = (rgb[~valid] * 0.4).astype(np.uint8)
    rgb[pred & near_label] = TP_COLOUR
    rgb[pred & ~near_label] = FP_COLOUR
    rgb[label & ~near_pred] = MISS_COLOUR
    return rgb


def _wrap(lines: list[str], width: int) -> list[str]:
    import textwrap

    out: list[str] = []
    for line in lines:
        out += textwrap.wrap(line, width=width, break_long_words=True) or [""]
    return out


def write_overlay(rgb: np.ndarray, path: str | Path, caption: list[str] | None = None) -> list[str]:
    """Write the overlay at native resolution, with a colour legend and a caption below.

    The caption lines (the metric values, the parameters) are wrapped to the image width
    and the band below the image grows to hold them all, so nothing is cut however narrow
    the image; an image narrower than 480 px is enlarged by a whole factor (nearest
    neighbour) so that legend and caption have room. Returns the caption as drawn (wrapped lines). Written atomically.
    """
    fig, lines = overlay_figure(rgb, caption)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)
    return lines


def overlay_figure(rgb: np.ndarray, caption: list[str] | None = None) -> Any:
    """The figure :func:`write_overlay` saves, and its wrapped caption lines."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    h, w = rgb.shape[:2]
    dpi = 100
    zoom = max(1, math.ceil(MIN_WIDTH_PX / w))  # small images are enlarged (whole pixels)
    h, w = h * zoom, w * zoom
    font = max(6.0, min(11.0, w / 60))
    char_px = 0.62 * font * dpi / 72  # a generous mean character width of the sans font
    lines = _wrap(list(caption or []), max(12, int(0.96 * w / char_px)))
    line_in = 1.45 * font / 72
    legend_in = 0.32 + (0.2 if w / char_px < 60 else 0.0)  # the legend takes 2 rows if narrow
    caption_in = len(lines) * line_in + (0.12 if lines else 0.0)
    band_in = legend_in + caption_in
    fig_h = h / dpi + band_in
    fig = Figure(figsize=(w / dpi, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, band_in / fig_h, 1, (h / dpi) / fig_h))
    ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    handles = [
        Patch(color=_unit_rgb(TP_COLOUR), label="true positive"),
        Patch(color=_unit_rgb(FP_COLOUR), label="false positive"),
        Patch(color=_unit_rgb(MISS_COLOUR), label="missed road"),
    ]
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, band_in / fig_h),
        ncol=3 if w / char_px >= 60 else 2,
        frameon=False,
        fontsize=font,
        handlelength=1.0,
        columnspacing=0.8,
    )
    if lines:
        fig.text(
            0.02,
            (caption_in - 0.06) / fig_h,
            "\n".join(lines),
            ha="left",
            va="top",
            fontsize=font,
            linespacing=1.25,
        )
    return fig, lines


def overlay_path(plot: str | Path, index: int, n_scenes: int, source: str | Path) -> Path:
    """Where the overlay of scene ``index`` (of ``n_scenes``) goes: ``plot`` itself for one
    scene, else ``<plot stem>_<index>_<source stem>.png`` beside it (the one naming rule of
    ``evaluate --plot``, ``extract --evaluate`` and the many-scene run).

    >>> overlay_path("o.png", 0, 1, "a.tif").name, overlay_path("out/o.png", 1, 3, "b.tif").as_posix()
    ('o.png', 'out/o_1_b.png')
    """
    plot = Path(plot)
    if n_scenes == 1:
        return plot
    return plot.with_name(f"{plot.stem}_{index}_{Path(source).stem}{plot.suffix or '.png'}")


def overlay_caption(
    src: Path,
    threshold: float,
    rho: int,
    gsd: float | None,
    counts: Any,
    level: int,
    info: dict,
) -> list[str]:
    """The overlay's caption: this scene's metric values and what they were measured with."""
    slack = f"ρ = {rho} px" + (f" ({rho * gsd:.1f} m)" if gsd else "")
    relaxed, strict = counts.relaxed_at(level), counts.strict_at(level)
    lines = [
        f"{src.name}: threshold {threshold:g}, {slack}",
        f"relaxed precision {_f(relaxed['relaxed_precision'])}, "
        f"recall {_f(relaxed['relaxed_recall'])}; IoU {_f(strict['iou'])}, F1 {_f(strict['f1'])}",
    ]
    m = info.get("scene_metrics")
    if m:
        lines.append(
            f"APLS {_f(m.get('apls'))}, TOPO F1 {_f(m.get('topo_f1'))}, "
            f"buffer quality {_f(m.get('quality'))}"
        )
    if "excluded_fraction" in info:
        lines.append(
            f"left out as no imagery: {info['excluded_fraction']:.1%} "
            f"({info['excluded_rule']}), shaded"
        )
    return lines


def _f(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"
