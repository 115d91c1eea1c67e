"""Coordinates as people type and read them: DMS and decimal text in, checked, and out again.

Positions are WGS84 latitude/longitude in decimal degrees everywhere inside the app; the geo
package is the border where other forms come in and go out (this module: text; vn2000.py:
VN-2000 X/Y; meridians.py: a province's central meridian). Headless: no Qt.

Conventions worth knowing before calling anything here:

* Argument order is (lat, lon) for points, as people say and write them; sequences of
  coordinates for lines and polygons are (lon, lat), as in shapely/GeoJSON.
* Hemisphere letters: N S E W, and Vietnamese B (Bắc, north), Đ (Đông, east), T (Tây, west).
  A lone "N" is read as North (the English convention, by far the most common on GPS units and
  documents), never as Vietnamese "Nam" (south); the full word "Nam" does mean south.
* VN-2000 X is the Northing and Y the Easting (Vietnamese surveying convention, the reverse of
  the mathematical one): X ~ 2,400,000 m in the north, Y ~ 500,000 m +/- the distance from the
  central meridian.
"""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

from ..text import fold
from .errors import CoordinateError, MalformedCoordinateError, OutOfRangeError, OutsideVietnamError

__all__ = [
    # what a caller of the functions below catches, here so that one import reads text
    "CoordinateError",
    "MalformedCoordinateError",
    "OutOfRangeError",
    "OutsideVietnamError",
    "VIETNAM_BBOX",
    "normalise_text",
    "parse_angle",
    "parse_point",
    "check_in_vietnam",
    "is_in_vietnam",
    "format_dms",
    "format_decimal",
]


# --------------------------------------------------------------------------- text normalisation

_SYMBOLS = str.maketrans(
    {
        "º": "°", "˚": "°", "⁰": "°",
        "′": "'", "’": "'", "‘": "'", "ʹ": "'", "´": "'", "`": "'", "ꞌ": "'",
        "″": '"', "“": '"', "”": '"', "ʺ": '"', "〃": '"',
        "−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    }
)
_VI_UNITS = ((re.compile(r"\s*độ\s*", re.I), "°"), (re.compile(r"\s*phút\s*", re.I), "'"),
             (re.compile(r"\s*giây\s*", re.I), '"'))


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_SYMBOLS)
    text = text.replace("''", '"')
    for pattern, unit in _VI_UNITS:
        text = pattern.sub(unit, text)
    return text.strip()


# --------------------------------------------------------------------------- hemispheres

_HEMISPHERES = {  # folded word -> (axis, sign)
    "n": ("lat", 1), "north": ("lat", 1), "b": ("lat", 1), "bac": ("lat", 1),
    "s": ("lat", -1), "south": ("lat", -1), "nam": ("lat", -1),
    "e": ("lon", 1), "east": ("lon", 1), "dong": ("lon", 1),
    "w": ("lon", -1), "west": ("lon", -1), "t": ("lon", -1), "tay": ("lon", -1),
}


def _hemisphere(word: str) -> tuple[str, int]:
    # A bare "D" is refused: it is the degree letter in 21d51m and only "Đ" means Đông.
    if word in ("Đ", "đ"):
        return ("lon", 1)
    folded = fold(word)
    if folded in _HEMISPHERES:
        return _HEMISPHERES[folded]
    raise MalformedCoordinateError(
        f"Không hiểu ký hiệu bán cầu '{word}': dùng N/B (Bắc), S (Nam), E/Đ (Đông), W/T (Tây)",
        f"unknown hemisphere '{word}': use N/B (north), S (south), E/Đ (east), W/T (west)",
    )


# --------------------------------------------------------------------------- angles

_NUM = r"\d+(?:[.,]\d+)?"
_WORD = r"[^\W\d_]+"
_BODIES = (
    # 21°51'30"  21° 51' 30  21°51.5'  21°  (minute/second marks optional once ° is there)
    re.compile(rf"(?P<d>{_NUM})\s*°\s*(?:(?P<m>{_NUM})\s*'?\s*(?:(?P<s>{_NUM})\s*\"?)?)?"),
    # 21d51m30s  21d 51m  (lower case only: an upper-case S is the southern hemisphere)
    re.compile(rf"(?P<d>{_NUM})\s*d\s*(?:(?P<m>{_NUM})\s*m\s*(?:(?P<s>{_NUM})\s*s)?)?"),
    # 21 51 30  21:51:30  21.858  21,858
    re.compile(rf"(?P<d>{_NUM})(?:\s*[\s:]\s*(?P<m>{_NUM})(?:\s*[\s:]\s*(?P<s>{_NUM}))?)?"),
)
_WRAPPED = re.compile(
    rf"^(?P<sign>[+-])?\s*(?:(?P<pre>{_WORD})\.?\s*)?(?P<body>.*?)\s*(?:(?P<post>{_WORD})\.?)?$"
)
_EXPECTED_VI = "dạng như 21.858, 21,858, 21°51'30\"N hoặc 21 51 30"
_EXPECTED_EN = "a form like 21.858, 21,858, 21°51'30\"N or 21 51 30"


