"""A GeoTIFF opened as a reference layer: one RGBA image warped to the map's Web Mercator.

Read with Pillow (already the app's image library) and the GeoTIFF tags, not GDAL's raster
side (pyogrio reads vectors only, and rasterio would add ~30 MB to the bundle for this one
use): north-up images, whose place is a tie point and a pixel size (or a transformation
without rotation), in EPSG:4326, EPSG:3857, a VN-2000 TM zone (EPSG 9205-9218, 5896-5899,
with the official 7 parameters) or any other EPSG code PROJ knows. Anything else (a rotated
image, a CRS the file defines itself) is refused with a message naming what is missing.

The image is resampled (nearest pixel) onto a Mercator grid of about its own resolution, at
most MAX_SIDE pixels a side: a planning map of a commune keeps its detail, a province-wide
mosaic is drawn coarser rather than filling the memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..geo import vn2000
from ..geo.projection import lonlat_to_mercator, mercator_to_lonlat
from ..gis import crs as file_crs

MAX_SIDE = 2048
MAX_SOURCE_PIXELS = 400_000_000  # Pillow's decompression-bomb guard, raised for real scans
PIXEL_SCALE, TIEPOINT, TRANSFORMATION, GEOKEYS, NODATA = 33550, 33922, 34264, 34735, 42113
MODEL_TYPE, RASTER_TYPE, GEOGRAPHIC_TYPE, PROJECTED_TYPE = 1024, 1025, 2048, 3072
USER_DEFINED = 32767


@dataclass
class RasterData:
    rgba: np.ndarray                                   # (rows, cols, 4) uint8, row 0 to the north
    bounds: tuple[float, float, float, float]          # Mercator min_x, min_y, max_x, max_y
    lonlat_bounds: tuple[float, float, float, float]   # west, south, east, north
    notes: list[str] = field(default_factory=list)


def _bad(file: Path, vi: str, en: str) -> InvalidInputError:
    return InvalidInputError(f"{file}: {vi} / {en}")


def _geokeys(tags) -> dict[int, int]:
    raw = tags.get(GEOKEYS)
    if not raw or len(raw) < 4:
        return {}
    keys = {}
    for i in range(4, 4 + 4 * int(raw[3]), 4):
        key, location, _count, value = raw[i:i + 4]
        if location == 0:  # a SHORT value held in the entry itself (codes are)
            keys[int(key)] = int(value)
    return keys


def _georeference(file: Path, tags) -> tuple[float, float, float, float]:
    """(x of the left edge, y of the top edge, pixel width, pixel height) in the file's CRS."""
    keys = _geokeys(tags)
    scale, tie, matrix = tags.get(PIXEL_SCALE), tags.get(TIEPOINT), tags.get(TRANSFORMATION)
    if scale is not None and tie is not None and len(tie) >= 6:
        i, j, x, y = float(tie[0]), float(tie[1]), float(tie[3]), float(tie[4])
        sx, sy = float(scale[0]), float(scale[1])
        x0, y0 = x - i * sx, y + j * sy
    elif matrix is not None and len(matrix) >= 8:
        if abs(float(matrix[1])) > 1e-12 or abs(float(matrix[4])) > 1e-12:
            raise _bad(file, "ảnh bị xoay, chưa hỗ trợ; hãy xuất lại ảnh hướng bắc lên trên",
                       "a rotated image is not supported; export it north-up")
        sx, sy, x0, y0 = float(matrix[0]), -float(matrix[5]), float(matrix[3]), float(matrix[7])
    else:
        raise _bad(file, "ảnh không có thông tin vị trí (không phải GeoTIFF)", "no georeferencing (not a GeoTIFF)")
    if keys.get(RASTER_TYPE) == 2:  # PixelIsPoint: the tie point is a pixel's centre
        x0, y0 = x0 - sx / 2, y0 + sy / 2
    if not (sx > 0 and sy > 0):
        raise _bad(file, "kích thước điểm ảnh không hợp lệ", "invalid pixel size")
    return x0, y0, sx, sy


def _epsg(file: Path, tags) -> int:
    keys = _geokeys(tags)
    code = keys.get(PROJECTED_TYPE) if keys.get(MODEL_TYPE) == 1 else keys.get(GEOGRAPHIC_TYPE)
    code = code or keys.get(PROJECTED_TYPE) or keys.get(GEOGRAPHIC_TYPE)
    if not code or code == USER_DEFINED:
        raise _bad(file, "hệ tọa độ của ảnh không có mã EPSG; hãy xuất lại theo EPSG:4326, 3857 hoặc VN-2000 "
                         "(EPSG 9205-9218)",
                   "the image's CRS has no EPSG code; export it in EPSG:4326, 3857 or VN-2000 (EPSG 9205-9218)")
    return int(code)


def _lonlat_to_source(code: int, file: Path):
    """A function (lon, lat arrays) -> (x, y) in the image's CRS."""
    import pyproj

    if code == 4326:
        return lambda lon, lat: (lon, lat)
    if code == 3857:
        return lonlat_to_mercator
    try:
        crs = pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError:
        raise _bad(file, f"mã hệ tọa độ EPSG:{code} không xác định", f"unknown CRS EPSG:{code}") from None
    zone = file_crs.vn2000_zone(crs)
    if zone is not None:
        meridian, width = zone

        def official(lon, lat):
            north, east = vn2000.wgs84_to_vn2000(lat, lon, meridian=meridian, zone_width=width)
            return np.asarray(east, float), np.asarray(north, float)

        return official
    transformer = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    return lambda lon, lat: transformer.transform(lon, lat)


