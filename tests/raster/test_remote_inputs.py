"""Scenes read over HTTP (a loopback server with Range requests): same results as local files,
one-line errors naming the URL and the HTTP status, outputs checked against inputs by URL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil

from roadseg.cli import main as cli_main
from roadseg.errors import InputError, OutputError
from roadseg.io_guard import check_paths
from roadseg.pipeline.inputs import expand_scenes
from roadseg.raster.scene import open_scene
from roadseg.sample.synthetic import brightness_checkpoint, write_road_scene
from roadseg.uri import RemotePath, scene_path
from tests.raster.range_server import RangeServer

ROADS = [((100, 0), (100, 383)), ((0, 40), (255, 300)), ((10, 250), (250, 250))]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return brightness_checkpoint(tmp_path_factory.mktemp("m") / "bright.safetensors")


@pytest.fixture
def served(tmp_path):
    """A COG of a road scene in ``tmp_path/www``, served on 127.0.0.1 for the test only."""
    www = tmp_path / "www"
    www.mkdir()
    plain = write_road_scene(tmp_path / "plain.tif", ROADS, height=256, width=384)
    rasterio.shutil.copy(plain, www / "scene.tif", driver="COG", blocksize=128)
    with RangeServer(www) as server:
        yield server, www / "scene.tif"


def test_url_names_survive_and_map_to_gdal_paths():
    p = scene_path("http://127.0.0.1:8765/a/scene.tif")
    assert isinstance(p, RemotePath) and str(p) == "http://127.0.0.1:8765/a/scene.tif"
    assert p.gdal == "/vsicurl/http://127.0.0.1:8765/a/scene.tif" and p.stem == "scene"
    assert scene_path("gs://b/k/x.tif").gdal == "/vsigs/b/k/x.tif"
    assert scene_path("az://c/x.tif?sv=1").name == "x.tif"
    # s3://b/k and /vsis3/b/k are the same input: given twice, processed once
    assert expand_scenes(["s3://b/k.tif", "/vsis3/b/k.tif"]) == [scene_path("s3://b/k.tif")]


def test_outputs_are_checked_against_remote_inputs_by_url(tmp_path):
    with pytest.raises(OutputError, match="is a URL; outputs are written to local files"):
        check_paths([("-o", "s3://bucket/prob.tif")], [("scene", "s3://bucket/scene.tif")])
    check_paths([("-o", tmp_path / "p.tif")], [("scene", "https://h/scene.tif")])


def test_open_scene_over_http_reads_the_same_pixels(served):
    server, local = served
    with open_scene(server.url("scene.tif")) as remote, open_scene(local) as disk:
        assert (remote.width, remote.height, remote.crs) == (disk.width, disk.height, disk.crs)
        a, _ = remote.view().read_rows(0, 128)
        b, _ = disk.view().read_rows(0, 128)
    np.testing.assert_array_equal(a, b)
    assert all(rng is None or rng.startswith("bytes=") for _, _, rng in server.requests)


@pytest.mark.parametrize(("status", "reason"), [(404, "not found"), (500, "server error")])
def test_missing_or_failing_remote_file_is_one_line_with_url_and_status(served, status, reason):
    server, _ = served
    server.status["gone.tif"] = status
    url = server.url("gone.tif")
    with pytest.raises(InputError) as err:
        open_scene(url)
    assert str(err.value) == f"{url}: HTTP {status} ({reason})"


def test_predict_on_a_url_gives_the_probabilities_of_the_local_file(
    served, model, tmp_path, caplog
):
    server, local = served
    common = ["--weights", str(model), "--tile", "64", "--overlap", "8", "--no-progress"]
    assert cli_main(["predict", str(local), "-o", str(tmp_path / "disk.tif"), *common]) == 0
    server.reset()
    url = server.url("scene.tif")
    assert cli_main(["predict", url, "-o", str(tmp_path / "http.tif"), *common]) == 0
    with rasterio.open(tmp_path / "disk.tif") as a, rasterio.open(tmp_path / "http.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
        assert a.transform == b.transform and a.crs == b.crs
    assert server.sent["scene.tif"] > 0  # it really went over HTTP
    assert all(method in ("HEAD", "GET") for method, _, _ in server.requests)


def test_predict_on_a_missing_url_exits_2_with_one_line(served, model, tmp_path, capsys):
    server, _ = served
    url = server.url("nothere.tif")
    code = cli_main(["predict", url, "-o", str(tmp_path / "p.tif"), "--weights", str(model)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any(f"{url}: HTTP 404 (not found)" in line for line in err)
    assert not (tmp_path / "p.tif").exists()


def _noise_cog(path: Path, size: int, gsd: float = 2.0) -> Path:
    """A COG of incompressible noise (every tile costs the same bytes), 256 px tiles."""
    data = np.random.default_rng(1).integers(0, 256, (3, size, size), dtype=np.uint8)
    with rasterio.open(
        path, "w", driver="COG", width=size, height=size, count=3, dtype="uint8",
        crs="EPSG:32633", transform=rasterio.Affine(gsd, 0, 500000, 0, -gsd, 5000000),
        blocksize=256, compress="deflate",
    ) as ds:  # fmt: skip
        ds.write(data)
    return path


def test_a_window_over_a_quarter_of_a_large_scene_reads_well_under_half_its_bytes(tmp_path, model):
    from rasterio.warp import transform_bounds

    www = tmp_path / "www"
    www.mkdir()
    cog = _noise_cog(www / "big.tif", 2048)
    size = cog.stat().st_size
    with rasterio.open(cog) as ds:  # the top-left quarter, as lon/lat
        x0, y1 = ds.transform @ (0, 0)
        x1, y0 = ds.transform @ (1024, 1024)
        bbox = transform_bounds(ds.crs, "EPSG:4326", x0, y0, x1, y1)
    # shrink the lon/lat box a little: its outline in UTM is slightly larger than the quarter
    w, s, e, n = bbox
    dx, dy = (e - w) * 0.02, (n - s) * 0.02
    box = f"{w + dx},{s + dy},{e - dx},{n - dy}"
    with RangeServer(www) as server:
        out = tmp_path / "quarter.tif"
        args = ["predict", server.url("big.tif"), "-o", str(out), f"--bbox={box}"]
        args += ["--weights", str(model), "--tile", "64", "--overlap", "8", "--no-progress"]
        assert cli_main(args) == 0
        read = server.sent["big.tif"]
    with rasterio.open(out) as ds:
        assert 900 < ds.width <= 1024 and 900 < ds.height <= 1024
        assert ds.transform.c >= x0 and ds.transform.f <= y1  # inside the quarter
    assert read < 0.4 * size, f"read {read} of {size} bytes"
    print(f"quarter window over HTTP read {read / size:.3f} of the file")
    # the same window of the local file gives the same probabilities
    local = tmp_path / "local.tif"
    args[1], args[3] = str(cog), str(local)
    assert cli_main(args) == 0
    with rasterio.open(out) as a, rasterio.open(local) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
        assert a.transform == b.transform


def test_bbox_outside_the_scene_is_one_line(served, model, tmp_path, capsys):
    server, local = served
    args = ["predict", str(local), "-o", str(tmp_path / "p.tif"), "--weights", str(model)]
    assert cli_main([*args, "--bbox=10,10,10.1,10.1"]) == 2
    assert "the raster does not overlap --bbox 10.0,10.0,10.1,10.1" in capsys.readouterr().err


def test_s3_urls_are_read_through_vsis3(tmp_path, monkeypatch):
    """An S3-compatible endpoint on 127.0.0.1 (path-style, unsigned): s3://bucket/key works,
    and a refused key is one line with the status."""
    (tmp_path / "bucket").mkdir()
    plain = write_road_scene(tmp_path / "plain.tif", ROADS, height=256, width=384)
    rasterio.shutil.copy(plain, tmp_path / "bucket" / "scene.tif", driver="COG")
    with RangeServer(tmp_path) as server:
        monkeypatch.setenv("AWS_S3_ENDPOINT", server.base.split("//", 1)[1])
        for key, value in [("AWS_HTTPS", "NO"), ("AWS_VIRTUAL_HOSTING", "FALSE")]:
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_NO_SIGN_REQUEST", "YES")
        server.status["bucket/secret.tif"] = 403
        with open_scene("s3://bucket/scene.tif") as remote, open_scene(plain) as disk:
            np.testing.assert_array_equal(
                remote.view().read_rows(0, 64)[0], disk.view().read_rows(0, 64)[0]
            )
        assert server.sent["bucket/scene.tif"] > 0
        with pytest.raises(InputError) as err:
            open_scene("s3://bucket/secret.tif")
        assert str(err.value) == (
            "s3://bucket/secret.tif: HTTP 403 (forbidden: credentials missing or refused)"
        )


def test_evaluate_takes_labels_and_scene_by_url(served, tmp_path, capsys):
    server, local = served
    with rasterio.open(local) as s:
        profile = dict(s.profile, count=1, nodata=None)
        road = (s.read(1) > 128).astype(np.uint8)
    with rasterio.open(local.parent / "labels.tif", "w", **profile) as dst:
        dst.write(road[None])
    pred = tmp_path / "pred.tif"
    with rasterio.open(pred, "w", **profile) as dst:
        dst.write(road[None] * 255)
    report = tmp_path / "r.json"
    args = ["evaluate", "--pred", str(pred), "--labels", server.url("labels.tif")]
    assert cli_main([*args, "--scene", server.url("scene.tif"), "-o", str(report)]) == 0
    assert server.sent["labels.tif"] > 0 and server.sent["scene.tif"] > 0
    import json

    data = json.loads(report.read_text())
    assert data["pixel"]["iou"] == pytest.approx(1.0)
    assert data["inputs"]["scenes"][0]["labels"] == server.url("labels.tif")
    missing = server.url("nolabels.tif")
    assert cli_main(["evaluate", "--pred", str(pred), "--labels", missing]) == 2
    assert f"{missing}: HTTP 404 (not found)" in capsys.readouterr().err
