"""Fetch the tiles of an area from a tile server into an MBTiles file, politely and resumably.

The tiles go into `OUT.part` next to the target; it becomes OUT (a rename) only once every tile
was asked for. A run that stops early (Cancel, the network gone, the server overloaded) keeps
the part file: the next run with the same source skips the tiles it already holds. A refusal
(HTTP 401/403/451, `Cache-Control: no-store`, a source whose terms forbid offline copies)
removes it: the source said its tiles may not be kept.

Politeness towards the server: at most MAX_WORKERS requests at a time (each one as fetch.py
makes it: a User-Agent, retries with backoff), and for a refresh what each tile came with: a
tile still fresh by its Cache-Control max-age / Expires is not asked at all, the others carry
their ETag / Last-Modified, so an unchanged tile costs a 304 and no bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ... import __version__
from ..atomic import as_fault, fsync_dir, fsync_file
from ..cancel import Cancel, Cancelled
from ..errors import HatangError, InvalidInputError
from ..messages import Text
from ..text import format_plain
from .fetch import USER_AGENT, Fetcher, Refused, TileFailed, iso_utc
from .sources import SourceRefused, TileSource
from .tiles import MAX_TILES, BBox, estimate, size_text, tile_ranges, tms_row

MAX_WORKERS = 4
COMMIT_EVERY = 64  # tiles per transaction: a kill loses at most this many
class DownloadFailed(HatangError):
    """The server could not be reached or kept failing after the retries; the part file stays."""


class DownloadCancelled(Cancelled):
    def __init__(self, part: Path, stored: int) -> None:
        self.part, self.stored = part, stored
        HatangError.__init__(self, Text(
            f"đã hủy; {stored} ô ảnh đã tải được giữ trong {part}, chạy lại lệnh để tải tiếp",
            f"cancelled; the {stored} tiles fetched so far are kept in {part}, run again to resume"))


@dataclass
class DownloadResult:
    path: Path
    source: str
    total: int  # tiles covering the area
    fetched: int = 0  # downloaded in this run
    already: int = 0  # present from an earlier run and skipped
    not_modified: int = 0  # refresh: the server said 304
    fresh: int = 0  # refresh: not asked, the server said when it sent it that it would not change yet
    missing: int = 0  # the server has no such tile (404/204): sea, edge of coverage
    bytes: int = 0
    resumed: bool = False
    requests: int = 0

    def as_json(self) -> dict:
        return {"path": str(self.path), "source": self.source, "tiles": self.total, "fetched": self.fetched,
                "already_present": self.already, "not_modified": self.not_modified, "fresh": self.fresh,
                "missing": self.missing,
                "bytes": self.bytes, "resumed": self.resumed}

    def lines(self) -> list[str]:
        return [f"Đã tải bản đồ nền / basemap written: {self.path}",
                f"  nguồn / source: {self.source}",
                f"  ô ảnh / tiles: {self.total}; tải mới / fetched {self.fetched} ({size_text(self.bytes, 'vi')} / {size_text(self.bytes, 'en')}); "
                f"đã có / already present {self.already}; không đổi / not modified {self.not_modified}; "
                f"chưa hết hạn / still fresh {self.fresh}; "
                f"máy chủ không có / missing on the server {self.missing}"]


def part_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".part")


# -- the MBTiles part file -----------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row);
-- What each tile came with, so a refresh asks 'changed since?' (If-None-Match / If-Modified-Since).
CREATE TABLE IF NOT EXISTS tile_http (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
    etag TEXT, last_modified TEXT, fetched_at TEXT, expires TEXT,
    PRIMARY KEY (zoom_level, tile_column, tile_row));
"""


def _metadata(source: TileSource, bbox: BBox, zmin: int, zmax: int, name: str | None) -> dict[str, str]:
    lon, lat = (bbox.west + bbox.east) / 2, (bbox.south + bbox.north) / 2
    return {"name": name or source.title or source.name, "format": "jpg" if source.format == "jpeg" else source.format,
            "type": "baselayer", "version": "1.1", "bounds": bbox.as_text(),
            "center": f"{lon:.6f},{lat:.6f},{zmin}", "minzoom": str(zmin), "maxzoom": str(zmax),
            "attribution": source.attribution, "description": f"Hạ tầng Desktop {__version__}: {source.name}",
            "hatang_source": source.key}


def _open_part(part: Path, source: TileSource) -> tuple[sqlite3.Connection, bool]:
    """The part file, made or reopened; True when it holds an earlier run of the same source."""
    if part.exists():
        conn = sqlite3.connect(part)
        try:
            row = conn.execute("SELECT value FROM metadata WHERE name = 'hatang_source'").fetchone()
        except sqlite3.DatabaseError:
            row = None
        if row is not None and row[0] == source.key:
            conn.executescript(_SCHEMA)
            return conn, True
        conn.close()  # damaged, or another source's tiles: start over
        _remove(part)
    conn = sqlite3.connect(part)
    conn.executescript(_SCHEMA)
    return conn, False


