"""A loopback HTTP file server with Range requests and a byte counter (tests of remote inputs).

Serves the files below one folder at ``/<relative path>`` on 127.0.0.1 only, on a free port;
``HEAD`` and single byte ranges (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) as GDAL's
``/vsicurl/`` sends them. ``sent[name]`` counts the body bytes sent per file, so a test
can say how much of a file a run read. Names in ``status`` answer with that HTTP status.

Use as a context manager: the server thread stops (and the socket closes) on exit.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeServer:
    """Serve ``root``'s files over HTTP on 127.0.0.1 (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.sent: Counter[str] = Counter()
        self.requests: list[tuple[str, str, str | None]] = []
        self.status: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.requests.clear()

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real object store

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                name = self.path.split("?", 1)[0].lstrip("/")
                rng = self.headers.get("Range")
                with srv._lock:
                    srv.requests.append((self.command, name, rng))
                path = (srv.root / name).resolve()
                if name in srv.status:
                    self._empty(srv.status[name])
                    return
                if srv.root.resolve() not in path.parents or not path.is_file():
                    self._empty(404)
                    return
                size = path.stat().st_size
                start, end = 0, size - 1
                m = _RANGE.match(rng or "")
                if m and (m.group(1) or m.group(2)):
                    if m.group(1):
                        start = int(m.group(1))
                        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                    else:
                        start = max(0, size - int(m.group(2)))
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                else:
                    self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                if not body:
                    return
                with open(path, "rb") as f:
                    f.seek(start)
                    data = f.read(end - start + 1)
                with srv._lock:
                    srv.sent[name] += len(data)
                self.wfile.write(data)

            def _empty(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
