"""Central meridians (kinh tuyến trục) of the VN-2000 3-degree zones, per province: the two
tables and the lookups (a code, a 2025 name or an older name -> the row).

A VN-2000 X/Y pair means nothing without the meridian it was projected on, and that meridian
belongs to the data set, not to today's map: an old survey of Hà Giang keeps Hà Giang's
105°30' even though Hà Giang is now part of Tuyên Quang. Hence two tables.

OLD_PROVINCES: the 63 provinces before the 1 July 2025 reform.
  Source: Thông tư 973/2001/TT-TCĐC (Tổng cục Địa chính, 20 June 2001), appendix of provincial
  central meridians for VN-2000 3-degree zones (k0 = 0.9999).
  Cross-checked, every row: (1) the EPSG registry as shipped in PROJ's proj.db (EPSG v11.022):
  the area-of-use lists of "VN-2000 / TM-3" CRSs EPSG:5897 (105°00', cadastre usage),
  5898 (108°00', cadastre usage), 5899 (107°45') and 9205-9218 name the provinces on each
  meridian (tests/core/test_geo.py re-checks this against the installed database);
  (2) the table republished at rtk.com.vn/tin-tuc/kinh-tuyen-truc-he-toa-do-dia-phuong-vn2000.html
  and viet-thanh.vn/kinh-tuyen-truc-la-gi-kinh-tuyen-truc-cac-tinh/ (rows 1-54 seen; same values).
  Codes and names are the GSO ones, as in the `merged_from` column of
  /work/shared/data/provinces_2025.csv. Hà Tây (merged into Hà Nội in 2008) is kept as an alias
  because EPSG:5897 still lists it and old Hà Tây surveys exist.

NEW_PROVINCES: the 34 provinces from 1 July 2025 (codes and names as in provinces_2025.csv).
  Source: Thông tư 24/2025/TT-BNNMT (Bộ Nông nghiệp và Môi trường, 20 June 2025, in force
  1 July 2025), appendix "kinh tuyến trục của bản đồ hành chính cấp tỉnh". The official appendix
  text itself could not be read here; the values are as transcribed by two independent public
  projects (GitHub "VN2000 Coordinate Lab" assets/js/provinces.js, which states it was checked
  row by row against the appendix, and a DXF-export tool citing TT 24/2025). Both agree on 32 of
  34 rows; they disagree on Quảng Trị (106°00' vs 106°15') and Tây Ninh (105°45' vs 105°30');
  the checked transcription's value is used and the row is marked UNVERIFIED below.
  Where TT 24/2025 differs from the TT 973/2001 meridian of a same-named old province
  (Lai Châu, Bắc Ninh, Quảng Trị, Gia Lai, Tây Ninh), a bare name is ambiguous and
  lookup_province refuses to guess.

Meridians are (degrees, minutes) east, exact as published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import fold
from .errors import AmbiguousProvinceError, UnknownProvinceError
from .parse import normalise_text

__all__ = [
    "NEW_PROVINCES",
    "OLD_PROVINCES",
    "ProvinceMeridian",
    "central_meridian",
    "format_meridian",
    "lookup_province",
    "province_choices",
]

# (old GSO code, official name before 1 July 2025, (deg, min), extra spellings)
OLD_PROVINCES: tuple[tuple[str, str, tuple[int, int], tuple[str, ...]], ...] = (
    ("01", "Thành phố Hà Nội", (105, 0), ()),
    ("02", "Tỉnh Hà Giang", (105, 30), ()),
    ("04", "Tỉnh Cao Bằng", (105, 45), ()),
    ("06", "Tỉnh Bắc Kạn", (106, 30), ("Bắc Cạn",)),
    ("08", "Tỉnh Tuyên Quang", (106, 0), ()),
    ("10", "Tỉnh Lào Cai", (104, 45), ()),
    ("11", "Tỉnh Điện Biên", (103, 0), ()),
    ("12", "Tỉnh Lai Châu", (103, 0), ()),
    ("14", "Tỉnh Sơn La", (104, 0), ()),
    ("15", "Tỉnh Yên Bái", (104, 45), ()),
    ("17", "Tỉnh Hòa Bình", (106, 0), ()),
    ("19", "Tỉnh Thái Nguyên", (106, 30), ()),
    ("20", "Tỉnh Lạng Sơn", (107, 15), ()),
    ("22", "Tỉnh Quảng Ninh", (107, 45), ()),
    ("24", "Tỉnh Bắc Giang", (107, 0), ()),
    ("25", "Tỉnh Phú Thọ", (104, 45), ()),
    ("26", "Tỉnh Vĩnh Phúc", (105, 0), ()),
    ("27", "Tỉnh Bắc Ninh", (105, 30), ()),
    ("30", "Tỉnh Hải Dương", (105, 30), ()),
    ("31", "Thành phố Hải Phòng", (105, 45), ()),
    ("33", "Tỉnh Hưng Yên", (105, 30), ()),
    ("34", "Tỉnh Thái Bình", (105, 30), ()),
    ("35", "Tỉnh Hà Nam", (105, 0), ()),
    ("36", "Tỉnh Nam Định", (105, 30), ()),
    ("37", "Tỉnh Ninh Bình", (105, 0), ()),
    ("38", "Tỉnh Thanh Hóa", (105, 0), ()),
    ("40", "Tỉnh Nghệ An", (104, 45), ()),
    ("42", "Tỉnh Hà Tĩnh", (105, 30), ()),
    ("44", "Tỉnh Quảng Bình", (106, 0), ()),
    ("45", "Tỉnh Quảng Trị", (106, 15), ()),
    ("46", "Thành phố Huế", (107, 0), ("Thừa Thiên Huế", "Thừa Thiên - Huế")),
    ("48", "Thành phố Đà Nẵng", (107, 45), ()),
    ("49", "Tỉnh Quảng Nam", (107, 45), ()),
    ("51", "Tỉnh Quảng Ngãi", (108, 0), ()),
    ("52", "Tỉnh Bình Định", (108, 15), ()),
    ("54", "Tỉnh Phú Yên", (108, 30), ()),
    ("56", "Tỉnh Khánh Hòa", (108, 15), ()),
    ("58", "Tỉnh Ninh Thuận", (108, 15), ()),
    ("60", "Tỉnh Bình Thuận", (108, 30), ()),
    ("62", "Tỉnh Kon Tum", (107, 30), ()),
    ("64", "Tỉnh Gia Lai", (108, 30), ()),
    ("66", "Tỉnh Đắk Lắk", (108, 30), ("Đắc Lắc",)),
    ("67", "Tỉnh Đắk Nông", (108, 30), ("Đắc Nông",)),
    ("68", "Tỉnh Lâm Đồng", (107, 45), ()),
    ("70", "Tỉnh Bình Phước", (106, 15), ()),
    ("72", "Tỉnh Tây Ninh", (105, 30), ()),
    ("74", "Tỉnh Bình Dương", (105, 45), ()),
    ("75", "Tỉnh Đồng Nai", (107, 45), ()),
    ("77", "Tỉnh Bà Rịa - Vũng Tàu", (107, 45), ("BR-VT", "BRVT")),
    ("79", "Thành phố Hồ Chí Minh", (105, 45), ("TP.HCM", "TPHCM", "HCM", "Sài Gòn")),
    ("80", "Tỉnh Long An", (105, 45), ()),
    ("82", "Tỉnh Tiền Giang", (105, 45), ()),
    ("83", "Tỉnh Bến Tre", (105, 45), ()),
    ("84", "Tỉnh Trà Vinh", (105, 30), ()),
    ("86", "Tỉnh Vĩnh Long", (105, 30), ()),
    ("87", "Tỉnh Đồng Tháp", (105, 0), ()),
    ("89", "Tỉnh An Giang", (104, 45), ()),
    ("91", "Tỉnh Kiên Giang", (104, 30), ()),
    ("92", "Thành phố Cần Thơ", (105, 0), ()),
    ("93", "Tỉnh Hậu Giang", (105, 0), ()),
    ("94", "Tỉnh Sóc Trăng", (105, 30), ()),
    ("95", "Tỉnh Bạc Liêu", (105, 0), ()),
    ("96", "Tỉnh Cà Mau", (104, 30), ()),
    # Not one of the 63: merged into Hà Nội on 1 August 2008 (see module docstring).
    ("", "Tỉnh Hà Tây", (105, 0), ()),
)

# (2025 code, official name from 1 July 2025, (deg, min), extra spellings)
NEW_PROVINCES: tuple[tuple[str, str, tuple[int, int], tuple[str, ...]], ...] = (
    ("01", "Thành phố Hà Nội", (105, 0), ()),
    ("04", "Tỉnh Cao Bằng", (105, 45), ()),
    ("08", "Tỉnh Tuyên Quang", (106, 0), ()),
    ("11", "Tỉnh Điện Biên", (103, 0), ()),
    ("12", "Tỉnh Lai Châu", (104, 45), ()),  # TT 973/2001 had 103°00': see docstring
    ("14", "Tỉnh Sơn La", (104, 0), ()),
    ("15", "Tỉnh Lào Cai", (104, 45), ()),
    ("19", "Tỉnh Thái Nguyên", (106, 30), ()),
    ("20", "Tỉnh Lạng Sơn", (107, 15), ()),
    ("22", "Tỉnh Quảng Ninh", (107, 45), ()),
    ("24", "Tỉnh Bắc Ninh", (107, 0), ()),  # old Bắc Giang's, not old Bắc Ninh's 105°30'
    ("25", "Tỉnh Phú Thọ", (104, 45), ()),
    ("31", "Thành phố Hải Phòng", (105, 45), ()),
    ("33", "Tỉnh Hưng Yên", (105, 30), ()),
    ("37", "Tỉnh Ninh Bình", (105, 0), ()),
    ("38", "Tỉnh Thanh Hóa", (105, 0), ()),
    ("40", "Tỉnh Nghệ An", (104, 45), ()),
    ("42", "Tỉnh Hà Tĩnh", (105, 30), ()),
    ("44", "Tỉnh Quảng Trị", (106, 0), ()),  # UNVERIFIED: other transcription 106°15'
    ("46", "Thành phố Huế", (107, 0), ()),
    ("48", "Thành phố Đà Nẵng", (107, 45), ()),
    ("51", "Tỉnh Quảng Ngãi", (108, 0), ()),
    ("52", "Tỉnh Gia Lai", (108, 15), ()),  # old Bình Định's, not old Gia Lai's 108°30'
    ("56", "Tỉnh Khánh Hòa", (108, 15), ()),
    ("66", "Tỉnh Đắk Lắk", (108, 30), ("Đắc Lắc",)),
    ("68", "Tỉnh Lâm Đồng", (107, 45), ()),
    ("75", "Tỉnh Đồng Nai", (107, 45), ()),
    ("79", "Thành phố Hồ Chí Minh", (105, 45), ("TP.HCM", "TPHCM", "HCM", "Sài Gòn")),
    ("80", "Tỉnh Tây Ninh", (105, 45), ()),  # UNVERIFIED: other transcription 105°30'
    ("82", "Tỉnh Đồng Tháp", (105, 0), ()),
    ("86", "Tỉnh Vĩnh Long", (105, 30), ()),
    ("91", "Tỉnh An Giang", (104, 45), ()),
    ("92", "Thành phố Cần Thơ", (105, 0), ()),
    ("96", "Tỉnh Cà Mau", (104, 30), ()),
)

SOURCE_OLD = "Thông tư 973/2001/TT-TCĐC"
SOURCE_NEW = "Thông tư 24/2025/TT-BNNMT"


# --------------------------------------------------------------------------- lookups


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
        return f"{self.name}{suffix} — {format_meridian(self.meridian)}"


_PREFIXES = ("thanh pho ", "tinh ", "tp. ", "tp ", "tp.")
_ERA_MARK = re.compile(
    r"(?P<name>.*?)(?:\s+|\s*[(\[]\s*)(?P<mark>cu|old|moi|new|truoc 2025|tu 2025)\s*[)\]]?"
)


def format_meridian(meridian: float) -> str:
    """105.5 -> "105°30'": how survey documents write a central meridian."""
    degrees, minutes = divmod(round(meridian * 60), 60)
    return f"{degrees}°{minutes:02d}'"


def _name_key(name: str) -> str:
    folded = fold(normalise_text(name)).strip()
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            folded = folded[len(prefix):]
            break
    return re.sub(r"[\W_]+", "", folded)


def _era_mark(spec: str) -> tuple[str, str | None]:
    """Split "Bắc Ninh (cũ)" / "Bac Ninh cu" / "Bắc Ninh (mới)" into a folded name and era."""
    folded = fold(normalise_text(spec)).strip()
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
    new_dms, old_dms = format_meridian(new.meridian), format_meridian(old.meridian)
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
    old = sorted((e for e in _ALL_ROWS if e.era == "old"), key=lambda e: fold(e.name))
    return new + old
