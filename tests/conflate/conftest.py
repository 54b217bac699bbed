"""Helpers of the conflation tests: small line layers in a metric CRS, the CLI in-process."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from roadseg.cli import main

CRS = "EPSG:32633"
X0, Y0 = 500000.0, 5000000.0


def line(*xy: tuple[float, float]) -> LineString:
    """A line through points given relative to (X0, Y0), in metres."""
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def write_lines(path: Path, lines: Sequence[LineString], crs: str = CRS, **columns: list) -> Path:
    gpd.GeoDataFrame(dict(columns), geometry=list(lines), crs=crs).to_file(path)
    return path


def write_osm(path: Path, lines: Sequence[LineString], highway: str = "residential") -> Path:
    ids = list(range(101, 101 + len(lines)))
    return write_lines(path, lines, osm_id=ids, highway=[highway] * len(lines))


def read_metric(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(path).to_crs(CRS)


@pytest.fixture
def run_cli(capsys):
    """``roadseg ARGS`` in-process: (exit status, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        status = main([str(a) for a in args])
        out = capsys.readouterr()
        return status, out.out, out.err

    return run
