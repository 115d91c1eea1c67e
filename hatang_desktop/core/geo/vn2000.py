"""VN-2000 X/Y metres <-> WGS84 latitude/longitude, with the official 7-parameter transformation.

VN-2000 X is the Northing and Y the Easting (Vietnamese surveying convention, the reverse of the
mathematical one): X ~ 2,400,000 m in the north, Y ~ 500,000 m +/- the distance from the
central meridian, which belongs to a province (meridians.py).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from pyproj import Transformer

from .errors import CoordinateError, MalformedCoordinateError, OutOfRangeError, UnknownProvinceError
from .meridians import central_meridian

__all__ = ["VN2000_TO_WGS84", "vn2000_to_wgs84", "wgs84_to_vn2000"]


# Quyết định 05/2007/QĐ-BTNMT, the official VN-2000 -> WGS84 parameters: shifts in metres,
# rotations in arc-seconds, scale in ppm (k = 1.000000252906278). The decision does not name a
# rotation convention; EPSG records them (transformation EPSG:6960 "VN-2000 to WGS 84 (2)",
# source: Department of Survey and Mapping, Vietnam) as Coordinate Frame (method 9607). Many
# web tools paste the same signs into +towgs84, which PROJ reads as Position Vector: that
# flips the rotations and moves points by 0.5-0.8 m. The explicit convention below matches EPSG.
VN2000_TO_WGS84 = {
    "x": -191.90441429, "y": -39.30318279, "z": -111.45032835,
    "rx": -0.00928836, "ry": 0.01975479, "rz": -0.00427372,
    "s": 0.252906278,
}
_SCALE_FACTOR = {3: 0.9999, 6: 0.9996}


def _pipeline(meridian: float, zone_width: int) -> str:
    helmert = " ".join(f"+{k}={v}" for k, v in VN2000_TO_WGS84.items())
    return (
        "+proj=pipeline "
        f"+step +inv +proj=tmerc +lat_0=0 +lon_0={meridian!r} +k={_SCALE_FACTOR[zone_width]} "
        "+x_0=500000 +y_0=0 +ellps=WGS84 "
        # push/pop keeps the datum shift 2D: heights are not ours to change.
        "+step +proj=push +v_3 +step +proj=cart +ellps=WGS84 "
        f"+step +proj=helmert {helmert} +convention=coordinate_frame "
        "+step +inv +proj=cart +ellps=WGS84 +step +proj=pop +v_3 "
        "+step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )


@lru_cache(maxsize=64)
def _transformer(meridian: float, zone_width: int) -> Transformer:
    # Building one costs milliseconds; the cache keeps one per zone (pyproj >= 3.1 is thread-safe).
    return Transformer.from_pipeline(_pipeline(meridian, zone_width))


def _zone_meridian(province, meridian, zone_width: int) -> float:
    if zone_width not in _SCALE_FACTOR:
        raise CoordinateError(
            f"Múi chiếu {zone_width}° không có trong VN-2000: chỉ có múi 3° hoặc 6°",
            f"VN-2000 has no {zone_width}° zone: use 3 or 6",
        )
    if meridian is None:
        if province is None:
            raise UnknownProvinceError(
                "Cần tỉnh (hoặc kinh tuyến trục) để tính tọa độ VN-2000",
                "a province (or central meridian) is needed for VN-2000 coordinates",
            )
        meridian = central_meridian(province)
        if zone_width == 6:
            # 6° sheets use the UTM zone meridian (105° or 111°), not the provincial one.
            meridian = 6 * math.floor(meridian / 6) + 3
    meridian = float(meridian)
    if not 99.0 <= meridian <= 120.0:
        raise OutOfRangeError(
            f"Kinh tuyến trục {meridian:g}° không thuộc Việt Nam (cần 102..117)",
            f"central meridian {meridian:g}° is not a Vietnamese one (expected 102..117)",
        )
    return meridian


def _one_of(name_a: str, a, name_b: str, b):
    if a is not None and b is not None:
        raise TypeError(f"give {name_a} or {name_b}, not both")
    if a is None and b is None:
        raise TypeError(f"{name_a} (or {name_b}) is required")
    return a if a is not None else b


def _as_float_array(value, what_vi: str, what_en: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise MalformedCoordinateError(
            f"{what_vi} '{value}' không phải là số", f"{what_en} '{value}' is not a number"
        ) from None
    if not np.all(np.isfinite(array)):
        raise MalformedCoordinateError(
            f"{what_vi} có giá trị không hữu hạn (NaN/vô cực)", f"{what_en} has NaN or infinity"
        )
    return array


def _check_projected(x: np.ndarray, y: np.ndarray) -> None:
    northing_ok = (x >= 0) & (x <= 3_000_000)
    easting_ok = (y >= 0) & (y <= 1_000_000)
    if np.all(northing_ok & easting_ok):
        return
    swapped = (y >= 0) & (y <= 3_000_000) & (x >= 0) & (x <= 1_000_000) & (y > x)
    if np.any(~easting_ok & swapped):
        raise OutOfRangeError(
            "X (hướng Bắc) và Y (hướng Đông) của VN-2000 có vẻ bị đảo ngược: X khoảng "
            "1.000.000..2.600.000 m, Y khoảng 500.000 m ± 300.000 m",
            "VN-2000 X (northing) and Y (easting) look swapped: X is about "
            "1,000,000..2,600,000 m, Y about 500,000 m ± 300,000 m",
        )
    raise OutOfRangeError(
        "Tọa độ VN-2000 nằm ngoài Việt Nam: cần X (hướng Bắc) 0..3.000.000 m, "
        "Y (hướng Đông) 0..1.000.000 m",
        "VN-2000 coordinates are outside Vietnam: expected X (northing) 0..3,000,000 m, "
        "Y (easting) 0..1,000,000 m",
    )


def _scalar_or_array(values, scalar: bool):
    return tuple(float(v) for v in values) if scalar else tuple(np.asarray(v) for v in values)


def vn2000_to_wgs84(x=None, y=None, province=None, zone_width: int = 3, *,
                    northing=None, easting=None, meridian=None):
    """(lat, lon) WGS84 degrees from VN-2000 X/Y metres.

    ``x`` is the Northing (X ~ 2,400,000 in the north) and ``y`` the Easting (Y ~ 500,000 +
    the distance east of the central meridian), as on Vietnamese survey documents; the
    keywords ``northing=``/``easting=`` say the same unambiguously. ``province`` is anything
    lookup_province accepts; ``meridian=`` (degrees) overrides it. zone_width 3 (k0 = 0.9999,
    provincial meridian) or 6 (k0 = 0.9996, UTM meridian 105° or 111°). Scalars give floats,
    arrays give arrays.
    """
    x = _one_of("x", x, "northing", northing)
    y = _one_of("y", y, "easting", easting)
    lon0 = _zone_meridian(province, meridian, zone_width)
    x_a = _as_float_array(x, "X (hướng Bắc)", "X (northing)")
    y_a = _as_float_array(y, "Y (hướng Đông)", "Y (easting)")
    _check_projected(x_a, y_a)
    lon, lat = _transformer(lon0, zone_width).transform(y_a, x_a)
    return _scalar_or_array((lat, lon), x_a.ndim == 0 and y_a.ndim == 0)


def wgs84_to_vn2000(lat, lon, province=None, zone_width: int = 3, *, meridian=None):
    """(x, y) VN-2000 metres, x = Northing, y = Easting, from WGS84 degrees; see vn2000_to_wgs84."""
    lon0 = _zone_meridian(province, meridian, zone_width)
    lat_a = _as_float_array(lat, "Vĩ độ", "latitude")
    lon_a = _as_float_array(lon, "Kinh độ", "longitude")
    if np.any(np.abs(lat_a) > 90) or np.any(np.abs(lon_a) > 180):
        raise OutOfRangeError(
            "Vĩ độ phải trong -90..90 và kinh độ trong -180..180",
            "latitude must be within -90..90 and longitude within -180..180",
        )
    easting, northing = _transformer(lon0, zone_width).transform(lon_a, lat_a, direction="INVERSE")
    return _scalar_or_array((northing, easting), lat_a.ndim == 0 and lon_a.ndim == 0)