def _malformed(text: str, why_vi: str = "", why_en: str = "") -> MalformedCoordinateError:
    extra_vi = f" ({why_vi})" if why_vi else ""
    extra_en = f" ({why_en})" if why_en else ""
    return MalformedCoordinateError(
        f"Không đọc được tọa độ '{text}'{extra_vi}: cần {_EXPECTED_VI}",
        f"cannot read coordinate '{text}'{extra_en}: expected {_EXPECTED_EN}",
    )


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _match_body(body: str):
    for pattern in _BODIES:
        match = pattern.fullmatch(body)
        if match:
            return match
    return None


def _split_hemisphere(text: str) -> tuple[str, str, str | None]:
    """(sign, numeric body, hemisphere word or None).

    The trailing word is cut at every position, longest body first, so the "s" of 21d51m30s
    stays a seconds mark while the "S" of 21.5 S (or the N of 21d51m30sN) is a hemisphere."""
    wrapped = _WRAPPED.match(text)
    sign, pre, body, post = (wrapped.group(k) or "" for k in ("sign", "pre", "body", "post"))
    for cut in range(len(post), -1, -1):
        if _match_body(body + post[:cut]):
            body, post = body + post[:cut], post[cut:]
            break
    if pre and post:
        raise _malformed(text, "có hai ký hiệu bán cầu", "two hemisphere letters")
    return sign, body, (pre or post or None)


def _dms_value(text: str, match) -> float:
    d, m, s = match.group("d"), match.group("m"), match.group("s")
    if m is not None and not d.isdigit():
        raise _malformed(text, "độ lẻ không đi kèm phút", "fractional degrees followed by minutes")
    if s is not None and not m.isdigit():
        raise _malformed(
            text, "phút lẻ không đi kèm giây", "fractional minutes followed by seconds"
        )
    for part, name_vi, name_en in ((m, "Phút", "minutes"), (s, "Giây", "seconds")):
        if part is not None and _number(part) >= 60:
            raise MalformedCoordinateError(
                f"{name_vi} {part} trong '{text}' phải nhỏ hơn 60",
                f"{name_en} {part} in '{text}' must be less than 60",
            )
    return _number(d) + _number(m or "0") / 60 + _number(s or "0") / 3600


def _check_axis(text: str, axis: str | None, hemi_axis: str | None) -> None:
    if axis not in (None, "lat", "lon"):
        raise ValueError(f"axis must be 'lat', 'lon' or None, not {axis!r}")
    if axis and hemi_axis and axis != hemi_axis:
        expected_vi = "vĩ độ (N/S/B)" if axis == "lat" else "kinh độ (E/W/Đ/T)"
        expected_en = "a latitude (N/S)" if axis == "lat" else "a longitude (E/W)"
        raise MalformedCoordinateError(
            f"'{text}' mang ký hiệu bán cầu của {'kinh' if axis == 'lat' else 'vĩ'} độ, "
            f"nhưng ở đây cần {expected_vi}",
            f"'{text}' has a {'longitude' if axis == 'lat' else 'latitude'} hemisphere letter, "
            f"but {expected_en} is expected here",
        )


def _check_range(value: float, axis: str | None, shown: str) -> None:
    limit = 90 if axis == "lat" else 180
    if abs(value) <= limit:
        return
    if axis == "lat":
        raise OutOfRangeError(
            f"Vĩ độ {shown} nằm ngoài khoảng -90..90", f"latitude {shown} is outside -90..90"
        )
    what_vi, what_en = ("Kinh độ", "longitude") if axis == "lon" else ("Góc", "angle")
    raise OutOfRangeError(
        f"{what_vi} {shown} nằm ngoài khoảng -180..180", f"{what_en} {shown} is outside -180..180"
    )


def _parse_angle(text: str, axis: str | None) -> tuple[float, str | None]:
    """The value and the axis its hemisphere letter implies (None without a letter)."""
    if not isinstance(text, str):
        raise TypeError(f"parse_angle needs text, not {type(text).__name__}")
    clean = normalise_text(text)
    if not clean:
        raise _malformed(text, "ô trống", "empty")
    sign, body, hemi_word = _split_hemisphere(clean)
    match = _match_body(body)
    if match is None:
        raise _malformed(text)
    hemi_axis, hemi_sign = _hemisphere(hemi_word) if hemi_word else (None, 1)
    if sign and hemi_word:
        raise _malformed(text, "vừa có dấu vừa có ký hiệu bán cầu", "both a sign and a hemisphere")
    _check_axis(text, axis, hemi_axis)
    value = _dms_value(text, match) * hemi_sign * (-1 if sign == "-" else 1)
    _check_range(value, axis or hemi_axis, text.strip())
    return value, hemi_axis


