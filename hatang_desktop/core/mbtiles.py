"""Offline raster basemaps in MBTiles files, read straight from their SQLite `tiles` table.

MBTiles stores tiles in the TMS scheme (row 0 at the south); maps on screen count rows from the
north (XYZ), so every lookup flips y. Only tile bytes come out of here: decoding them to pixels is
the UI's business (the core imports no Qt). A damaged file or a missing tile is reported, never
raised into the map's paint: the map must draw without its basemap.
"""

from __future__ import annotations

import math
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_output
from .errors import InvalidInputError
from .geo.projection import EARTH_RADIUS_M
from .messages import Text

TILE_SIZE = 256
WORLD_M = 2 * math.pi * EARTH_RADIUS_M  # width of the Web Mercator square
ORIGIN_M = WORLD_M / 2
MAX_TILES_PER_VIEW = 96  # a 4K screen needs ~150 at 256 px; more than this means a wrong zoom


class MBTilesError(InvalidInputError):
    def __init__(self, path, problem_vi: str, problem_en: str):
        self.path = str(path)
        super().__init__(Text(problem_vi, problem_en).prefixed(f"{self.path}: "))


@dataclass(frozen=True)
class TileKey:
    z: int
    x: int
    y: int  # XYZ row: 0 at the north

    def bounds(self) -> tuple[float, float, float, float]:
        """(min_x, min_y, max_x, max_y) of the tile in EPSG:3857 metres."""
        size = WORLD_M / (1 << self.z)
        x0 = -ORIGIN_M + self.x * size
        y1 = ORIGIN_M - self.y * size
        return x0, y1 - size, x0 + size, y1


def resolution(z: int) -> float:
    """Metres per pixel of a 256-px tile at zoom z (at the equator, in Mercator metres)."""
    return WORLD_M / (TILE_SIZE * (1 << z))


def zoom_for(metres_per_pixel: float, min_zoom: int, max_zoom: int) -> int:
    """The coarsest zoom whose pixels are no bigger than the screen's: sharp, never oversampled."""
    if metres_per_pixel <= 0 or not math.isfinite(metres_per_pixel):
        return max_zoom
    z = math.ceil(math.log2(WORLD_M / (TILE_SIZE * metres_per_pixel)) - 1e-9)
    return max(min_zoom, min(max_zoom, z))


def tiles_in_view(z: int, min_x: float, min_y: float, max_x: float, max_y: float) -> list[TileKey]:
    """XYZ tiles at zoom z covering a Mercator box, clipped to the world."""
    n = 1 << z
    size = WORLD_M / n

    def col(v: float) -> int:
        return min(n - 1, max(0, int(math.floor((v + ORIGIN_M) / size))))

    def row(v: float) -> int:
        return min(n - 1, max(0, int(math.floor((ORIGIN_M - v) / size))))

    return [TileKey(z, x, y) for y in range(row(max_y), row(min_y) + 1)
            for x in range(col(min_x), col(max_x) + 1)]


class MBTiles:
    """A read-only MBTiles file. Tile bytes are cached (LRU) so panning back costs nothing."""

    def __init__(self, path: str | Path, cache_size: int = 512):
        self.path = Path(path)
        if not self.path.is_file():
            raise MBTilesError(path, "không tìm thấy tệp bản đồ nền", "basemap file not found")
        try:
            self._conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True,
                                         check_same_thread=False)
            tables = {r[0] for r in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            if "tiles" not in tables:
                raise MBTilesError(path, "không phải tệp MBTiles (thiếu bảng tiles)",
                                   "not an MBTiles file (no tiles table)")
            self.metadata = ({k: v for k, v in self._conn.execute("SELECT name, value FROM metadata")}
                             if "metadata" in tables else {})
            zmin, zmax = self._conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise MBTilesError(path, f"tệp bản đồ nền bị hỏng hoặc không phải SQLite ({exc})",
                               f"the basemap file is damaged or not SQLite ({exc})") from None
        except MBTilesError:
            self.close()
            raise
        if zmin is None:
            self.close()
            raise MBTilesError(path, "tệp bản đồ nền không có ô ảnh nào", "the basemap has no tiles")
        self.min_zoom, self.max_zoom = int(zmin), int(zmax)
        fmt = str(self.metadata.get("format", "png")).lower()
        if fmt in ("pbf", "mvt"):
            self.close()
            raise MBTilesError(path, "đây là bản đồ vector (pbf); chỉ hỗ trợ bản đồ ảnh (png, jpg, webp)",
                               "this is a vector basemap (pbf); only raster (png, jpg, webp) is supported")
        self.format = fmt
        self.name = str(self.metadata.get("name") or self.path.stem)
        self._cache: OrderedDict[TileKey, bytes | None] = OrderedDict()
        self._cache_size = cache_size
        self.errors = 0  # tiles that could not be read: shown to the user, never raised

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
            self._conn = None

    def __enter__(self) -> MBTiles:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def tile(self, key: TileKey) -> bytes | None:
        """The stored bytes of one tile, or None when it is missing or unreadable."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        data = None
        if self._conn is not None:
            tms_row = (1 << key.z) - 1 - key.y
            try:
                row = self._conn.execute(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    (key.z, key.x, tms_row)).fetchone()
                data = bytes(row[0]) if row and row[0] else None
            except sqlite3.DatabaseError:
                self.errors += 1
        self._cache[key] = data
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return data

    def zoom_for(self, metres_per_pixel: float) -> int:
        return zoom_for(metres_per_pixel, self.min_zoom, self.max_zoom)

    def tiles_for_view(self, metres_per_pixel: float, min_x: float, min_y: float, max_x: float,
                       max_y: float) -> list[TileKey]:
        """The tiles to draw for a view; drops to coarser zooms rather than fetch hundreds."""
        z = self.zoom_for(metres_per_pixel)
        keys = tiles_in_view(z, min_x, min_y, max_x, max_y)
        while len(keys) > MAX_TILES_PER_VIEW and z > self.min_zoom:
            z -= 1
            keys = tiles_in_view(z, min_x, min_y, max_x, max_y)
        return keys[:MAX_TILES_PER_VIEW]


def write_mbtiles(path: str | Path, tiles: dict[tuple[int, int, int], bytes], *, name: str = "basemap",
                  fmt: str = "png") -> Path:
    """Write a small MBTiles file from {(z, x, y_xyz): image bytes}: for tests and offline packs."""
    path = Path(path)
    with atomic_output(path) as tmp:
        _write_mbtiles(tmp, tiles, name, fmt)
    return path


def _write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], name: str, fmt: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript("""
            CREATE TABLE metadata (name TEXT, value TEXT);
            CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
            CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);""")
        zooms = [z for z, _, _ in tiles] or [0]
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", [
            ("name", name), ("format", fmt), ("type", "baselayer"),
            ("minzoom", str(min(zooms))), ("maxzoom", str(max(zooms)))])
        conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                         [(z, x, (1 << z) - 1 - y, sqlite3.Binary(data)) for (z, x, y), data in tiles.items()])
        conn.commit()
    finally:
        conn.close()
