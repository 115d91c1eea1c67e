"""MBTiles basemaps read straight from SQLite: TMS rows flipped, zoom from scale, bad files."""

import math
import struct
import zlib

import pytest

from hatang_desktop.core import mbtiles as mb
from hatang_desktop.core.geo.projection import lonlat_to_mercator


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A valid PNG of one colour, built with zlib: no imaging library needed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def xyz_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture
def tiny(tmp_path):
    x, y = xyz_tile(105.9, 18.34, 8)
    tiles = {(8, x, y): solid_png((200, 30, 30)), (8, x + 1, y): solid_png((30, 30, 200)),
             (7, x // 2, y // 2): solid_png((30, 200, 30))}
    return mb.write_mbtiles(tmp_path / "tiny.mbtiles", tiles, name="Thử"), (x, y)


def test_tiles_read_with_tms_rows_flipped(tiny):
    path, (x, y) = tiny
    with mb.MBTiles(path) as tiles:
        assert (tiles.min_zoom, tiles.max_zoom, tiles.name, tiles.format) == (7, 8, "Thử", "png")
        red = tiles.tile(mb.TileKey(8, x, y))
        assert red == solid_png((200, 30, 30))
        assert tiles.tile(mb.TileKey(8, x + 1, y)) == solid_png((30, 30, 200))
        # The TMS row number used as if it were XYZ finds nothing: the flip is real.
        assert tiles.tile(mb.TileKey(8, x, (1 << 8) - 1 - y)) is None
        assert tiles.tile(mb.TileKey(8, x + 5, y)) is None  # missing: None, no exception


def test_tile_bounds_contain_the_point(tiny):
    _, (x, y) = tiny
    px, py = lonlat_to_mercator(105.9, 18.34)
    x0, y0, x1, y1 = mb.TileKey(8, x, y).bounds()
    assert x0 <= px <= x1 and y0 <= py <= y1
    assert x1 - x0 == pytest.approx(mb.WORLD_M / 256)


def test_zoom_follows_the_scale():
    assert mb.zoom_for(mb.resolution(12), 0, 18) == 12
    assert mb.zoom_for(mb.resolution(12) * 0.9, 0, 18) == 13  # finer screen than z12: take z13
    assert mb.zoom_for(mb.resolution(3), 7, 8) == 7  # clamped to what the file has
    assert mb.zoom_for(0.01, 7, 8) == 8


def test_only_visible_tiles_are_listed(tiny):
    path, (x, y) = tiny
    with mb.MBTiles(path) as tiles:
        x0, y0, x1, y1 = mb.TileKey(8, x, y).bounds()
        keys = tiles.tiles_for_view(mb.resolution(8), x0 + 10, y0 + 10, x1 - 10, y1 - 10)
        assert keys == [mb.TileKey(8, x, y)]
        wide = tiles.tiles_for_view(mb.resolution(8), x0 - 1e6, y0 - 1e6, x1 + 1e6, y1 + 1e6)
        assert len(wide) <= mb.MAX_TILES_PER_VIEW and all(k.z in (7, 8) for k in wide)


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 2000])
def test_corrupt_files_raise_a_clear_error(tmp_path, content):
    bad = tmp_path / "bad.mbtiles"
    bad.write_bytes(content)
    with pytest.raises(mb.MBTilesError) as info:
        mb.MBTiles(bad)
    assert "bản đồ nền" in str(info.value) or "MBTiles" in str(info.value)
    assert bad.read_bytes() == content  # nothing written


def test_database_without_tiles_table_is_refused(tmp_path):
    import sqlite3

    other = tmp_path / "other.mbtiles"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(mb.MBTilesError, match="tiles"):
        mb.MBTiles(other)
    with pytest.raises(mb.MBTilesError, match="không tìm thấy"):
        mb.MBTiles(tmp_path / "missing.mbtiles")
