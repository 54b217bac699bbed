"""Resumable, verified downloads with the standard library (``urllib``).

One file (:func:`download_file`):

1. bytes go to ``<dest>.part``; if that exists from an interrupted run, the
   request asks for the rest with ``Range: bytes=<size>-`` and appends
   (a server that answers 200 instead of 206 gets a fresh start);
2. a dropped connection, a timeout, HTTP 408/429/5xx, or a body shorter than
   its ``Content-Length`` is retried up to ``retries`` times, resuming from
   the bytes already on disk, after ``backoff_s * 2**(k-1)`` seconds (capped);
3. the sha256 is computed while streaming (over the bytes already in the
   ``.part`` file first); if a hash is expected and differs, the file is moved
   to ``<dest>.corrupt`` and :class:`ChecksumError` names it;
4. otherwise ``<dest>.part`` is renamed onto ``dest`` in one step
   (``os.replace``), so ``dest`` exists only when complete and verified.

The ``.part`` file is deliberately not :func:`roadseg.atomic.atomic_path`'s
random temporary name: a fixed name is what lets a rerun resume.

Many files (:func:`download_many`): hashes come from the job (the manifest)
or else from ``ROOT/checksums.sha256``; a file already present is verified
against a known hash (a mismatch is quarantined and fetched again) or hashed
and recorded; each new file's hash is recorded.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadseg.data.checksums import ChecksumStore, normalise_sha256
from roadseg.errors import InputError, OutputError, RoadsegError
from roadseg.hashing import file_sha256

log = logging.getLogger(__name__)

_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIED_RANGE = re.compile(r"^bytes\s+\*/(\d+)$")


class DownloadError(RoadsegError):
    """A download failed for good (retries exhausted, or a non-retryable HTTP status)."""


class ChecksumError(InputError):
    """A downloaded or existing file does not have the expected sha256."""


@dataclass
class DownloadConfig:
    """How downloads behave.

    Attributes:
        retries: extra attempts after the first, per file, for transient failures.
        backoff_s: first wait between attempts; doubles each time.
        max_backoff_s: cap of that wait.
        timeout_s: socket timeout for connect and for each read.
        chunk_bytes: read size while streaming.
        progress: show tqdm progress bars.
        verify_existing: re-hash files already present when a hash is known
            (False: trust them and skip).
        user_agent: HTTP User-Agent header.
    """

    retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0
    chunk_bytes: int = 1 << 16
    progress: bool = True
    verify_existing: bool = True
    user_agent: str = "roadseg/0.1 (dataset download)"


@dataclass(frozen=True)
class DownloadJob:
    """One file to fetch: ``url`` into ``dest``, optionally with a known sha256."""

    url: str
    dest: Path
    sha256: str | None = None


@dataclass(frozen=True)
class DownloadResult:
    """What happened to one file."""

    url: str
    dest: Path
    sha256: str
    bytes: int
    status: str  # downloaded | present
    attempts: int = 0
    resumed: bool = False


class _Transient(Exception):
    """A failure worth retrying (resuming from the bytes on disk)."""


class _Restart(Exception):
    """The ``.part`` file cannot be continued; start from zero."""


def quarantine(path: Path) -> Path:
    """Move a bad file aside to ``<dest>.corrupt`` (replacing an older one); returns that path."""
    name = path.name[: -len(".part")] if path.name.endswith(".part") else path.name
    bad = path.with_name(name + ".corrupt")
    os.replace(path, bad)
    return bad


class _Fetch:
    """State of one file's download across attempts: bytes on disk and their running hash."""

    def __init__(self, url: str, dest: Path, cfg: DownloadConfig, bar: Any) -> None:
        self.url, self.dest, self.cfg, self.bar = url, dest, cfg, bar
        self.part = dest.with_name(dest.name + ".part")
        self.hash = hashlib.sha256()
        self.offset = 0
        self.resumed = False
        if self.part.exists():
            # continue an interrupted run: the hash covers the bytes already there
            self.offset = self.part.stat().st_size
            with open(self.part, "rb") as f:
                while block := f.read(1 << 20):
                    self.hash.update(block)
            self.resumed = self.offset > 0
            log.info("%s: resuming at byte %d", self.part, self.offset)

    def restart(self) -> None:
        self.part.unlink(missing_ok=True)
        self.hash, self.offset = hashlib.sha256(), 0
        self.bar.reset()

    def attempt(self) -> None:
        """One request; returns when the file is complete, raises _Transient/_Restart otherwise."""
        headers = {"User-Agent": self.cfg.user_agent, "Accept-Encoding": "identity"}
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
        req = urllib.request.Request(self.url, headers=headers)
        try:
            resp = urllib.request.urlopen(req, timeout=self.cfg.timeout_s)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and self.offset:
                m = _UNSATISFIED_RANGE.match(exc.headers.get("Content-Range", "") or "")
                if m and int(m.group(1)) == self.offset:
                    return  # the .part file already holds the whole body
                raise _Restart(f"HTTP 416 at offset {self.offset}") from exc
            if exc.code in (408, 425, 429) or 500 <= exc.code < 600:
                raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
            raise DownloadError(f"{self.dest}: {self.url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise _Transient(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from exc
        with resp:
            total = self._start(resp)
            self.bar.total = total
            self.bar.n = self.offset
            self.bar.refresh()
            try:
                with open(self.part, "ab" if self.offset else "wb") as f:
                    while True:
                        try:
                            chunk = resp.read(self.cfg.chunk_bytes)
                        except (http.client.HTTPException, OSError) as exc:
                            raise _Transient(f"connection lost: {type(exc).__name__}") from exc
                        if not chunk:
                            break
                        f.write(chunk)
                        self.hash.update(chunk)
                        self.offset += len(chunk)
                        self.bar.update(len(chunk))
            except OSError as exc:  # the local write failed: not retryable
                raise OutputError(f"{self.part}: cannot write ({exc.strerror or exc})") from exc
        if total is not None and self.offset < total:
            raise _Transient(f"connection closed after {self.offset} of {total} bytes")
        if total is not None and self.offset > total:
            raise _Restart(f"{self.offset} bytes on disk but the file has {total}")

    def _start(self, resp: Any) -> int | None:
        """Check the response against the resume offset; returns the full size if known."""
        length = resp.headers.get("Content-Length")
        if self.offset and resp.status == 206:
            m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "") or "")
            if not m or int(m.group(1)) != self.offset:
                raise _Restart(f"unexpected Content-Range {resp.headers.get('Content-Range')!r}")
            return None if m.group(3) == "*" else int(m.group(3))
        if self.offset:
            log.info("%s: server ignored the Range request; starting over", self.url)
            self.restart()
        return int(length) if length is not None and length.isdigit() else None


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
    config: DownloadConfig | None = None,
    position: int = 0,
) -> DownloadResult:
    """Download ``url`` to ``dest`` with resume, retries and sha256 verification.

    See the module docstring for the steps. Returns the result with the sha256
    of the bytes written. Raises :class:`DownloadError` (network, HTTP status),
    :class:`ChecksumError` (hash mismatch; file moved to ``<dest>.corrupt``) or
    :class:`~roadseg.errors.OutputError` (cannot write).
    """
    from tqdm import tqdm

    cfg = config or DownloadConfig()
    dest = Path(dest)
    expected = normalise_sha256(expected_sha256, str(dest))
    if not dest.parent.is_dir():
        raise OutputError(f"{dest}: output folder {dest.parent} does not exist")
    with tqdm(
        total=None,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=dest.name,
        leave=False,
        disable=not cfg.progress,
        position=position,
    ) as bar:
        fetch = _Fetch(url, dest, cfg, bar)
        resumed, attempts, restarts = fetch.resumed, 0, 0
        while True:
            attempts += 1
            try:
                fetch.attempt()
                break
            except _Restart as exc:
                restarts += 1
                log.warning("%s: %s; downloading again from the start", fetch.part, exc)
                fetch.restart()
                if restarts > 1:  # a second inconsistency is the server's, not ours
                    raise DownloadError(f"{dest}: {url}: inconsistent ranges ({exc})") from exc
            except _Transient as exc:
                if attempts > cfg.retries:
                    raise DownloadError(
                        f"{dest}: download of {url} failed after {attempts} attempts ({exc}); "
                        f"{fetch.offset} bytes kept in {fetch.part}, rerun to resume"
                    ) from exc
                wait = min(cfg.max_backoff_s, cfg.backoff_s * 2 ** (attempts - 1))
                log.warning("%s: %s; retry %d/%d in %.1f s", url, exc, attempts, cfg.retries, wait)
                resumed = resumed or fetch.offset > 0
                time.sleep(wait)
    if not fetch.part.exists():  # an empty body never opened the file
        fetch.part.touch()
    digest = fetch.hash.hexdigest()
    if expected is not None and digest != expected:
        bad = quarantine(fetch.part)
        raise ChecksumError(
            f"{dest}: sha256 mismatch for {url}: expected {expected}, got {digest}; "
            f"the download was moved to {bad}"
        )
    os.replace(fetch.part, dest)
    return DownloadResult(url, dest, digest, fetch.offset, "downloaded", attempts, resumed)


