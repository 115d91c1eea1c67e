"""A tile server on 127.0.0.1 for the basemap tests: generated PNG tiles and paths that misbehave.

Paths: /ok/{z}/{x}/{y}.png serves a PNG coloured by its address; /slow/ waits first; /flaky/
answers 500 to the first request for each tile, then the tile; /forbidden/ 403; /limited/ 429;
/quota/ 429 once `quota` tiles were served; /nostore/ sends `Cache-Control: no-store`; /etag/
sends an ETag and answers 304 when it matches; /fresh/ says max-age one day; /holes/ 404 for odd columns; /html/ an HTML page
with 200; /roads/ a synthetic street map (`python -m tests.tile_server [PORT]` serves it for a
download by hand). Every request is counted by path.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.core.test_mbtiles import solid_png


class TileServer:
    def __init__(self, slow_s: float = 0.05, quota: int = 10, port: int = 0):
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
                    self.counted = True
                try:
                    server._answer(self, n)
                finally:
                    server._leave(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
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

    def _leave(self, h) -> None:
        """The request stops counting as in flight once its answer starts: a client that has read
        a whole answer may already have sent its next request before this handler's thread
        finishes writing, and counting until then saw 5 requests 'at once' from 4 workers."""
        with self._lock:
            if getattr(h, "counted", False):
                h.counted = False
                self.in_flight -= 1

    def _send(self, h, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self._leave(h)
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
        elif kind == "roads":
            return self._send(h, 200, road_tile(z, x, y), {"Content-Type": "image/png"})
        elif kind == "fresh":
            return self._send(h, 200, png, {"Content-Type": "image/png", "Cache-Control": "public, max-age=86400"})
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


def road_tile(z: int, x: int, y: int, size: int = 256) -> bytes:
    """A synthetic street map tile: a light ground, a grid of 'roads' every 0.01° (wider every
    0.05°), lanes every 0.0025° from zoom 15 and a 'river' along 18.33 N, drawn in world coordinates so neighbouring tiles and
    zooms agree. For screenshots of a downloaded basemap under the survey layers."""
    import io
    import math

    from PIL import Image, ImageDraw

    n = 1 << z

    def px(lon: float, lat: float) -> tuple[float, float]:
        gx = (lon + 180.0) / 360.0 * n
        gy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
        return (gx - x) * size, (gy - y) * size

    def lonlat(px_x: float, px_y: float) -> tuple[float, float]:
        gx, gy = x + px_x / size, y + px_y / size
        return gx / n * 360.0 - 180.0, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * gy / n))))

    img = Image.new("RGB", (size, size), (242, 239, 233))
    draw = ImageDraw.Draw(img)
    west, north = lonlat(0, 0)
    east, south = lonlat(size, size)
    river = 18.33
    if south - 0.01 <= river <= north + 0.01:
        ry = px(west, river)[1]
        draw.line([(0, ry), (size, ry)], fill=(170, 211, 223), width=max(2, min(24, 2 ** (z - 11))))
    step = 0.01
    if z >= 11:
        for i in range(math.floor(west / step), math.ceil(east / step) + 1):
            major = i % 5 == 0
            lx = px(i * step, north)[0]
            draw.line([(lx, 0), (lx, size)], fill=(247, 250, 191) if major else (255, 255, 255),
                      width=max(1, min(12, 2 ** (z - (12 if major else 13)))))
        for j in range(math.floor(south / step), math.ceil(north / step) + 1):
            major = j % 5 == 0
            ly = px(west, j * step)[1]
            draw.line([(0, ly), (size, ly)], fill=(247, 250, 191) if major else (255, 255, 255),
                      width=max(1, min(12, 2 ** (z - (12 if major else 13)))))
    if z >= 15:  # lanes between the streets, as a town map shows them at 1:5,000
        lane = step / 4
        for i in range(math.floor(west / lane), math.ceil(east / lane) + 1):
            if i % 4:
                lx = px(i * lane, north)[0]
                draw.line([(lx, 0), (lx, size)], fill=(214, 208, 198), width=2 ** (z - 14) + 2)
                draw.line([(lx, 0), (lx, size)], fill=(255, 255, 255), width=2 ** (z - 14))
        for j in range(math.floor(south / lane), math.ceil(north / lane) + 1):
            if j % 4:
                ly = px(west, j * lane)[1]
                draw.line([(0, ly), (size, ly)], fill=(214, 208, 198), width=2 ** (z - 14) + 2)
                draw.line([(0, ly), (size, ly)], fill=(255, 255, 255), width=2 ** (z - 14))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


if __name__ == "__main__":  # a server to download from by hand: python -m tests.tile_server [PORT]
    import sys

    with TileServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0) as running:
        print(running.url("roads"), flush=True)
        try:
            running.thread.join()
        except KeyboardInterrupt:
            pass
