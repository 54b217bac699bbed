"""One raster I/O layer: outside ``roadseg.raster`` rasters are opened only through it.

Every module of the package outside ``roadseg/raster/`` is parsed; a reference to
``rasterio.open`` (under any alias of the module, called or passed along) or a
``from rasterio import open`` is a violation. Opening goes through
:func:`roadseg.raster.io.open_raster` (or the readers built on it: ``open_scene``,
``open_source``), so that a change to how rasters are opened (remote paths, GDAL
options, error wording) has one place to go.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.transform import from_origin

import roadseg
from roadseg.raster.io import open_raster

PACKAGE = Path(roadseg.__file__).resolve().parent
LAYER = PACKAGE / "raster"

#: modules outside ``roadseg.raster`` allowed to call ``rasterio.open`` themselves, with the
#: reason; empty: every caller goes through the layer.
ALLOWED: dict[str, str] = {}


def direct_opens(source: str) -> list[int]:
    """Line numbers where ``source`` reaches ``rasterio.open`` without the raster layer."""
    tree = ast.parse(source)
    aliases = {
        a.asname or a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
        if a.name == "rasterio"
    }
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "open"
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "rasterio":
            lines += [node.lineno for a in node.names if a.name == "open"]
    return sorted(lines)


def test_no_module_outside_the_raster_layer_opens_rasters_itself():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if LAYER not in path.parents and str(path.relative_to(PACKAGE.parent)) not in ALLOWED
        for line in direct_opens(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "open rasters with roadseg.raster.io.open_raster"


@pytest.mark.parametrize(
    "source, lines",
    [
        ("import rasterio\nwith rasterio.open(p) as ds:\n    pass\n", [2]),
        ("import rasterio as rio\nds = rio.open(p, 'w')\n", [2]),
        ("def f(p):\n    import rasterio\n    opener = rasterio.open\n", [3]),
        ("from rasterio import open as ropen\n", [1]),
        ("import rasterio\nwith rasterio.Env():\n    pass\nopen('x.txt')\n", []),
        ("from roadseg.raster.io import open_raster\nopen_raster(p)\n", []),
    ],
)
def test_the_check_finds_direct_opens(source: str, lines: list[int]):
    assert direct_opens(source) == lines


def test_open_raster_reads_and_writes_as_rasterio_does(tmp_path: Path):
    path = tmp_path / "m.tif"
    data = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    profile = {
        "driver": "GTiff",
        "width": 4,
        "height": 3,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:32619",
        "transform": from_origin(300000, 4600000, 0.5, 0.5),
    }
    with open_raster(path, "w", **profile) as ds:
        ds.write(data)
    with open_raster(path) as ours, rasterio.open(path) as theirs:
        assert (ours.crs, ours.transform, ours.profile) == (
            theirs.crs,
            theirs.transform,
            theirs.profile,
        )
        np.testing.assert_array_equal(ours.read(), data)


def test_open_raster_keeps_rasterios_errors(tmp_path: Path):
    """Callers catch ``RasterioIOError`` to write their one-line message: the class is kept."""
    with pytest.raises(RasterioIOError):
        open_raster(tmp_path / "missing.tif")
    (tmp_path / "not.tif").write_bytes(b"not a raster")
    with pytest.raises(RasterioIOError):
        open_raster(tmp_path / "not.tif")


def test_open_raster_hands_gdal_a_url_as_roadseg_uri_names_it(monkeypatch: pytest.MonkeyPatch):
    """A URL reaches GDAL as its ``/vsicurl/`` name with the remote settings applied."""
    from roadseg.uri import REMOTE_GDAL_OPTIONS

    for key in REMOTE_GDAL_OPTIONS:  # set then removed: the test's end removes what it sets
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    opened: list[object] = []
    monkeypatch.setattr(rasterio, "open", lambda path, mode, **kw: opened.append(path))
    open_raster("https://example.invalid/imagery/scene.tif")
    open_raster(Path("local/scene.tif"))
    assert opened == ["/vsicurl/https://example.invalid/imagery/scene.tif", "local/scene.tif"]
    assert all(key in os.environ for key in REMOTE_GDAL_OPTIONS)
