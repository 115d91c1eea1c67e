"""Coordinates: reading what people type, checking it, VN-2000 <-> WGS84, geodesic measures.

Positions are WGS84 latitude/longitude in decimal degrees everywhere inside the app; this
module is the border where other forms (DMS text, comma decimals, VN-2000 X/Y) come in and go
out. Headless: no Qt.

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
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pyproj import Geod, Transformer

from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.vn2000_meridians import (
    NEW_PROVINCES,
    OLD_PROVINCES,
    SOURCE_NEW,
    SOURCE_OLD,
)

__all__ = [
    "CoordinateError",
    "OutOfRangeError",
    "MalformedCoordinateError",
    "UnknownProvinceError",
    "AmbiguousProvinceError",
    "OutsideVietnamError",
    "VIETNAM_BBOX",
    "ProvinceMeridian",
    "parse_angle",
    "parse_point",
    "check_in_vietnam",
    "is_in_vietnam",
    "lookup_province",
    "central_meridian",
    "province_choices",
    "vn2000_to_wgs84",
    "wgs84_to_vn2000",
    "geodesic_length_m",
    "geodesic_area_m2",
    "geodesic_distance_m",
    "format_dms",
    "format_decimal",
]


# --------------------------------------------------------------------------- errors


class CoordinateError(InvalidInputError):
    """A coordinate or province the user gave cannot be used (also a ValueError)."""

    def __init__(self, message_vi: str, message_en: str):
        self.message_vi, self.message_en = message_vi, message_en
        super().__init__(message_vi, message_en)


class OutOfRangeError(CoordinateError):
    """Well-formed, but outside the possible range (latitude 95, easting -3 km...)."""


class MalformedCoordinateError(CoordinateError):
    """Cannot be read as a coordinate at all, or contradicts itself (21°75', E on a latitude)."""


class UnknownProvinceError(CoordinateError):
    """No province, old or new, is known under that name or code."""


class AmbiguousProvinceError(UnknownProvinceError):
    """The name is both a 2025 province and an older one, with different central meridians.

    A subclass of UnknownProvinceError so callers that only ask "did the lookup work" need one
    except clause."""


class OutsideVietnamError(CoordinateError):
    """A valid position, but not in or near Vietnam: almost always a typing or order mistake."""


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


def _normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_SYMBOLS)
    text = text.replace("''", '"')
    for pattern, unit in _VI_UNITS:
        text = pattern.sub(unit, text)
    return text.strip()


def _fold(text: str) -> str:
    """Lower case without diacritics, for forgiving comparisons (đ becomes d)."""
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


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
    folded = _fold(word)
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
    clean = _normalise_text(text)
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
    text = _normalise_text(text_or_lat)
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


# --------------------------------------------------------------------------- provinces


@dataclass(frozen=True)
class ProvinceMeridian:
    """One row of the meridian tables, with where its value comes from."""

    code: str  # GSO code of its era ("" for Hà Tây)
    name: str  # official name of its era
    era: str  # "2025" (from 1 July 2025) or "old" (before)
    meridian: float  # degrees east
    source: str

    @property
    def label(self) -> str:
        suffix = "" if self.era == "2025" else " (cũ)"
        return f"{self.name}{suffix} — {_dm(self.meridian)}"


_PREFIXES = ("thanh pho ", "tinh ", "tp. ", "tp ", "tp.")
_ERA_MARK = re.compile(
    r"(?P<name>.*?)(?:\s+|\s*[(\[]\s*)(?P<mark>cu|old|moi|new|truoc 2025|tu 2025)\s*[)\]]?"
)


def _dm(meridian: float) -> str:
    degrees, minutes = divmod(round(meridian * 60), 60)
    return f"{degrees}°{minutes:02d}'"


def _name_key(name: str) -> str:
    folded = _fold(_normalise_text(name)).strip()
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            folded = folded[len(prefix):]
            break
    return re.sub(r"[\W_]+", "", folded)


def _era_mark(spec: str) -> tuple[str, str | None]:
    """Split "Bắc Ninh (cũ)" / "Bac Ninh cu" / "Bắc Ninh (mới)" into a folded name and era."""
    folded = _fold(_normalise_text(spec)).strip()
    match = _ERA_MARK.fullmatch(folded)
    if not match:
        return folded, None
    era = "2025" if match.group("mark") in ("moi", "new", "tu 2025") else "old"
    return match.group("name"), era


def _build_index():
    by_code, by_key, rows_in_order = {}, {}, []
    tables = ((NEW_PROVINCES, "2025", SOURCE_NEW), (OLD_PROVINCES, "old", SOURCE_OLD))
    for rows, era, source in tables:
        for code, name, (deg, minutes), aliases in rows:
            entry = ProvinceMeridian(code, name, era, deg + minutes / 60, source)
            rows_in_order.append(entry)
            if era == "2025":
                by_code[code] = entry
            for spelling in (name, *aliases):
                by_key.setdefault(_name_key(spelling), []).append(entry)
    return by_code, by_key, tuple(rows_in_order)


_BY_CODE, _BY_KEY, _ALL_ROWS = _build_index()


def _unknown(spec) -> UnknownProvinceError:
    return UnknownProvinceError(
        f"Không biết tỉnh '{spec}': ghi mã tỉnh mới (vd. '20'), tên tỉnh mới (vd. 'Lạng Sơn', "
        f"'Tỉnh Lạng Sơn') hoặc tên tỉnh cũ trước 1/7/2025 (vd. 'Bình Phước'); có dấu hay "
        f"không dấu đều được",
        f"unknown province '{spec}': give a 2025 province code (e.g. '20'), a 2025 name "
        f"(e.g. 'Lạng Sơn', 'Tỉnh Lạng Sơn') or a pre-July-2025 name (e.g. 'Bình Phước'); "
        f"diacritics are optional",
    )


