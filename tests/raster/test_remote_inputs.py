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