def parse_angle(text: str, axis: str | None = None) -> float:
    """Decimal degrees from what a person typed or a GPS printed.

    Accepts decimal degrees with a dot or a comma ("21.858", "21,858", "-105.5") and the
    common DMS spellings: 21°51'30"N, 21°51'30.5" N, 21° 51' 30'', 21 51 30, 21:51:30,
    21d51m30s, N21°51'30", 21°51.5', 21°51′30″, 21 độ 51 phút 30 giây. Hemisphere letters:
    N/S/E/W and B/Đ/T; "N" is North (see the module docstring). ``axis`` ("lat" or "lon")
    sets the allowed range and rejects a contradicting letter (an E on a latitude).
    """
    return _parse_angle(text, axis)[0]


# --------------------------------------------------------------------------- points

VIETNAM_BBOX = (6.5, 23.5, 102.0, 117.5)  # lat min, lat max, lon min, lon max; with the islands


def _value(raw, axis: str) -> tuple[float, str | None]:
    if isinstance(raw, str):
        return _parse_angle(raw, axis)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _malformed(str(raw)) from None
    if not math.isfinite(value):
        raise _malformed(str(raw), "không phải số hữu hạn", "not a finite number")
    _check_range(value, axis, f"{value:g}")
    return value, None


def _pair_from_values(lat_raw, lon_raw) -> tuple[float, float]:
    lat, _ = _value(lat_raw, "lat")
    lon, _ = _value(lon_raw, "lon")
    return lat, lon


def _split_candidates(text: str) -> list[tuple[str, str]]:
    """Ways to cut a one-string pair in two, most explicit separator first."""
    for separator in (";", "\t", "|", "/"):
        if separator in text:
            parts = [p for p in text.split(separator) if p.strip()]
            return [(parts[0], parts[1])] if len(parts) == 2 else []
    comma_space = re.split(r",\s+", text)
    if len(comma_space) == 2:
        return [(comma_space[0], comma_space[1])]
    if text.count(",") == 1 and " " not in text.strip():
        left, right = text.split(",")
        return [(left, right)]
    tokens = text.split()
    return [(" ".join(tokens[:k]), " ".join(tokens[k:])) for k in range(1, len(tokens))]


def _try_angle(text: str):
    try:
        return _parse_angle(text, None)
    except CoordinateError:
        return None


def _most_likely_cut(candidates: list[tuple[str, str]]) -> tuple[str, str] | None:
    if len(candidates) == 1:
        return candidates[0]
    symmetric = [c for c in candidates if len(c[0].split()) == len(c[1].split())]
    return symmetric[0] if len(symmetric) == 1 else None


def _split_pair(text: str) -> tuple[tuple[float, str | None], tuple[float, str | None]]:
    candidates = _split_candidates(text)
    valid = []
    for left, right in candidates:
        first, second = _try_angle(left), _try_angle(right)
        if first and second:
            valid.append((first, second, len(left.split()) == len(right.split())))
    if len(valid) > 1:
        # "21 30 45 15" cuts three ways; only the symmetric cut is what people mean.
        valid = [v for v in valid if v[2]]
    if len(valid) == 1:
        return valid[0][0], valid[0][1]
    cut = None if valid else _most_likely_cut(candidates)
    if cut:
        # Re-parse the obvious halves so the user sees the real fault (minutes 75, ...).
        _parse_angle(cut[0], None)
        _parse_angle(cut[1], None)
    raise MalformedCoordinateError(
        f"Không tách được '{text}' thành vĩ độ và kinh độ: cần dạng 21.85, 106.75 "
        f"hoặc 21°51'30\"N 106°45'12\"E",
        f"cannot split '{text}' into latitude and longitude: expected a form like "
        f"21.85, 106.75 or 21°51'30\"N 106°45'12\"E",
    )


def _order_pair(text: str, first, second) -> tuple[float, float]:
    (v1, axis1), (v2, axis2) = first, second
    if axis1 and axis1 == axis2:
        raise MalformedCoordinateError(
            f"'{text}' có hai {'vĩ' if axis1 == 'lat' else 'kinh'} độ, thiếu "
            f"{'kinh' if axis1 == 'lat' else 'vĩ'} độ",
            f"'{text}' holds two {'latitudes' if axis1 == 'lat' else 'longitudes'}",
        )
    if axis1 == "lon" or axis2 == "lat":
        v1, v2 = v2, v1
    return v1, v2