def _source_to_lonlat(code: int):
    import pyproj

    if code == 4326:
        return lambda x, y: (x, y)
    if code == 3857:
        return mercator_to_lonlat
    crs = pyproj.CRS.from_epsg(code)
    zone = file_crs.vn2000_zone(crs)
    if zone is not None:
        meridian, width = zone

        def official(x, y):
            lat, lon = vn2000.vn2000_to_wgs84(northing=y, easting=x, meridian=meridian, zone_width=width)
            return np.asarray(lon, float), np.asarray(lat, float)

        return official
    transformer = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    return lambda x, y: transformer.transform(x, y)


def _rgba(image, nodata) -> np.ndarray:
    """The image as RGBA bytes; one band of numbers (heights, 16-bit scans) stretched to grey."""
    mode = image.mode
    if mode in ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "I;16", "I;16B", "I", "F"):
        if mode in ("I;16", "I;16B", "I", "F"):
            values = np.asarray(image, dtype=float)
            finite = np.isfinite(values)
            if nodata is not None:
                finite &= values != nodata
            lo, hi = (np.percentile(values[finite], (2, 98)) if finite.any() else (0.0, 1.0))
            grey = np.clip((values - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
            out = np.dstack([grey, grey, grey, np.where(finite, 255, 0).astype(np.uint8)])
            return out
        out = np.asarray(image.convert("RGBA")).copy()
        if nodata is not None and mode in ("L", "P", "RGB"):
            band = np.asarray(image if mode != "P" else image.convert("L"))
            empty = band == nodata if band.ndim == 2 else (band == nodata).all(axis=2)
            out[empty, 3] = 0
        return out
    raise ValueError(mode)


def read_geotiff(file: str | Path) -> RasterData:
    from PIL import Image

    file = Path(file)
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS
    try:
        with Image.open(file) as image:
            tags = dict(image.tag_v2) if hasattr(image, "tag_v2") else {}
            x0, y0, sx, sy = _georeference(file, tags)
            code = _epsg(file, tags)
            nodata = tags.get(NODATA)
            try:
                nodata = float(str(nodata).strip("\x00 ")) if nodata is not None else None
            except ValueError:
                nodata = None
            try:
                image.load()
                pixels = _rgba(image, nodata)
            except (OSError, ValueError) as exc:
                raise _bad(file, f"không đọc được điểm ảnh ({exc}); hãy xuất lại dạng RGB 8 bit",
                           "cannot read the pixels; export the image as 8-bit RGB") from None
    except InvalidInputError:
        raise
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise _bad(file, f"không mở được ảnh ({exc})", "cannot open the image") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    return warp(file, pixels, x0, y0, sx, sy, code)


def warp(file: Path, pixels: np.ndarray, x0: float, y0: float, sx: float, sy: float, code: int) -> RasterData:
    """The image resampled onto a north-up Web Mercator grid covering it."""
    rows, cols = pixels.shape[:2]
    to_lonlat = _source_to_lonlat(code)
    # The outline sampled along its edges: a TM zone's rectangle is not one in Mercator.
    t = np.linspace(0, 1, 33)
    ex = np.concatenate([x0 + t * cols * sx, np.full_like(t, x0 + cols * sx), x0 + t * cols * sx, np.full_like(t, x0)])
    ey = np.concatenate([np.full_like(t, y0), y0 - t * rows * sy, np.full_like(t, y0 - rows * sy), y0 - t * rows * sy])
    lon, lat = to_lonlat(ex, ey)
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()) or np.abs(lat).max() > 85 or np.abs(lon).max() > 180:
        raise _bad(file, "vị trí ảnh nằm ngoài phạm vi bản đồ", "the image lies outside the map's range")
    mx, my = lonlat_to_mercator(lon, lat)
    min_x, max_x, min_y, max_y = float(mx.min()), float(mx.max()), float(my.min()), float(my.max())
    # About as many pixels as the source has along each side, at most MAX_SIDE.
    ratio = (max_x - min_x) / max(max_y - min_y, 1e-9)
    side = min(MAX_SIDE, max(cols, rows))
    width, height = (side, max(1, round(side / ratio))) if ratio >= 1 else (max(1, round(side * ratio)), side)
    width, height = min(width, MAX_SIDE), min(height, MAX_SIDE)
    px = min_x + (np.arange(width) + 0.5) * (max_x - min_x) / width
    py = max_y - (np.arange(height) + 0.5) * (max_y - min_y) / height
    gx, gy = np.meshgrid(px, py)
    glon, glat = mercator_to_lonlat(gx.ravel(), gy.ravel())
    sxs, sys_ = _lonlat_to_source(code, file)(np.asarray(glon), np.asarray(glat))
    col = np.floor((np.asarray(sxs) - x0) / sx).astype(np.int64)
    row = np.floor((y0 - np.asarray(sys_)) / sy).astype(np.int64)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    out = np.zeros((height * width, 4), np.uint8)
    out[inside] = pixels[row[inside], col[inside]]
    west, south = (float(v) for v in mercator_to_lonlat(min_x, min_y))
    east, north = (float(v) for v in mercator_to_lonlat(max_x, max_y))
    return RasterData(out.reshape(height, width, 4), (min_x, min_y, max_x, max_y), (west, south, east, north))
