"""core.text.fold: the app's one accent folding, checked against its definition."""

import re
import sys
import unicodedata

from hatang_desktop.core.text import fold, fold_place, split_tones

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def defined_fold(text: str) -> str:
    """What fold() means, written the slow and obvious way (NFD, then drop every mark)."""
    text = unicodedata.normalize("NFD", text.translate(_APOSTROPHES)).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("đ", "d")
    text = re.sub(r"\s*-\s*", " - ", text)
    return re.sub(r"\s+", " ", text).strip()


def test_vietnamese_names_fold_as_people_type_them():
    assert fold("Đồng Đăng") == "dong dang"
    assert fold("  TRẠM   Thành Sen ") == "tram thanh sen"
    assert fold("Phường Văn Miếu-Quốc Tử Giám") == "phuong van mieu - quoc tu giam"
    assert fold("Hòa") == fold("Hoà") == fold("Ho\u0061\u0300") == "hoa"  # composed, old style, decomposed
    assert fold("Thủy’s `x´") == "thuy's 'x'"
    assert fold("") == ""


def test_every_character_folds_as_defined():
    # The fast path (one translate table) and the fallback for other scripts must both give the
    # defined key, for every code point there is.
    chars = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    wrong = [f"U+{ord(ch):04X}" for ch in chars if fold(ch) != defined_fold(ch)]
    assert wrong == []


def test_mixed_strings_fold_as_defined():
    texts = ["Bà Rịa–Vũng Tàu", "Đắk Lắk - Buôn Ma Thuột", "x-\tY", "`Ấp` 3 -", "ǅemal İstanbul ᾳ Ω",
             "Nghĩa\u00a0Đàn", "trạm-\u2009đ", "漢字 ĐẠI", "- -", "MBF_18073_0001"]
    assert [fold(t) for t in texts] == [defined_fold(t) for t in texts]


def test_fold_place_drops_the_unit_type():
    assert fold_place("Tỉnh Lạng Sơn") == fold_place("lang son") == "lang son"
    assert fold_place("TP. Huế") == "hue"


def test_split_tones_keeps_the_vowel_and_gives_the_tone():
    assert split_tones("Thuỷ") == split_tones("Thủy") == ("Thuy", "\u0309")
    assert split_tones("Lường") == ("Lương", "\u0300")
    assert split_tones("Nguyễn") == ("Nguyên", "\u0303")
    assert split_tones("ABC") == ("ABC", "")


def test_numbers_are_written_the_way_each_language_writes_them():
    from hatang_desktop.core.text import format_decimal

    assert format_decimal(1234.5) == "1.234,5" and format_decimal(1234.5, lang="en") == "1,234.5"
    assert format_decimal(10, 1) == "10,0" and format_decimal(0.25, 2, "en") == "0.25"


def test_a_duplicate_site_message_says_10_comma_0_m_in_vietnamese():
    """Issue 20: "10.0 m" used a dot where the rest of the Vietnamese UI uses a comma."""
    from hatang_desktop.core.editing.duplicates import Duplicate, DuplicateFound

    found = DuplicateFound([Duplicate("u1", "HT-1", "VTL", "Trạm 1", 18.3, 105.9, 10.0, False),
                            Duplicate("u2", "HT-2", "MBF", None, 18.3, 105.9, float("nan"), True)])
    assert found.vi == "trạm có thể bị trùng với: VTL HT-1 (cách 10,0 m), MBF HT-2 (cùng mã)"
    assert found.en == "possible duplicate of: VTL HT-1 (10.0 m away), MBF HT-2 (same code)"


def test_plain_numbers_keep_only_their_decimals():
    from hatang_desktop.core.text import format_plain

    assert [format_plain(v) for v in (1500, 2.5, 0.25, 12345.678, 10.0, -0.001)] == \
        ["1.500", "2,5", "0,25", "12.345,68", "10", "0"]
    assert [format_plain(v, "en") for v in (1500, 2.5, 12345.678)] == ["1,500", "2.5", "12,345.68"]
    assert format_plain(1500, "vi", 0) == "1.500"  # no decimals: the thousands' dot stays


def test_messages_built_in_core_write_numbers_the_language_s_way():
    """Issue 20: what the ad hoc formatters wrote ("2000 m", "250.5 m" in a Vietnamese sentence)."""
    from hatang_desktop.core.field_values import FieldError, parse_value
    from hatang_desktop.core.forms import load_forms
    from hatang_desktop.core.gis.boundaries import _km2
    from hatang_desktop.core.indicators.coverage_model import load_coverage_model
    from hatang_desktop.core.indicators.evaluate import definitions, format_value
    from hatang_desktop.core.indicators.params import Params
    from hatang_desktop.core.rules.engine import _number

    model = load_coverage_model()
    coverage = definitions(Params(), model)["coverage_model"]
    assert "2G 2.000 m" in coverage["vi"] and "2G 2,000 m" in coverage["en"]
    assert format_value("count", 12345) == "12.345" and format_value("%", 12.34) == "12,3"
    assert format_value("%", 12.34, "en") == "12.3"
    assert _number(1234.5, "vi") == "1.234,5" and _number(1234.5, "en") == "1,234.5"
    assert _km2(1234.4) == "1.234" and _km2(3.25, "en") in ("3.2", "3.3") and _km2(3.25) in ("3,2", "3,3")

    height = next(f for f in load_forms()["sites"].fields if f.key == "height_m")
    try:
        parse_value(height, height.max + 0.5, lists={})
    except FieldError as exc:
        vi, en = exc.text.render("vi"), exc.text.render("en")
    else:
        raise AssertionError("no error for a height over the maximum")
    big = f"{height.max + 0.5:g}"
    assert big.replace(".", ",") in vi and big in en and "," in vi
