"""Which scenes a command line names: files, folders, VRT mosaics, duplicates."""

from __future__ import annotations

import pytest

from roadseg.errors import InputError
from roadseg.pipeline.inputs import expand_scenes
from roadseg.sample.synthetic import write_road_scene


def _vrt(path, sources):
    """A one-band VRT that reads ``sources`` side by side (enough for the file listing)."""
    body = "".join(
        f'<SimpleSource><SourceFilename relativeToVRT="1">{s.name}</SourceFilename>'
        f'<SourceBand>1</SourceBand><DstRect xOff="{32 * i}" yOff="0" xSize="32" ySize="32"/>'
        "</SimpleSource>"
        for i, s in enumerate(sources)
    )
    path.write_text(
        f'<VRTDataset rasterXSize="{32 * len(sources)}" rasterYSize="32">'
        f'<VRTRasterBand dataType="Byte" band="1">{body}</VRTRasterBand></VRTDataset>'
    )
    return path


def test_files_folders_and_duplicates(tmp_path):
    a = write_road_scene(tmp_path / "b.tif", [], 32, 32)
    b = write_road_scene(tmp_path / "a.tif", [], 32, 32)
    (tmp_path / "notes.txt").write_text("not a scene")
    assert expand_scenes([tmp_path]) == [b, a]  # sorted, rasters only
    assert expand_scenes([a, tmp_path]) == [a, b]  # a given twice: kept once, first place
    missing = tmp_path / "missing.tif"
    assert expand_scenes([missing, a]) == [missing, a]  # reported later, per scene
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no rasters"):
        expand_scenes([empty])
    with pytest.raises(InputError, match="no input"):
        expand_scenes([])


def test_vrt_mosaic_is_one_scene_unless_split(tmp_path):
    parts = [write_road_scene(tmp_path / f"p{i}.tif", [], 32, 32) for i in range(3)]
    vrt = _vrt(tmp_path / "mosaic.vrt", parts)
    assert expand_scenes([vrt]) == [vrt]
    assert [p.name for p in expand_scenes([vrt], expand_vrt=True)] == ["p0.tif", "p1.tif", "p2.tif"]
    # with other inputs, a VRT stands for its sources (and duplicates collapse)
    assert [p.name for p in expand_scenes([parts[0], vrt])] == ["p0.tif", "p1.tif", "p2.tif"]
