"""Many scenes on a real Dask LocalCluster: the merged network equals the whole-raster one.

One georeferenced raster with known roads is cut into a 2x2 grid of scenes. The
scenes run on 2 worker processes, their networks are merged across the seams,
and the result is compared with the network of the whole raster processed at
once (exact same model; differences can only come from the seams).
"""

from __future__ import annotations

import pytest
import rasterio
import shapely
from rasterio.windows import Window

from roadseg.cli import main
from roadseg.distributed import run_scenes
from roadseg.errors import InputError
from roadseg.pipeline.config import load_extract_config
from roadseg.pipeline.extract import extract_scene
from roadseg.pipeline.inputs import expand_scenes
from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene

ROADS = [
    ((100, 0), (100, 383)),
    ((0, 40), (255, 300)),
    ((10, 250), (250, 250)),
    ((200, 20), (140, 380)),
]
FAST = {"predict.tile": 64, "predict.overlap": 8, "progress": False}
H, W = 256, 384
WINDOWS = [(0, 0, 128, 192), (0, 192, 128, 192), (128, 0, 128, 192), (128, 192, 128, 192)]
SEAM_X, SEAM_Y = 500000.0 + 192 * 2.0, 5000000.0 - 128 * 2.0


@pytest.fixture(scope="module")
def mosaic(tmp_path_factory):
    """The whole raster, its four pieces, a VRT of the pieces, the model, the whole network."""
    d = tmp_path_factory.mktemp("mosaic")
    model = brightness_checkpoint(d / "bright.safetensors")
    whole = write_road_scene(d / "whole.tif", ROADS, H, W)
    parts = []
    with rasterio.open(whole) as src:
        profile = src.profile
        for i, (r, c, h, w) in enumerate(WINDOWS):
            win = Window(c, r, w, h)
            p = d / "scenes" / f"part{i}.tif"
            p.parent.mkdir(exist_ok=True)
            with rasterio.open(
                p, "w", **dict(profile, width=w, height=h, transform=src.window_transform(win))
            ) as dst:
                dst.write(src.read(window=win))
            parts.append(p)
        vrt = _write_vrt(d / "scenes" / "mosaic.vrt", parts, src)
    cfg = load_extract_config(None, {"predict.weights": str(model), **FAST})
    reference = extract_scene(whole, d / "whole.gpkg", cfg).network
    return {
        "dir": d,
        "model": model,
        "parts": parts,
        "vrt": vrt,
        "reference": reference,
        "cfg": cfg,
    }


def _write_vrt(path, parts, src):
    bands = []
    for b in range(1, 4):
        sources = "".join(
            f'<SimpleSource><SourceFilename relativeToVRT="1">{p.name}</SourceFilename>'
            f"<SourceBand>{b}</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="{c}" yOff="{r}" xSize="{w}" ySize="{h}"/></SimpleSource>'
            for p, (r, c, h, w) in zip(parts, WINDOWS)
        )
        bands.append(f'<VRTRasterBand dataType="Byte" band="{b}">{sources}</VRTRasterBand>')
    gt = ", ".join(repr(v) for v in src.transform.to_gdal())
    path.write_text(
        f'<VRTDataset rasterXSize="{W}" rasterYSize="{H}"><SRS>{src.crs.to_wkt()}</SRS>'
        f"<GeoTransform>{gt}</GeoTransform>{''.join(bands)}</VRTDataset>"
    )
    return path


def _assert_same_network(merged, reference, seam_m=10.0):
    """Same topology, same geometry within the seam tolerance, no dangling ends at seams."""
    assert len(merged.edges) == len(reference.edges)
    assert len(merged.nodes) == len(reference.nodes)
    assert sorted(merged.nodes["degree"]) == sorted(reference.nodes["degree"])
    a = shapely.MultiLineString(list(merged.edges.geometry))
    b = shapely.MultiLineString(list(reference.edges.geometry))
    assert a.hausdorff_distance(b) < seam_m
    assert merged.total_length_m == pytest.approx(reference.total_length_m, rel=0.02)
    for pt, deg in zip(merged.nodes.geometry, merged.nodes["degree"]):
        on_seam = abs(pt.x - SEAM_X) < seam_m or abs(pt.y - SEAM_Y) < seam_m
        assert not (on_seam and deg == 1), f"a road end left unjoined at a seam: {pt}"