def _check_pair_range(lat: float, lon: float) -> None:
    if abs(lat) > 90 and abs(lon) <= 90 and abs(lat) <= 180:
        raise OutOfRangeError(
            f"Vĩ độ {lat:g} nằm ngoài khoảng -90..90; vĩ độ và kinh độ có vẻ bị đảo ngược "
            f"(vĩ độ đứng trước, kinh độ sau)",
            f"latitude {lat:g} is outside -90..90; latitude and longitude look swapped "
            f"(latitude comes first)",
        )
    _check_range(lat, "lat", f"{lat:g}")
    _check_range(lon, "lon", f"{lon:g}")


def parse_point(text_or_lat, lon=None) -> tuple[float, float]:
    """(lat, lon) in decimal degrees from one string holding both, or from two values.

    One string: "21.85, 106.75", "21,85; 106,75", `21°51'30"N 106°45'12"E`, or with hemisphere
    letters in either order ("106.75E 21.85N"). Without letters the order is latitude first.
    Two values: numbers or strings in any form parse_angle accepts.
    """
    if lon is not None:
        return _pair_from_values(text_or_lat, lon)
    if isinstance(text_or_lat, (tuple, list)) and len(text_or_lat) == 2:
        return _pair_from_values(*text_or_lat)
    if not isinstance(text_or_lat, str):
        raise MalformedCoordinateError(
            f"Cần cả vĩ độ và kinh độ, chỉ có '{text_or_lat}'",
            f"both latitude and longitude are needed, got only '{text_or_lat}'",
        )
    text = normalise_text(text_or_lat)
    first, second = _split_pair(text)
    lat, lon_value = _order_pair(text_or_lat, first, second)
    _check_pair_range(lat, lon_value)
    return lat, lon_value


# --------------------------------------------------------------------------- Vietnam extent


def is_in_vietnam(lat, lon):
    """True where (lat, lon) is inside the generous Vietnam box (mainland and archipelagos).

    Works on scalars (returns bool) and numpy arrays (returns a bool array)."""
    lat_min, lat_max, lon_min, lon_max = VIETNAM_BBOX
    lat_a, lon_a = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    inside = (lat_a >= lat_min) & (lat_a <= lat_max) & (lon_a >= lon_min) & (lon_a <= lon_max)
    return bool(inside) if inside.ndim == 0 else inside


def check_in_vietnam(lat: float, lon: float) -> None:
    """Raise OutsideVietnamError unless the point is in Vietnam's extent (with the islands)."""
    if is_in_vietnam(lat, lon):
        return
    lat_min, lat_max, lon_min, lon_max = VIETNAM_BBOX
    found = f"({lat:g}, {lon:g})"
    if is_in_vietnam(lon, lat):
        raise OutsideVietnamError(
            f"Vĩ độ và kinh độ có vẻ bị đảo ngược: {found} nằm ngoài Việt Nam nhưng "
            f"({lon:g}, {lat:g}) thì nằm trong; vĩ độ phải đứng trước",
            f"latitude and longitude look swapped: {found} is outside Vietnam but "
            f"({lon:g}, {lat:g}) is inside; latitude comes first",
        )
    raise OutsideVietnamError(
        f"Điểm {found} nằm ngoài Việt Nam: cần vĩ độ {lat_min:g}..{lat_max:g}, "
        f"kinh độ {lon_min:g}..{lon_max:g}",
        f"point {found} is outside Vietnam: expected latitude {lat_min:g}..{lat_max:g}, "
        f"longitude {lon_min:g}..{lon_max:g}",
    )


# --------------------------------------------------------------------------- display


def format_dms(value: float, axis: str, decimals: int = 1) -> str:
    """21.858333, "lat" -> 21°51'30.0"N; axis "lat" or "lon" chooses N/S or E/W."""
    if axis not in ("lat", "lon"):
        raise ValueError(f"axis must be 'lat' or 'lon', not {axis!r}")
    hemisphere = ("N" if value >= 0 else "S") if axis == "lat" else ("E" if value >= 0 else "W")
    # Round once in the smallest unit so 59.96" never shows as 60.0".
    unit = 10**decimals
    total = round(abs(value) * 3600 * unit)
    degrees, rest = divmod(total, 3600 * unit)
    minutes, seconds = divmod(rest, 60 * unit)
    width = 3 + decimals if decimals else 2
    return f"{degrees}°{minutes:02d}'{seconds / unit:0{width}.{decimals}f}\"{hemisphere}"


def format_decimal(lat: float, lon: float, decimals: int = 6) -> str:
    """"21.858333, 106.753333": latitude first, readable back by parse_point."""
    return f"{lat:.{decimals}f}, {lon:.{decimals}f}"
