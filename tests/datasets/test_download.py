"""Downloads against a real HTTP server on 127.0.0.1 (tests/datasets/http_fixture.py)."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from roadseg.data.checksums import ChecksumStore
from roadseg.data.download import (
    ChecksumError,
    DownloadConfig,
    DownloadError,
    DownloadJob,
    download_file,
    download_many,
)

FAST = DownloadConfig(retries=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=5.0, progress=False)
BODY = os.urandom(300_000)
SHA = hashlib.sha256(BODY).hexdigest()


def test_plain_download(file_server, tmp_path):
    file_server.files["a.tif"] = BODY
    res = download_file(file_server.url("a.tif"), tmp_path / "a.tif", config=FAST)
    assert (tmp_path / "a.tif").read_bytes() == BODY
    assert res.sha256 == SHA and res.bytes == len(BODY) and res.attempts == 1
    assert not (tmp_path / "a.tif.part").exists()
    assert file_server.hits("a.tif") == [None]


def test_dropped_connection_is_resumed_with_range(file_server, tmp_path):
    file_server.files["a.tif"] = BODY
    file_server.faults["a.tif"] = ["drop"]
    res = download_file(
        file_server.url("a.tif"), tmp_path / "a.tif", expected_sha256=SHA, config=FAST
    )
    assert (tmp_path / "a.tif").read_bytes() == BODY
    assert res.attempts == 2 and res.resumed
    first, second = file_server.hits("a.tif")
    assert first is None
    # the second request continues where the dropped body stopped (half of it, rounded
    # down to what reached the disk)
    start = int(second.removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= len(BODY) // 2


def test_part_file_from_an_interrupted_run_is_continued(file_server, tmp_path):
    file_server.files["a.tif"] = BODY
    (tmp_path / "a.tif.part").write_bytes(BODY[:1000])
    res = download_file(
        file_server.url("a.tif"), tmp_path / "a.tif", expected_sha256=SHA, config=FAST
    )
    assert res.resumed and (tmp_path / "a.tif").read_bytes() == BODY
    assert file_server.hits("a.tif") == ["bytes=1000-"]


def test_complete_part_file_and_server_ignoring_range(file_server, tmp_path):
    file_server.files["a.tif"] = BODY
    # the .part already holds everything: the server answers 416, nothing more to fetch
    (tmp_path / "a.tif.part").write_bytes(BODY)
    download_file(file_server.url("a.tif"), tmp_path / "a.tif", expected_sha256=SHA, config=FAST)
    assert (tmp_path / "a.tif").read_bytes() == BODY
    # a server that ignores Range (200 with the whole body): start over, no duplicated bytes
    file_server.faults["b.tif"] = ["norange"]
    file_server.files["b.tif"] = BODY
    (tmp_path / "b.tif.part").write_bytes(BODY[:5000])
    download_file(file_server.url("b.tif"), tmp_path / "b.tif", expected_sha256=SHA, config=FAST)
    assert (tmp_path / "b.tif").read_bytes() == BODY


def test_bad_checksum_is_quarantined_and_named(file_server, tmp_path):
    file_server.files["a.tif"] = BODY
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ChecksumError) as err:
        download_file(
            file_server.url("a.tif"), tmp_path / "a.tif", expected_sha256=wrong, config=FAST
        )
    msg = str(err.value)
    assert msg.startswith(str(tmp_path / "a.tif")) and wrong in msg and SHA in msg
    assert not (tmp_path / "a.tif").exists() and not (tmp_path / "a.tif.part").exists()
    assert (tmp_path / "a.tif.corrupt").read_bytes() == BODY


def test_corrupt_partial_bytes_are_caught_by_the_hash(file_server, tmp_path):
    # resuming trusts the bytes on disk; a wrong byte there must still fail verification
    file_server.files["a.tif"] = BODY
    (tmp_path / "a.tif.part").write_bytes(bytes([BODY[0] ^ 1]) + BODY[1:1000])
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        download_file(
            file_server.url("a.tif"), tmp_path / "a.tif", expected_sha256=SHA, config=FAST
        )


def test_transient_errors_are_retried_then_give_up(file_server, tmp_path):
    file_server.files["a.tif"] = BODY
    file_server.faults["a.tif"] = ["500", "stall"]
    file_server.stall_s = 1.0
    cfg = DownloadConfig(retries=3, backoff_s=0.01, timeout_s=0.3, progress=False)
    res = download_file(file_server.url("a.tif"), tmp_path / "a.tif", config=cfg)
    assert res.attempts == 3 and (tmp_path / "a.tif").read_bytes() == BODY

    file_server.faults["b.tif"] = ["500"] * 10
    file_server.files["b.tif"] = BODY
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"b\.tif: download of .* failed after 4 attempts"):
        download_file(file_server.url("b.tif"), tmp_path / "b.tif", config=FAST)
    assert time.monotonic() - t0 < 5
    assert len(file_server.hits("b.tif")) == 4


def test_http_404_is_not_retried(file_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(file_server.url("missing.tif"), tmp_path / "m.tif", config=FAST)
    assert len(file_server.hits("missing.tif")) == 1


def test_connection_refused_gives_up_quickly(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = DownloadConfig(retries=1, backoff_s=0.01, timeout_s=1.0, progress=False)
    with pytest.raises(DownloadError, match="failed after 2 attempts"):
        download_file(f"http://127.0.0.1:{port}/a.tif", tmp_path / "a.tif", config=cfg)


def test_many_records_verifies_and_repairs(file_server, tmp_path):
    other = os.urandom(1000)
    file_server.files.update({"a.tif": BODY, "b.tif": other})
    root = tmp_path / "ds"
    jobs = [
        DownloadJob(file_server.url("a.tif"), root / "train/sat/a.tif", SHA),
        DownloadJob(file_server.url("b.tif"), root / "train/map/a.tif"),  # hash unknown
    ]
    res = download_many(jobs, root, FAST)
    assert [r.status for r in res] == ["downloaded", "downloaded"]
    store = ChecksumStore(root)
    assert store.get(root / "train/sat/a.tif") == SHA
    assert store.get(root / "train/map/a.tif") == hashlib.sha256(other).hexdigest()
    # rerun: nothing fetched
    n = len(file_server.requests)
    assert [r.status for r in download_many(jobs, root, FAST)] == ["present", "present"]
    assert len(file_server.requests) == n
    # a damaged file is checked against the recorded hash, quarantined and fetched again
    (root / "train/map/a.tif").write_bytes(b"damaged")
    res = download_many(jobs, root, FAST)
    assert res[1].status == "downloaded" and (root / "train/map/a.tif").read_bytes() == other
    assert (root / "train/map/a.tif.corrupt").read_bytes() == b"damaged"


def test_many_collects_checksum_failures_and_continues(file_server, tmp_path):
    file_server.files.update({"a.tif": BODY, "b.tif": b"fine"})
    root = tmp_path / "ds"
    jobs = [
        DownloadJob(file_server.url("a.tif"), root / "train/sat/a.tif", "0" * 64),
        DownloadJob(file_server.url("b.tif"), root / "train/map/a.tif"),
    ]
    with pytest.raises(
        ChecksumError, match=r"1 file\(s\) failed sha256 verification: .*sat/a\.tif"
    ):
        download_many(jobs, root, FAST)
    assert (root / "train/map/a.tif").read_bytes() == b"fine"
    assert ChecksumStore(root).get(root / "train/sat/a.tif") is None