def download_many(
    jobs: Sequence[DownloadJob],
    root: str | os.PathLike[str],
    config: DownloadConfig | None = None,
) -> list[DownloadResult]:
    """Download jobs whose destinations lie under ``root``, recording sha256 in its checksums file.

    Network failures stop the run at once (a rerun resumes). Checksum
    mismatches are collected; the other files still download, then one
    :class:`ChecksumError` lists every bad file.
    """
    from tqdm import tqdm

    cfg = config or DownloadConfig()
    store = ChecksumStore(root)
    results: list[DownloadResult] = []
    bad: list[str] = []
    try:
        for n, job in enumerate(tqdm(jobs, desc="files", unit="file", disable=not cfg.progress)):
            expected = normalise_sha256(job.sha256, str(job.dest)) or store.get(job.dest)
            job.dest.parent.mkdir(parents=True, exist_ok=True)
            if job.dest.exists():
                present = _check_present(job, expected, cfg)
                if present is not None:
                    store.set(job.dest, present.sha256)
                    results.append(present)
                    continue
            try:
                res = download_file(
                    job.url, job.dest, expected_sha256=expected, config=cfg, position=1
                )
            except ChecksumError as exc:
                log.error("%s", exc)
                bad.append(str(exc))
                continue
            store.set(job.dest, res.sha256)
            results.append(res)
            if n % 20 == 19:
                store.save()
    finally:
        store.save()
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise ChecksumError(
            f"{len(bad)} file(s) failed sha256 verification: " + "; ".join(bad[:3]) + more
        )
    return results


def _check_present(
    job: DownloadJob, expected: str | None, cfg: DownloadConfig
) -> DownloadResult | None:
    """Result for a file already at ``job.dest``, or None if it was bad and must be fetched again."""
    size = job.dest.stat().st_size
    if expected is not None and not cfg.verify_existing:
        return DownloadResult(job.url, job.dest, expected, size, "present")
    digest = file_sha256(job.dest)
    if expected is not None and digest != expected:
        bad = quarantine(job.dest)
        log.warning(
            "%s: sha256 %s != expected %s; moved to %s, downloading again",
            job.dest,
            digest,
            expected,
            bad,
        )
        return None
    return DownloadResult(job.url, job.dest, digest, size, "present")
