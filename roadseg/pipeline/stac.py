"""Scenes from STAC metadata: an item, an ItemCollection or a static catalogue.

``roadseg extract --stac ITEMS`` reads ITEMS (a local file or a URL) with
:mod:`pystac` and runs on one imagery asset of every item:

* a STAC **Item** (``"type": "Feature"``);
* an **ItemCollection** (``"type": "FeatureCollection"``), e.g. the saved result
  of a STAC API search (see ``docs/remote.md`` for pystac-client);
* a static **Catalog** or **Collection**: every item below it, recursively.

The asset (:func:`choose_asset`): ``--asset NAME`` when given; otherwise the
asset whose roles include ``visual``, else the one named ``visual``, else the one
whose ``eo:bands`` (or STAC 1.1 ``bands``) hold red, green and blue common names
(the fewest bands first), else the only image asset. An item without a fitting
asset is refused with one line that lists its assets.

With ``bbox`` (WGS 84 W,S,E,N), items whose own ``bbox`` misses it are dropped
before anything is opened; the others are clipped to it when read
(:func:`roadseg.raster.scene.open_scene`). Assets are named by their absolute href
(a URL stays a URL: GDAL reads it by range requests, see :mod:`roadseg.uri`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from roadseg.errors import InputError
from roadseg.uri import is_remote

log = logging.getLogger(__name__)

RGB = {"red", "green", "blue"}
IMAGE_TYPES = ("image/tiff", "image/jp2", "image/vnd.stac.geotiff")


@dataclass(frozen=True)
class StacScene:
    """One item's chosen asset: where it is and what it was called."""

    item: str
    asset: str
    href: str


def _read(source: str) -> list[Any]:
    """The items of ``source`` (item, item collection or catalogue)."""
    import pystac
    from pystac.errors import STACError

    try:
        data = pystac.StacIO.default().read_json(source)
    except FileNotFoundError as exc:
        raise InputError(f"{source}: STAC file not found") from exc
    except Exception as exc:  # a network error, a file that is not JSON
        raise InputError(f"{source}: cannot read as STAC JSON ({exc})") from exc
    kind = data.get("type") if isinstance(data, dict) else None
    try:
        if kind == "Feature":
            return [pystac.Item.from_dict(data, href=source)]
        if kind == "FeatureCollection":
            items = pystac.ItemCollection.from_dict(data).items
            for item in items:
                if item.get_self_href() is None:  # relative hrefs: relative to the file
                    item.set_self_href(_join(source, f"{item.id}.json"))
            return list(items)
        if kind in ("Catalog", "Collection"):
            return list(pystac.read_file(source).get_items(recursive=True))  # type: ignore[attr-defined]
    except (STACError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{source}: not valid STAC ({exc})") from exc
    raise InputError(f"{source}: not a STAC item, item collection or catalogue (type {kind!r})")


def _join(base: str, href: str) -> str:
    if is_remote(base):
        return urljoin(base, href)
    return os.path.join(os.path.dirname(os.path.abspath(base)), href)


def _band_names(asset: Any, item: Any) -> set[str]:
    bands = asset.extra_fields.get("eo:bands") or asset.extra_fields.get("bands") or []
    if not bands and len(item.assets) == 1:
        bands = item.properties.get("eo:bands") or []
    names = set()
    for b in bands:
        if isinstance(b, dict):
            names.add(str(b.get("common_name") or b.get("eo:common_name") or "").lower())
    return names


def choose_asset(item: Any, name: str | None = None) -> str:
    """The key of the imagery asset of ``item`` (see the module docstring)."""
    assets = item.assets
    listing = ", ".join(sorted(assets)) or "none"
    if name is not None:
        if name not in assets:
            raise InputError(f"item {item.id}: has no asset {name!r} (assets: {listing})")
        return name
    visual = [k for k, a in assets.items() if "visual" in (a.roles or [])]
    if visual:
        return visual[0]
    if "visual" in assets:
        return "visual"
    rgb = [(len(_band_names(a, item)), k) for k, a in assets.items() if RGB <= _band_names(a, item)]
    if rgb:
        return min(rgb)[1]
    images = [k for k, a in assets.items() if (a.media_type or "").startswith(IMAGE_TYPES)]
    if len(images) == 1:
        return images[0]
    raise InputError(
        f"item {item.id}: no visual or RGB asset to choose by itself; "
        f"name one with --asset (assets: {listing})"
    )


def _overlaps(item: Any, bbox: Sequence[float] | None) -> bool:
    if bbox is None or not item.bbox:
        return True
    w, s, e, n = item.bbox[:2] + item.bbox[-3:-1] if len(item.bbox) == 6 else item.bbox
    return not (e < bbox[0] or w > bbox[2] or n < bbox[1] or s > bbox[3])


def stac_scenes(
    source: str | os.PathLike[str],
    asset: str | None = None,
    bbox: Sequence[float] | None = None,
) -> list[StacScene]:
    """The imagery of every item of ``source`` (overlapping ``bbox`` when given).

    Raises:
        InputError: ``source`` is not readable STAC, an item has no fitting asset, or
            no item is left (none at all, or none overlapping ``bbox``).
    """
    source = os.fspath(source)
    items = _read(source)
    if not items:
        raise InputError(f"{source}: the STAC file holds no item")
    kept = [i for i in items if _overlaps(i, bbox)]
    if not kept:
        raise InputError(f"{source}: none of its {len(items)} items overlaps --bbox")
    scenes = []
    for item in kept:
        key = choose_asset(item, asset)
        href = item.assets[key].get_absolute_href() or item.assets[key].href
        scenes.append(StacScene(item.id, key, href))
    log.info(
        "%s: %d of %d items (asset %s)",
        source,
        len(scenes),
        len(items),
        ", ".join(sorted({s.asset for s in scenes})),
    )
    return scenes
