"""Which XYZ tiles cover a longitude/latitude box, and what downloading them would cost.

Web Mercator (EPSG:3857) tiles as every XYZ source serves them: row 0 at the north. MBTiles and
TMS sources count rows from the south; `tms_row` flips between the two.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InvalidInputError
from ..text import format_decimal, format_plain

MAX_LAT = 85.0511287798  # the Mercator square's edge: beyond it there are no tiles
MAX_ZOOM = 22
# Tiles one job may fetch: a province at z17 is ~1.5 million tiles (tens of GB), more than a
# laptop in the field should hold or a tile server should be asked for; the estimate says so first.
MAX_TILES = 250_000
# Bytes per tile when the source says nothing: typical 256-px map tiles (PNG roads-and-labels
# styles average 10-20 kB in towns, less in forest); imagery JPEGs run larger.
TYPICAL_TILE_BYTES = {"png": 15_000, "jpg": 25_000, "jpeg": 25_000, "webp": 12_000}


@dataclass(frozen=True)
class BBox:
    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        vals = (self.west, self.south, self.east, self.north)
        if not all(math.isfinite(v) for v in vals):
            raise InvalidInputError("khung không hợp lệ (có giá trị không phải số) / invalid box (non-numeric value)")
        if not (-180 <= self.west < self.east <= 180) or not (-90 <= self.south < self.north <= 90):
            raise InvalidInputError(
                f"khung {self.as_text()} không hợp lệ: cần TÂY<ĐÔNG trong -180..180, NAM<BẮC trong -90..90 / "
                f"invalid box: need W<E within -180..180 and S<N within -90..90")

    @classmethod
    def parse(cls, text: str) -> BBox:
        """'W,S,E,N' in decimal degrees (WGS84)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise InvalidInputError(f"--bbox {text}: cần 4 số TÂY,NAM,ĐÔNG,BẮC (độ) / expected W,S,E,N in degrees")
        try:
            return cls(*(float(p) for p in parts))
        except ValueError:
            raise InvalidInputError(f"--bbox {text}: cần 4 số TÂY,NAM,ĐÔNG,BẮC (độ) / "
                                    "expected W,S,E,N in degrees") from None

    def as_text(self) -> str:
        return f"{self.west:.6f},{self.south:.6f},{self.east:.6f},{self.north:.6f}"


def parse_zoom_range(text: str) -> tuple[int, int]:
    """'10-17' or '15' -> (min, max)."""
    lo, sep, hi = text.partition("-")
    try:
        zmin = int(lo)
        zmax = int(hi) if sep else zmin
    except ValueError:
        raise InvalidInputError(f"--zoom {text}: cần dạng 10-17 / expected e.g. 10-17") from None
    if not (0 <= zmin <= zmax <= MAX_ZOOM):
        raise InvalidInputError(f"--zoom {text}: cần 0 ≤ nhỏ ≤ lớn ≤ {MAX_ZOOM} / need 0 ≤ min ≤ max ≤ {MAX_ZOOM}")
    return zmin, zmax


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point, clamped to the world at zoom z."""
    n = 1 << z
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    x = int(math.floor((lon + 180.0) / 360.0 * n))
    y = int(math.floor((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n))
    return min(n - 1, max(0, x)), min(n - 1, max(0, y))


def tms_row(z: int, y: int) -> int:
    """XYZ row <-> TMS row (the same flip both ways)."""
    return (1 << z) - 1 - y


@dataclass(frozen=True)
class TileRange:
    z: int
    x0: int
    y0: int  # XYZ: north row
    x1: int
    y1: int  # inclusive

    @property
    def count(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        for y in range(self.y0, self.y1 + 1):
            for x in range(self.x0, self.x1 + 1):
                yield self.z, x, y


def tile_ranges(bbox: BBox, zmin: int, zmax: int) -> list[TileRange]:
    out = []
    for z in range(zmin, zmax + 1):
        x0, y0 = tile_xy(bbox.west, bbox.north, z)
        # The east/south edges belong to the tile before when they fall exactly on a tile line.
        x1, y1 = tile_xy(bbox.east - 1e-12, bbox.south + 1e-12, z)
        out.append(TileRange(z, x0, y0, max(x0, x1), max(y0, y1)))
    return out


@dataclass(frozen=True)
class Estimate:
    tiles: int
    per_zoom: dict[int, int]
    bytes: int  # approximate

    def as_json(self) -> dict:
        return {"tiles": self.tiles, "per_zoom": {str(z): n for z, n in self.per_zoom.items()},
                "approx_bytes": self.bytes, "approx_mb": round(self.bytes / 1e6, 1)}

    def line(self) -> str:
        return (f"{format_plain(self.tiles, 'vi')} ô ảnh, khoảng {size_text(self.bytes, 'vi')} / "
                f"{format_plain(self.tiles, 'en')} tiles, about {size_text(self.bytes, 'en')}")


def size_text(n_bytes: int, lang: str) -> str:
    mb = n_bytes / 1e6
    return f"{format_decimal(mb, 1, lang)} MB" if mb < 1000 else f"{format_decimal(mb / 1000, 1, lang)} GB"


def estimate(bbox: BBox, zmin: int, zmax: int, bytes_per_tile: int) -> Estimate:
    per_zoom = {r.z: r.count for r in tile_ranges(bbox, zmin, zmax)}
    total = sum(per_zoom.values())
    return Estimate(total, per_zoom, total * bytes_per_tile)
