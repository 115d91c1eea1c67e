"""A tile server on 127.0.0.1 for the basemap tests: generated PNG tiles and paths that misbehave.

Paths: /ok/{z}/{x}/{y}.png serves a PNG coloured by its address; /slow/ waits first; /flaky/
answers 500 to the first request for each tile, then the tile; /forbidden/ 403; /limited/ 429;
/quota/ 429 once `quota` tiles were served; /nostore/ sends `Cache-Control: no-store`; /etag/ sends an ETag and answers 304 when it matches;
/holes/ 404 for odd columns; /html/ an HTML page with 200. Every request is counted by path.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.core.test_mbtiles import solid_png


class TileServer:
    def __init__(self, slow_s: float = 0.05, quota: int = 10):
        self.slow_s, self.quota = slow_s, quota
        self.forbid_all = False  # the provider withdraws its permission: 403 on every path
        self.requests: Counter[str] = Counter()
        self.user_agents: set[str] = set()
        self.statuses: Counter[int] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with server._lock:
                    server.requests[self.path] += 1
                    n = server.requests[self.path]
                    server.user_agents.add(self.headers.get("User-Agent", ""))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server._answer(self, n)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{{z}}/{{x}}/{{y}}.png"

    @staticmethod
    def png(z: int, x: int, y: int) -> bytes:
        """The tile this server serves for XYZ (z, x, y): small, coloured by its address."""
        return solid_png((z * 10 % 256, x % 256, y % 256), size=16)

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(n for p, n in self.requests.items() if p.startswith(f"/{kind}/"))

    def _send(self, h, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        with self._lock:
            self.statuses[status] += 1
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)

    def _answer(self, h, n: int) -> None:
        parts = h.path.strip("/").split("/")
        if len(parts) != 4 or not parts[3].endswith(".png"):
            return self._send(h, 404)
        kind, z, x, y = parts[0], int(parts[1]), int(parts[2]), int(parts[3][:-4])
        if self.forbid_all:
            return self._send(h, 403, b"forbidden")
        png = self.png(z, x, y)
        if kind == "slow":
            time.sleep(self.slow_s)
        elif kind == "flaky" and n == 1:
            return self._send(h, 500)
        elif kind == "forbidden":
            return self._send(h, 403, b"forbidden")
        elif kind == "limited":
            return self._send(h, 429, b"slow down", {"Retry-After": "120"})
        elif kind == "quota" and self.count("quota") > self.quota:
            return self._send(h, 429, b"quota", {"Retry-After": "3600"})
        elif kind == "nostore":
            return self._send(h, 200, png, {"Content-Type": "image/png", "Cache-Control": "private, no-store"})
        elif kind == "etag":
            tag = f'"{z}-{x}-{y}"'
            if h.headers.get("If-None-Match") == tag:
                return self._send(h, 304, b"", {"ETag": tag})
            return self._send(h, 200, png, {"Content-Type": "image/png", "ETag": tag})
        elif kind == "holes" and x % 2:
            return self._send(h, 404)
        elif kind == "html":
            return self._send(h, 200, b"<html>login</html>", {"Content-Type": "text/html"})
        elif kind not in ("ok", "slow", "flaky", "holes", "quota"):
            return self._send(h, 404)
        self._send(h, 200, png, {"Content-Type": "image/png"})

    def __enter__(self) -> TileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