def test_cli_many_scenes_on_a_local_cluster(mosaic, capfd):
    """2 workers, four scenes and a corrupt one: merged like the whole, the corrupt one reported."""
    corrupt = mosaic["dir"] / "scenes" / "corrupt.tif"
    good = mosaic["parts"][0].read_bytes()
    corrupt.write_bytes(good[: len(good) // 3])  # a truncated GeoTIFF
    out = mosaic["dir"] / "merged.gpkg"
    rc = main(
        [
            "extract",
            *map(str, mosaic["parts"]),
            str(corrupt),
            "-o",
            str(out),
            "--weights",
            str(mosaic["model"]),
            "--tile",
            "64",
            "--overlap",
            "8",
            "--no-progress",
            "--workers",
            "2",
            "--threads-per-worker",
            "1",
            "--summary-json",
            str(mosaic["dir"] / "sum.json"),
        ]
    )
    err = capfd.readouterr().err
    assert rc == 3, err  # some scenes failed (not 2: that is a usage error)
    assert str(corrupt) in err
    import json

    import geopandas as gpd

    from roadseg.vector import RoadNetwork

    edges = gpd.read_file(out, layer="edges")
    nodes = gpd.read_file(out, layer="nodes")
    _assert_same_network(RoadNetwork(edges, nodes, edges.crs, 2.0), mosaic["reference"])
    # each edge names the scenes it came from (the corrupt one gave none)
    named = set(";".join(edges["scene"]).split(";"))
    assert named == set(map(str, mosaic["parts"]))
    summary = json.loads((mosaic["dir"] / "sum.json").read_text())
    assert list(summary["failed"]) == [str(corrupt)] and summary["scenes"] == 5
    assert not (mosaic["dir"] / ".roadseg-cache").exists()
    corrupt.unlink()


def test_existing_scheduler_gpu_workers_and_a_vrt_mosaic(mosaic, capfd):
    """--scheduler: a cluster started elsewhere whose workers offer GPU=1; the VRT mosaic fans
    out to its sources and inference tasks only run where the GPU resource is."""
    from distributed import LocalCluster

    scenes = expand_scenes([mosaic["vrt"]], expand_vrt=True)
    assert [s.name for s in scenes] == [p.name for p in mosaic["parts"]]
    with pytest.raises(InputError, match="cache-dir"):
        run_scenes(scenes, mosaic["cfg"], scheduler="tcp://127.0.0.1:1")
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        resources={"GPU": 1},
        dashboard_address=None,
    ) as cluster:
        result = run_scenes(
            scenes,
            mosaic["cfg"],
            scheduler=cluster.scheduler_address,
            gpu_resources=True,
            cache_dir=mosaic["dir"] / "cache",
        )
        assert not result.failed and len(result.outcomes) == 4
        assert all(o.worker and o.worker.startswith("tcp://") for o in result.outcomes)
        _assert_same_network(result.network, mosaic["reference"])
        assert result.network.metadata["scenes"] == [str(s) for s in scenes]
        # a client given by the caller, no cache folder: a temporary one, removed afterwards
        from distributed import Client

        with Client(cluster) as client:
            again = run_scenes(scenes, mosaic["cfg"], client=client, gpu_resources=True)
        assert not again.failed and all(o.probability is None for o in again.outcomes)
        _assert_same_network(again.network, mosaic["reference"])
        # the command line on the same cluster: every scene failing writes nothing
        bad = [mosaic["dir"] / "missing1.tif", mosaic["dir"] / "missing2.tif"]
        out = mosaic["dir"] / "none.geojson"
        rc = main(
            [
                "extract",
                *map(str, bad),
                "-o",
                str(out),
                "--scheduler",
                cluster.scheduler_address,
                "--cache-dir",
                str(mosaic["dir"] / "cache"),
                "--weights",
                str(mosaic["model"]),
                "--gpu-workers",
                "--no-progress",
            ]
        )
        err = capfd.readouterr().err
        assert rc == 4 and "every scene failed (2)" in err
        assert all(str(b) in err for b in bad) and not out.exists()
