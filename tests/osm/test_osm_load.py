"""Road loading: real .pbf extract, .osm XML, vector formats, filters, reprojection, clipping."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import osmium
import pytest
from shapely.geometry import box

from roadseg.errors import InputError
from roadseg.osm import (
    MASSACHUSETTS,
    RoadLoadConfig,
    SceneGrid,
    load_roads,
    resolve_highway_filter,
)

DATA = Path(__file__).resolve().parents[1] / "data"
PBF = DATA / "osm" / "kouvola_test.osm.pbf"
VEGAS_OSM = (
    DATA / "spacenet" / "vegas_labels_spacenet_vs_osm" / "osm" / "AOI_2_Vegas_img991.geojson"
)
VEGAS_SN = DATA / "spacenet" / "AOI_2_Vegas_img0.geojson"
VEGAS_CROP = DATA / "spacenet" / "vegas_img0_crop.tif"

# Counted once with pyosmium over the extract (tests/data/osm/SOURCES.md): the preset matches
# 215 ways, 8 of which have fewer than two located nodes in the extract.
KOUVOLA_MASSACHUSETTS = {
    "residential": 124,
    "service": 36,
    "tertiary": 20,
    "secondary": 13,
    "motorway_link": 10,
    "motorway": 2,
    "living_street": 1,
    "unclassified": 1,
}


def _way_counts(gdf: gpd.GeoDataFrame) -> dict[str, int]:
    ways = gdf.drop_duplicates("osm_id")
    return ways["highway"].value_counts().to_dict()


def test_presets():
    assert resolve_highway_filter("massachusetts") == MASSACHUSETTS
    assert resolve_highway_filter("all") is None and resolve_highway_filter(None) is None
    assert resolve_highway_filter("primary, residential") == {"primary", "residential"}
    assert resolve_highway_filter(["track"]) == {"track"}
    assert "footway" not in MASSACHUSETTS and "cycleway" not in MASSACHUSETTS
    with pytest.raises(ValueError):
        resolve_highway_filter(",")


def test_pbf_massachusetts_preset_counts():
    roads = load_roads(PBF)  # the massachusetts preset is the default for OSM files
    assert _way_counts(roads) == KOUVOLA_MASSACHUSETTS
    assert roads.crs.to_epsg() == 4326
    assert set(roads.geom_type) == {"LineString"}
    minx, miny, maxx, maxy = roads.total_bounds
    assert 26.9 < minx < maxx < 27.0 and 60.5 < miny < maxy < 60.56


def test_pbf_all_and_custom_filters():
    all_roads = load_roads(PBF, RoadLoadConfig(highways="all"))
    assert all_roads["osm_id"].nunique() == 331  # of 343 highway ways, 12 are cut away
    assert _way_counts(all_roads)["cycleway"] > 0
    custom = load_roads(PBF, RoadLoadConfig(highways="residential,tertiary"))
    assert _way_counts(custom) == {"residential": 124, "tertiary": 20}


def test_osm_xml_gives_the_same_roads(tmp_path):
    xml = tmp_path / "kouvola.osm"
    writer = osmium.SimpleWriter(str(xml))
    for obj in osmium.FileProcessor(str(PBF)):
        writer.add(obj)
    writer.close()
    assert _way_counts(load_roads(xml)) == KOUVOLA_MASSACHUSETTS


def test_way_with_missing_node_is_split_not_bridged(tmp_path):
    xml = tmp_path / "cut.osm"
    xml.write_text(
        """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="60.0" lon="25.000"/>
  <node id="2" lat="60.0" lon="25.001"/>
  <node id="4" lat="60.0" lon="25.003"/>
  <node id="5" lat="60.0" lon="25.004"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="residential"/></way>
  <way id="11"><nd ref="1"/><nd ref="5"/><tag k="highway" v="footway"/></way>
</osm>
"""
    )
    roads = load_roads(xml)
    assert list(roads["osm_id"]) == [10, 10]
    assert sorted(round(g.length, 6) for g in roads.geometry) == [0.001, 0.001]


def test_new_objects_with_negative_ids_are_located(tmp_path):
    """An editor's new nodes and ways (negative ids, e.g. roadseg's .osm output or a JOSM file
    saved before upload), joined to existing ones: pyosmium's cache drops negative ids."""
    xml = tmp_path / "edited.osm"
    xml.write_text(
        """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" upload="never">
  <node id="1" lat="60.0" lon="25.000"/>
  <node id="2" lat="60.0" lon="25.001"/>
  <node id="-1" lat="60.001" lon="25.001"/>
  <node id="-2" lat="60.002" lon="25.001"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
  <way id="-3"><nd ref="2"/><nd ref="-1"/><nd ref="-2"/><nd ref="-9"/>
    <tag k="highway" v="road"/></way>
</osm>
"""
    )
    roads = load_roads(xml)
    assert list(roads["osm_id"]) == [10, -3]
    new = roads.geometry[1]
    assert [tuple(round(c, 6) for c in p) for p in new.coords] == [
        (25.001, 60.0),
        (25.001, 60.001),
        (25.001, 60.002),
    ]  # the missing node -9 ends the run, as for any node without location


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_vector_formats_and_highway_column(tmp_path, suffix):
    src = gpd.read_file(VEGAS_OSM)
    path = tmp_path / f"roads{suffix}"
    src[["highway", "geometry"]].to_file(path)
    roads = load_roads(path, RoadLoadConfig(highways="all"))
    assert len(roads) == len(src.explode(index_parts=False))
    mass = load_roads(path)  # a highway column → the massachusetts preset applies
    assert set(mass["highway"]) <= MASSACHUSETTS
    assert len(mass) == int(src["highway"].isin(MASSACHUSETTS).sum())


def test_file_without_highway_column(tmp_path):
    roads = load_roads(VEGAS_SN)  # SpaceNet labels: no OSM classes, all lines kept
    assert len(roads) == 38 and roads["highway"].isna().all()
    with pytest.raises(InputError, match="AOI_2_Vegas_img0.geojson: a highway filter"):
        load_roads(VEGAS_SN, RoadLoadConfig(highways="residential"))


def test_reprojection_and_clipping_to_a_scene():
    grid = SceneGrid.from_raster(VEGAS_CROP)
    utm = gpd.GeoSeries([grid.footprint()], crs=grid.crs).estimate_utm_crs()
    foot_utm = gpd.GeoSeries([grid.footprint()], crs=grid.crs).to_crs(utm).iloc[0]
    roads = load_roads(VEGAS_SN, RoadLoadConfig(crs=utm, clip=foot_utm))
    assert roads.crs == utm
    assert 0 < roads.length.sum() < load_roads(VEGAS_SN).to_crs(utm).length.sum()
    assert roads.geometry.within(foot_utm.buffer(1e-6)).all()


def test_labels_outside_the_scene_are_an_error():
    grid = SceneGrid.from_raster(VEGAS_CROP)
    far = box(0, 0, 0.01, 0.01)  # Gulf of Guinea
    with pytest.raises(InputError, match="no road overlaps the scene footprint") as exc:
        load_roads(VEGAS_SN, RoadLoadConfig(crs=grid.crs, clip=far))
    assert str(exc.value).startswith(str(VEGAS_SN))


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_roads(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf")
    with pytest.raises(InputError, match="bad.osm.pbf"):
        load_roads(bad)
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputError, match="no road line geometry"):
        load_roads(empty)
    assert load_roads(empty, RoadLoadConfig(allow_empty=True)).empty
