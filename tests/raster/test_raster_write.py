"""Windowed probability writer: format, block-aligned windows, internal nodata mask."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from roadseg.raster.write import BLOCK, StripWriter, quantise
from tests.raster.rasters import UTM19N, utm_transform


def test_quantise_uses_the_full_range():
    p = np.array([0.0, 1 / 255, 0.5, 1.0, 1.2, -0.1, np.nan], np.float32)
    np.testing.assert_array_equal(quantise(p), [0, 1, 128, 255, 255, 0, 0])


def test_strips_are_buffered_to_block_rows_and_masked(tmp_path):
    h, w = 700, 300
    rng = np.random.default_rng(0)
    prob = rng.random((h, w), dtype=np.float32)
    valid = rng.random((h, w)) > 0.2
    path = tmp_path / "p.tif"
    with StripWriter(path, h, w, UTM19N, utm_transform(), masked=True) as wr:
        for row in range(0, h, 97):  # strips that do not line up with blocks
            n = min(97, h - row)
            wr.write_rows(row, prob[row : row + n], valid[row : row + n])
    # every write but the last is a whole number of 256-row block rows
    assert [(win.row_off, win.height) for win in wr.windows_written] == [
        (0, 256),
        (256, 256),
        (512, 188),
    ]
    with rasterio.open(path) as d:
        assert d.profile["tiled"] and d.profile["blockxsize"] == BLOCK
        assert d.compression.value.lower() == "deflate" and d.dtypes[0] == "uint8"
        assert d.crs.to_epsg() == 32619 and d.transform == utm_transform()
        data = d.read(1)
        mask = d.dataset_mask()
        assert d.nodata is None and d.mask_flag_enums[0] == [rasterio.enums.MaskFlags.per_dataset]
    np.testing.assert_array_equal(mask > 0, valid)
    np.testing.assert_array_equal(data[valid], quantise(prob)[valid])
    assert (data[~valid] == 0).all()


def test_rows_out_of_order_or_missing_are_errors(tmp_path):
    wr = StripWriter(tmp_path / "a.tif", 10, 5, None, utm_transform())
    with pytest.raises(ValueError, match="expected row 0"):
        wr.write_rows(3, np.zeros((2, 5), np.float32))
    wr.write_rows(0, np.zeros((4, 5), np.float32))
    with pytest.raises(OSError, match="only 4 of 10 rows"):
        wr.close()
