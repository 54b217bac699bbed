"""Property tests on random masks: no crash, consistent topology, finite lengths, valid GeoJSON."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.draw import disk, line

from roadseg.vector import VectorizeConfig, export_network, vectorize_raster
from tests.postprocess.rasters import write_tif


@st.composite
def masks(draw):
    h = draw(st.integers(8, 72))
    w = draw(st.integers(8, 72))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), bool)
    kind = draw(st.sampled_from(["lines", "noise", "blobs", "mixed"]))
    if kind in ("lines", "mixed"):
        for _ in range(rng.integers(1, 6)):
            r0, r1 = rng.integers(0, h, 2)
            c0, c1 = rng.integers(0, w, 2)
            rr, cc = line(int(r0), int(c0), int(r1), int(c1))
            m[rr, cc] = True
        if rng.random() < 0.7:
            from scipy import ndimage as ndi

            m = ndi.binary_dilation(m, iterations=int(rng.integers(1, 4)))
    if kind in ("noise", "mixed"):
        m |= rng.random((h, w)) < rng.uniform(0.05, 0.6)
    if kind == "blobs":
        for _ in range(rng.integers(1, 5)):
            rr, cc = disk(
                (rng.integers(0, h), rng.integers(0, w)), rng.integers(2, 15), shape=(h, w)
            )
            m[rr, cc] = True
    return m


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(m=masks(), block=st.sampled_from([16, 24, 4096]), spur=st.sampled_from([0.0, 3.0, 10.0]))
def test_random_masks(tmp_path, m, block, spur):
    path = write_tif(tmp_path / "r.tif", m)
    cfg = VectorizeConfig(
        block_size=block,
        halo=4,
        min_spur_m=spur,
        min_component_m=0.0,
        min_object_m2=0.0,
        max_hole_m2=0.0,
    )
    net = vectorize_raster(path, cfg)
    # every edge end point is a node, at that node's position
    node_xy = {int(i): (p.x, p.y) for i, p in zip(net.nodes.node_id, net.nodes.geometry)}
    for row in net.edges.itertuples():
        c = row.geometry.coords
        assert c[0] == node_xy[row.u] and c[-1] == node_xy[row.v]
    if block != 4096:  # block-wise == whole image, on any mask
        whole = vectorize_raster(path, VectorizeConfig(**{**cfg.__dict__, "block_size": 4096}))
        assert sorted(whole.edges.geometry.to_wkt()) == sorted(net.edges.geometry.to_wkt())
    lengths = net.edges.length_m.to_numpy()
    assert np.isfinite(lengths).all() and (lengths >= 0).all()
    assert math.isfinite(net.total_length_m) and net.total_length_m >= 0
    out = tmp_path / "r.geojson"
    export_network(net, out)
    fc = json.loads(out.read_text())  # strict JSON (no NaN) by construction
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(net.edges)
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "LineString"
        coords = np.array(f["geometry"]["coordinates"], float)
        assert coords.shape[0] >= 2 and coords.shape[1] == 2 and np.isfinite(coords).all()
        assert (np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()
