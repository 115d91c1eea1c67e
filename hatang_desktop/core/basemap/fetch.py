"""One tile over HTTP, as a polite client asks for it: a User-Agent naming the program and its
version, retries with exponential backoff on 5xx, 408 and timeouts (Retry-After honoured, the
wait cut short when the job stops), the tile's caching headers read, and a refusal (401, 403,
451, 429, `Cache-Control: no-store`) told apart from a failure. download.py runs a few of these
at a time and decides what the answers mean for the file.
"""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import threading
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from ... import __version__
from .sources import TileSource
from .tiles import tms_row

USER_AGENT = f"HaTangDesktop/{__version__} (offline basemap download)"

# What an image starts with. Any of them is kept whatever the template's extension says (some
# servers mix PNG and JPEG in one layer, and readers decode by content); anything else (a login
# page, an error text with status 200) is not a tile.
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8")


@dataclass
class Tile:
    key: tuple[int, int, int]  # z, x, XYZ y
    data: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    expires: str | None = None  # ISO UTC: until then the server says the tile will not change
    not_modified: bool = False
    requests: int = 0


class Refused(Exception):
    def __init__(self, status: int | str, retry_after: float | None = None):
        self.status, self.retry_after = status, retry_after


class TileFailed(Exception):
    pass


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


def _expires(headers, now: dt.datetime) -> str | None:
    """Until when the server says its answer stays good (Cache-Control max-age, else Expires)."""
    if headers is None:
        return None
    for part in (headers.get("Cache-Control") or "").lower().split(","):
        name, _, value = part.strip().partition("=")
        if name in ("no-cache", "must-revalidate") and not value:
            return None
        if name == "max-age":
            try:
                return iso_utc(now + dt.timedelta(seconds=max(0, int(value.strip('"')))))
            except ValueError:
                return None
    try:
        when = parsedate_to_datetime(headers.get("Expires") or "")
    except (TypeError, ValueError):
        return None
    return iso_utc(when) if when.tzinfo else None


def iso_utc(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _no_store(headers) -> bool:
    cc = (headers.get("Cache-Control") or "").lower() if headers is not None else ""
    return "no-store" in (part.strip() for part in cc.split(","))


@dataclass
class Fetcher:
    source: TileSource
    stop: threading.Event
    timeout: float = 20.0
    retries: int = 4
    backoff: float = 0.5
    max_wait: float = 60.0
    user_agent: str = USER_AGENT
    validators: dict = field(default_factory=dict)  # (z, x, tms_row) -> (etag, last_modified)

    def __call__(self, key: tuple[int, int, int]) -> Tile | None:
        z, x, y = key
        url = self.source.tile_url(z, x, y)
        headers = {"User-Agent": self.user_agent, "Accept": "image/*"}
        etag, modified = self.validators.get((z, x, tms_row(z, y)), (None, None))
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        last = ""
        tile = Tile(key)
        for attempt in range(self.retries + 1):
            if self.stop.is_set():
                return None
            wait_s = self.backoff * (2 ** attempt)
            tile.requests += 1
            try:
                with urlopen(Request(url, headers=headers), timeout=self.timeout) as resp:
                    data = resp.read()
                    if _no_store(resp.headers):
                        raise Refused("no-store")
                    if resp.status == 204 or not data:
                        return tile
                    if not data.startswith(_IMAGE_MAGIC):
                        raise TileFailed(f"{url}: không phải ảnh / not an image "
                                      f"({resp.headers.get('Content-Type')})")
                    tile.data, tile.etag = data, resp.headers.get("ETag")
                    tile.last_modified = resp.headers.get("Last-Modified")
                    tile.expires = _expires(resp.headers, dt.datetime.now(dt.timezone.utc))
                    return tile
            except HTTPError as exc:
                status, exc_headers = exc.code, exc.headers
                exc.close()
                if status == 304:
                    tile.not_modified = True
                    tile.etag, tile.last_modified = exc_headers.get("ETag") or etag, modified
                    tile.expires = _expires(exc_headers, dt.datetime.now(dt.timezone.utc))
                    return tile
                if status in (401, 403, 451):
                    raise Refused(status) from None
                if status == 429:
                    raise Refused(429, _retry_after(exc_headers)) from None
                if status in (404, 410):
                    return tile
                if status < 500 and status != 408:
                    raise TileFailed(f"{url}: HTTP {status}") from None
                last = f"HTTP {status}"
                wait_s = max(wait_s, _retry_after(exc_headers) or 0.0)
            except (URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as exc:
                last = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
            if attempt < self.retries:
                self.stop.wait(min(wait_s, self.max_wait))
        raise TileFailed(f"{url}: {last} (sau / after {self.retries + 1} lần thử / tries)")