def _source_key(path: Path) -> str | None:
    """The source a finished file of ours was downloaded from (None for another program's file)."""
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM metadata WHERE name = 'hatang_source'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _count(conn: sqlite3.Connection) -> int:
    try:
        return conn.execute("SELECT count(*) FROM tiles").fetchone()[0]
    except sqlite3.Error:
        return 0


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _refusal(source: TileSource, exc: Refused) -> SourceRefused:
    label = source.title or source.name
    if exc.status == "no-store":
        return SourceRefused(label, "máy chủ trả ô ảnh kèm 'Cache-Control: no-store': không cho phép lưu lại để "
                                    "dùng ngoại tuyến; không ghi tệp nào",
                             "the server sends its tiles with 'Cache-Control: no-store': they may not be kept "
                             "for offline use; nothing written")
    if exc.status == 429:
        later = f" {int(exc.retry_after)} s" if exc.retry_after else ""
        return SourceRefused(label, f"máy chủ từ chối vì tải quá nhiều (HTTP 429); thử lại sau{later}, các ô đã "
                                    "tải được giữ lại để tải tiếp",
                             f"the server refuses: too many requests (HTTP 429); try again later{later}, the "
                             "tiles fetched so far are kept to resume")
    return SourceRefused(label, f"máy chủ từ chối cho tải (HTTP {exc.status}); cần quyền của đơn vị cung cấp "
                                "bản đồ; không ghi tệp nào",
                         f"the server refuses the download (HTTP {exc.status}); the provider's permission is "
                         "needed; nothing written")


# -- the job -------------------------------------------------------------------------------------

def download_basemap(out: str | Path, source: TileSource, bbox: BBox, zmin: int, zmax: int, *,
                     name: str | None = None, refresh: bool = False, workers: int = MAX_WORKERS,
                     cancel: Cancel | None = None, progress: Callable[[str, float], None] | None = None,
                     timeout: float = 20.0, retries: int = 4, backoff: float = 0.5,
                     max_tiles: int = MAX_TILES) -> DownloadResult:
    """Download the tiles of `bbox` at zooms zmin..zmax from `source` into the MBTiles file `out`.

    `refresh`: `out` exists; every tile is asked again, with its ETag/Last-Modified where the
    server gave them (a 304 keeps the stored tile). Raises SourceRefused (nothing kept; for 429 the part stays),
    DownloadCancelled, DownloadFailed (the part stays) or InvalidInputError."""
    out = Path(out)
    source.check_offline_allowed()
    if zmax > source.maxzoom or zmin < source.minzoom:
        raise InvalidInputError(f"--zoom {zmin}-{zmax}: nguồn {source.name} chỉ có mức {source.minzoom}-"
                                f"{source.maxzoom} / the source has zooms {source.minzoom}-{source.maxzoom} only")
    est = estimate(bbox, zmin, zmax, source.typical_tile_bytes)
    if est.tiles > max_tiles:
        vi, en = est.line().split(" / ")
        raise InvalidInputError(Text(
            f"vùng quá lớn: {vi}; giới hạn {format_plain(max_tiles, 'vi')} ô, hãy giảm mức thu phóng lớn nhất "
            "hoặc chọn vùng nhỏ hơn",
            f"area too large: {en}; the limit is {format_plain(max_tiles, 'en')} tiles: lower the maximum zoom "
            "or choose a smaller area"))
    if out.exists() and not refresh:
        raise InvalidInputError(f"{out}: tệp đã có; dùng --refresh để cập nhật hoặc chọn tên khác / the file "
                                "exists; use --refresh to update it or choose another name")
    if refresh and not out.is_file():
        raise InvalidInputError(f"{out}: không có tệp để cập nhật / no file to refresh")
    if not out.parent.is_dir():
        raise InvalidInputError(f"{out.parent}: không có thư mục này / no such folder")
    part = part_path(out)
    if refresh and _source_key(out) != source.key:
        raise InvalidInputError(f"{out}: tệp được tải từ nguồn khác; cập nhật phải dùng đúng nguồn cũ, hoặc tải vào "
                                "tệp mới / the file came from another source; refresh it from the same one, or "
                                "download into a new file")
    try:
        if refresh and not part.exists():
            shutil.copyfile(out, part)
        conn, resumed = _open_part(part, source)
    except (OSError, sqlite3.Error) as exc:  # a read-only folder, a full disk: the FileFault naming OUT
        raise as_fault(exc, out) from exc
    result = DownloadResult(out, source.title or source.name, est.tiles, resumed=resumed and not refresh)
    stop = threading.Event()
    try:
        conn.executemany("INSERT OR REPLACE INTO metadata VALUES (?, ?)",
                         _metadata(source, bbox, zmin, zmax, name).items())
        conn.commit()
        present = set(conn.execute("SELECT zoom_level, tile_column, tile_row FROM tiles"))
        validators, fresh = {}, set()
        if refresh:
            now = iso_utc(dt.datetime.now(dt.timezone.utc))
            for z, x, r, e, m, until in conn.execute(
                    "SELECT zoom_level, tile_column, tile_row, etag, last_modified, expires FROM tile_http"):
                validators[(z, x, r)] = (e, m)
                if until and until > now:  # the server promised no change until then: not asked
                    fresh.add((z, x, r))
        todo = []
        for rng in tile_ranges(bbox, zmin, zmax):
            for z, x, y in rng:
                if (z, x, tms_row(z, y)) in present and not refresh:
                    result.already += 1
                elif (z, x, tms_row(z, y)) in present and (z, x, tms_row(z, y)) in fresh:
                    result.fresh += 1
                else:
                    todo.append((z, x, y))
        fetcher = Fetcher(source, stop, timeout=timeout, retries=retries, backoff=backoff,
                           validators=validators)
        _run(conn, fetcher, todo, result, stop, max(1, min(MAX_WORKERS, workers)), cancel, progress, part)
        conn.commit()
    except Refused as exc:
        stop.set()
        kept = exc.status == 429 and _count(conn) > 0  # worth resuming once the server lets us
        conn.close()
        if not kept:
            _remove(part)
        raise _refusal(source, exc) from None
    except TileFailed as exc:
        conn.commit()
        conn.close()
        raise DownloadFailed(Text(
            f"tải ô ảnh không được: {exc}; {result.fetched + result.already} ô đã có được giữ trong {part}, "
            "chạy lại lệnh để tải tiếp",
            f"could not fetch a tile: {exc}; the tiles fetched so far are kept in {part}, run again to "
            "resume")) from None
    except BaseException as exc:
        stop.set()
        with contextlib.suppress(sqlite3.Error):
            conn.commit()
        conn.close()
        raised = as_fault(exc, out) if isinstance(exc, (OSError, sqlite3.Error)) else exc
        if raised is exc:
            raise
        raise raised from exc
    try:
        # The zooms the file really holds (a resumed part may hold more than this run asked for).
        zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        if zooms[0] is not None:
            conn.executemany("INSERT OR REPLACE INTO metadata VALUES (?, ?)",
                             [("minzoom", str(zooms[0])), ("maxzoom", str(zooms[1]))])
            conn.commit()
    finally:
        conn.close()
    fsync_file(part)
    os.replace(part, out)
    fsync_dir(out.parent)
    if progress:
        progress("xong / done", 1.0)
    return result