def _ambiguous(spec: str, new: ProvinceMeridian, old: ProvinceMeridian) -> AmbiguousProvinceError:
    bare = old.name.split(" ", 1)[1] if old.name.startswith("Tỉnh ") else old.name
    new_dms, old_dms = _dm(new.meridian), _dm(old.meridian)
    return AmbiguousProvinceError(
        f"'{spec}' vừa là tỉnh mới (mã {new.code}, kinh tuyến trục {new_dms} theo {new.source}) "
        f"vừa là tỉnh cũ trước 1/7/2025 ({old_dms} theo {old.source}): ghi '{new.code}' hoặc "
        f"'{bare} (mới)' cho tỉnh mới, '{bare} (cũ)' cho số liệu đo theo tỉnh cũ",
        f"'{spec}' is both a 2025 province (code {new.code}, central meridian {new_dms}, "
        f"{new.source}) and a pre-July-2025 province ({old_dms}, {old.source}): write "
        f"'{new.code}' or '{bare} (mới)' for the new one, '{bare} (cũ)' for data surveyed "
        f"under the old one",
    )


def lookup_province(province) -> ProvinceMeridian:
    """The meridian table row for a 2025 code ("20", 20), a 2025 name or a pre-2025 name.

    Names match without diacritics, case or the "Tỉnh"/"Thành phố" prefix. Old codes are not
    accepted because 7 of them are now another province's code. A name that is both a new and
    an old province with different meridians needs "(mới)" / "(cũ)" or the code.
    """
    if isinstance(province, bool) or not isinstance(province, (str, int)):
        raise _unknown(province)
    spec = str(province).strip()
    if spec.isdigit():
        entry = _BY_CODE.get(f"{int(spec):02d}")
        if entry is None:
            raise _unknown(province)
        return entry
    name, era = _era_mark(spec)
    entries = _BY_KEY.get(_name_key(name), [])
    if era:
        entries = [e for e in entries if e.era == era]
    if not entries:
        raise _unknown(province)
    meridians = {e.meridian for e in entries}
    if len(meridians) > 1:
        new = next(e for e in entries if e.era == "2025")
        old = next(e for e in entries if e.era == "old")
        raise _ambiguous(spec, new, old)
    return entries[0]


def central_meridian(province) -> float:
    """Central meridian (degrees east) of the VN-2000 3° zone of a province; see lookup_province."""
    return lookup_province(province).meridian


def province_choices() -> list[ProvinceMeridian]:
    """Every row, new provinces first then old ones, for a picker in the UI."""
    new = sorted((e for e in _ALL_ROWS if e.era == "2025"), key=lambda e: e.code)
    old = sorted((e for e in _ALL_ROWS if e.era == "old"), key=lambda e: _fold(e.name))
    return new + old


# --------------------------------------------------------------------------- VN-2000

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


# --------------------------------------------------------------------------- geodesic

_GEOD = Geod(ellps="WGS84")


def _line_parts(coords) -> list[np.ndarray]:
    geom_type = getattr(coords, "geom_type", None)
    if geom_type == "LineString":
        return [np.asarray(coords.coords, dtype=float)[:, :2]]
    if geom_type == "MultiLineString":
        return [np.asarray(part.coords, dtype=float)[:, :2] for part in coords.geoms]
    if geom_type is not None:
        raise TypeError(f"geodesic_length_m needs a line, not a {geom_type}")
    return [np.asarray(list(coords), dtype=float).reshape(-1, 2)]


def _check_lonlat(array: np.ndarray) -> None:
    if array.size and (np.any(np.abs(array[:, 0]) > 180) or np.any(np.abs(array[:, 1]) > 90)):
        raise OutOfRangeError(
            "Tọa độ đường/vùng phải là (kinh độ, vĩ độ) với kinh độ -180..180, vĩ độ -90..90",
            "line/polygon coordinates must be (lon, lat) with lon -180..180, lat -90..90",
        )


def geodesic_length_m(coords) -> float:
    """Length in metres on the WGS84 ellipsoid of (lon, lat) points or a (Multi)LineString."""
    total = 0.0
    for part in _line_parts(coords):
        _check_lonlat(part)
        if len(part) >= 2:
            total += _GEOD.line_length(part[:, 0], part[:, 1])
    return float(total)


def _ring_area(ring) -> float:
    array = np.asarray(ring.coords, dtype=float)[:, :2]
    _check_lonlat(array)
    area, _ = _GEOD.polygon_area_perimeter(array[:, 0], array[:, 1])
    return abs(area)


def geodesic_area_m2(polygon) -> float:
    """Area in m² on the WGS84 ellipsoid of a (Multi)Polygon in lon/lat, any ring orientation."""
    geom_type = getattr(polygon, "geom_type", None)
    if geom_type == "MultiPolygon":
        return float(sum(geodesic_area_m2(part) for part in polygon.geoms))
    if geom_type != "Polygon":
        raise TypeError(f"geodesic_area_m2 needs a Polygon or MultiPolygon, not {geom_type}")
    if polygon.is_empty:
        return 0.0
    holes = sum(_ring_area(ring) for ring in polygon.interiors)
    return float(_ring_area(polygon.exterior) - holes)


def geodesic_distance_m(lat1, lon1, lat2, lon2):
    """Distance in metres between two points on the WGS84 ellipsoid (arrays work too)."""
    _, _, distance = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(distance) if np.ndim(distance) == 0 else np.asarray(distance)


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
