"""A real HTTP server on 127.0.0.1 for download tests: Range support and injectable faults."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FileServer:
    """Files served at ``/<name>``; ``faults[name]`` is a list consumed one per request.

    Faults: ``drop`` (send the full Content-Length, half the body, then close),
    ``500``, ``stall`` (wait ``stall_s`` before the body), ``norange`` (ignore Range).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    stall_s: float = 1.0
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def hits(self, name: str) -> list[str | None]:
        return [rng for path, rng in self.requests if path == f"/{name}"]


def start(fs: FileServer) -> FileServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_GET(self):  # noqa: N802 (http.server's naming)
            rng = self.headers.get("Range")
            fs.requests.append((self.path, rng))
            name = self.path.lstrip("/")
            if name not in fs.files:
                self.send_error(404)
                return
            body = fs.files[name]
            queue = fs.faults.get(name) or []
            fault = queue.pop(0) if queue else None
            if fault == "500":
                self.send_error(500)
                return
            start = 0
            m = re.match(r"bytes=(\d+)-$", rng or "")
            if m and fault != "norange":
                start = int(m.group(1))
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            part = body[start:]
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            if fault == "stall":
                time.sleep(fs.stall_s)
            if fault == "drop":
                self.wfile.write(part[: len(part) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(part)

    fs.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fs.server.daemon_threads = True
    threading.Thread(target=fs.server.serve_forever, args=(0.02,), daemon=True).start()
    return fs
