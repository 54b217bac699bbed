"""Windowed probability writer: format, block-aligned windows, internal nodata mask."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from roadseg.raster.quantise import quantise
from roadseg.raster.write import BLOCK, StripWriter
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


def test_verify_written_catches_a_truncated_raster(tmp_path):
    """A raster GDAL closed after a failed write (full disk) is refused, named by the target."""
    import numpy as np
    import pytest
    import rasterio
    from rasterio.transform import Affine

    from roadseg.errors import OutputError
    from roadseg.raster.write import verify_written

    path = tmp_path / "tmp.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=512,
        height=512,
        count=1,
        dtype="uint8",
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        crs="EPSG:32631",
        transform=Affine(1, 0, 500000, 0, -1, 5000000),
    ) as dst:
        dst.write(np.random.default_rng(0).integers(0, 255, (1, 512, 512), dtype=np.uint8))
    verify_written(path, (512, 512))  # complete: passes
    with pytest.raises(OutputError, match="shape"):
        verify_written(path, (256, 512))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OutputError, match=r"out\.tif: the raster was not written completely"):
        verify_written(path, (512, 512), name=tmp_path / "out.tif")


def test_background_writer_quantised_rows_tags_and_errors(tmp_path):
    import torch

    from roadseg.raster.quantise import quantise_tensor
    from roadseg.raster.write import BackgroundWriter

    h, w = 300, 40
    prob = np.random.default_rng(1).random((h, w), dtype=np.float32)
    path = tmp_path / "p.tif"
    with StripWriter(path, h, w, UTM19N, utm_transform(), tags={"ROADSEG_X": "1"}) as wr:
        with BackgroundWriter(wr, convert=lambda v, m: (quantise_tensor(v).numpy(), m)) as bg:
            for row in range(0, h, 64):
                bg.write_rows(row, torch.from_numpy(prob[row : row + 64]))
    with rasterio.open(path) as d:
        np.testing.assert_array_equal(d.read(1), quantise(prob))
        assert d.tags()["ROADSEG_X"] == "1"
    # a write error in the thread reaches the caller
    wr = StripWriter(tmp_path / "q.tif", 10, 5, None, utm_transform())
    bg = BackgroundWriter(wr)
    bg.write_rows(3, np.zeros((2, 5), np.uint8))  # out of order: fails on the thread
    with pytest.raises(ValueError, match="expected row 0"):
        bg.close()
