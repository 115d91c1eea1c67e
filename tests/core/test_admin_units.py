from hatang_desktop.core.admin_units import communes, find_province, provinces
from hatang_desktop.core.operators import normalise_operator, operator_for_mnc
from hatang_desktop.core.text import fold

import pytest


def test_whole_country_after_the_2025_reform():
    assert len(provinces()) == 34
    assert sum(len(communes(p.code)) for p in provinces()) == 3321
    codes = [c.code for p in provinces() for c in communes(p.code)]
    assert len(set(codes)) == 3321 and all(len(c) == 5 for c in codes)


@pytest.mark.parametrize("query, code", [
    ("42", "42"), ("Hà Tĩnh", "42"), ("ha tinh", "42"), ("TỈNH LẠNG SƠN", "20"),
    ("Bình Phước", "75"), ("Long An", "80"), ("Hà Giang", "08"), ("TP. Hồ Chí Minh", "79"),
    ("Huế", "46"),
])
def test_find_province(query, code):
    assert find_province(query).code == code


def test_old_code_is_not_a_2025_code():
    with pytest.raises(ValueError, match="không có tỉnh"):
        find_province("02")  # Hà Giang's pre-2025 code


@pytest.mark.parametrize("text, code", [
    ("Viettel", "VTL"), ("VIETTEL", "VTL"), ("VTL", "VTL"), ("VNPT", "VNPT"),
    ("VinaPhone", "VNPT"), ("VNPT-Vinaphone", "VNPT"), ("Mobifone", "MBF"), ("Mobi", "MBF"),
    ("MBF", "MBF"), ("Vietnamobile", "VNM"), ("VNM", "VNM"), ("Gtel", "GTEL"), ("Gmobile", "GTEL"),
])
def test_operator_names_as_people_write_them(text, code):
    assert normalise_operator(text) == code


def test_mobile_network_codes():
    assert operator_for_mnc(4) == operator_for_mnc(6) == "VTL"
    assert operator_for_mnc(8) == "ITEL"  # not Viettel, whatever old lists say
    assert operator_for_mnc(1) == "MBF" and operator_for_mnc(2) == "VNPT"
    assert normalise_operator("Acme Telecom") is None


def test_fold_for_search():
    assert fold("Đồng Đăng") == "dong dang"
    assert fold("Phường Văn Miếu-Quốc Tử Giám") == fold("phuong van mieu - quoc tu giam")
