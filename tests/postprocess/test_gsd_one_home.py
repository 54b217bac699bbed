"""One GSD: the scene reader, the label grid, the vectoriser and the training tiles agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadseg.raster import SceneGrid, gsd_m, open_scene
from roadseg.raster.source import open_source
from roadseg.sample import sample_labels_path
from roadseg.training.tiles import _read

VEGAS = Path(__file__).resolve().parents[1] / "data" / "spacenet" / "vegas_img0_crop.tif"


@pytest.mark.parametrize("path", [VEGAS, sample_labels_path()], ids=["EPSG:4326", "EPSG:26986"])
def test_every_stage_reads_the_same_gsd(path):
    grid = SceneGrid.from_raster(path)
    expected = gsd_m(grid.crs, grid.transform, grid.width, grid.height)
    assert expected is not None and expected > 0
    with open_scene(path) as scene:
        assert scene.gsd_m == pytest.approx(expected, rel=1e-12)
    assert grid.gsd_m() == pytest.approx(expected, rel=1e-12)
    assert open_source(path, scan=False).gsd == pytest.approx(expected, rel=1e-12)
    assert _read(path)[1] == pytest.approx(expected, rel=1e-12)


def test_the_geographic_gsd_is_geodesic_at_the_centre():
    # 2.7e-6 degree pixels at 36.24 N: 0.2427 m east, 0.2997 m north (WGS84)
    grid = SceneGrid.from_raster(VEGAS)
    assert gsd_m(grid.crs, grid.transform, grid.width, grid.height) == pytest.approx(
        (0.2427 * 0.2997) ** 0.5, rel=5e-3
    )