def _run(conn: sqlite3.Connection, fetcher: Fetcher, todo: list, result: DownloadResult,
         stop: threading.Event, workers: int, cancel: Cancel | None,
         progress: Callable[[str, float], None] | None, part: Path) -> None:
    """Fetch `todo` with a few threads, store each tile as it arrives (this thread only writes)."""
    pending: set[Future] = set()
    queue = iter(todo)
    uncommitted, last_report = 0, 0.0
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="basemap") as pool:
        try:
            while True:
                if cancel is not None and cancel():
                    raise DownloadCancelled(part, 0)
                while len(pending) < workers * 2:
                    key = next(queue, None)
                    if key is None:
                        break
                    pending.add(pool.submit(fetcher, key))
                if not pending:
                    break
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    tile = fut.result()  # a refusal or failure raises here
                    if tile is None:
                        continue
                    result.requests += tile.requests
                    z, x, y = tile.key
                    row = tms_row(z, y)
                    if tile.not_modified:
                        result.not_modified += 1
                    elif tile.data is None:
                        result.missing += 1
                    else:
                        conn.execute("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?)",
                                     (z, x, row, sqlite3.Binary(tile.data)))
                        result.fetched += 1
                        result.bytes += len(tile.data)
                    if tile.etag or tile.last_modified or tile.expires:
                        conn.execute("INSERT OR REPLACE INTO tile_http VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     (z, x, row, tile.etag, tile.last_modified, stamp, tile.expires))
                    uncommitted += 1
                if uncommitted >= COMMIT_EVERY:
                    conn.commit()
                    uncommitted = 0
                if progress and time.monotonic() - last_report > 0.5:
                    last_report = time.monotonic()
                    handled = result.fetched + result.missing + result.not_modified
                    progress(f"{handled}/{len(todo)} ô ảnh / tiles", handled / max(1, len(todo)))
        except BaseException as exc:
            stop.set()
            for fut in pending:
                fut.cancel()
            wait(pending)  # in-flight requests end at their next check of `stop` or their timeout
            for fut in pending:  # a tile already in hand is kept
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    tile = fut.result()
                    if tile is not None and tile.data is not None:
                        z, x, y = tile.key
                        conn.execute("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?)",
                                     (z, x, tms_row(z, y), sqlite3.Binary(tile.data)))
                        result.fetched += 1
            with contextlib.suppress(sqlite3.Error):  # a full disk: the first error is the one to tell
                conn.commit()
            if isinstance(exc, DownloadCancelled):
                raise DownloadCancelled(part, _count(conn)) from None
            raise


__all__ = ["MAX_WORKERS", "USER_AGENT", "DownloadCancelled", "DownloadFailed", "DownloadResult", "download_basemap",
           "part_path"]
