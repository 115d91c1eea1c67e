"""Value lists of the domain: the codes stored in the database and their labels.

The codes are what CHECK constraints enforce; labels are (Vietnamese, English).
"""

from __future__ import annotations

from typing import NamedTuple


class Choice(NamedTuple):
    code: str
    vi: str
    en: str


def codes(choices: tuple[Choice, ...]) -> tuple[str, ...]:
    return tuple(c.code for c in choices)


def label(choices: tuple[Choice, ...], code: str, lang: str = "vi") -> str:
    for c in choices:
        if c.code == code:
            return c.vi if lang == "vi" else c.en
    return code


ADMIN_LEVELS = (
    Choice("province", "Tỉnh/thành phố", "Province"),
    Choice("commune", "Xã/phường/đặc khu", "Commune/ward"),
    Choice("village", "Thôn/bản/ấp/tổ dân phố", "Village"),
)

TOWER_TYPES = (
    Choice("ground_tower", "Cột tự đứng trên mặt đất", "Ground tower"),
    Choice("guyed_mast", "Cột dây co", "Guyed mast"),
    Choice("rooftop_pole", "Cột trên mái nhà", "Rooftop pole"),
    Choice("camouflaged", "Cột ngụy trang", "Camouflaged"),
    Choice("small_cell", "Trạm nhỏ trên cột đèn", "Small cell on a light pole"),
)

SITE_STATUSES = (
    Choice("operating", "Đang hoạt động", "Operating"),
    Choice("planned", "Quy hoạch", "Planned"),
    Choice("dismantled", "Đã tháo dỡ", "Dismantled"),
)

TECHNOLOGIES = ("2G", "3G", "4G", "5G")

POLE_OWNERS = (
    Choice("power", "Điện lực", "Power utility"),
    Choice("operator", "Doanh nghiệp viễn thông", "Telecom operator"),
    Choice("lighting", "Chiếu sáng công cộng", "Public lighting"),
    Choice("other", "Khác", "Other"),
)

POLE_MATERIALS = (
    Choice("concrete", "Bê tông", "Concrete"),
    Choice("steel", "Thép", "Steel"),
    Choice("wood", "Gỗ", "Wood"),
    Choice("other", "Khác", "Other"),
)

CABLE_TYPES = (
    Choice("fibre", "Cáp quang", "Optical fibre"),
    Choice("copper", "Cáp đồng", "Copper"),
    Choice("coaxial", "Cáp đồng trục", "Coaxial"),
    Choice("other", "Khác", "Other"),
)

CABLE_CONDITIONS = (
    Choice("ok", "Bình thường", "Normal"),
    Choice("tangled", "Rối", "Tangled"),
    Choice("sagging", "Võng", "Sagging"),
    Choice("abandoned", "Cáp bỏ không", "Abandoned"),
)

CABLE_SITUATIONS = (
    Choice("along_road", "Dọc đường", "Along a road"),
    Choice("crossing_road", "Vượt đường", "Crossing a road"),
    Choice("alley", "Trong ngõ, hẻm", "Residential alley"),
    Choice("crossing_water", "Vượt sông, cầu", "Crossing a river or bridge"),
)

LAYING_METHODS = (
    Choice("aerial", "Treo trên cột", "Aerial on poles"),
    Choice("duct", "Trong cống bể", "In duct"),
    Choice("buried", "Chôn trực tiếp", "Direct buried"),
)

ROUTE_LEVELS = (
    Choice("backbone", "Trục", "Backbone"),
    Choice("access", "Truy nhập", "Access"),
)

ZONE_KINDS = (
    Choice("industrial_park", "Khu công nghiệp (KCN)", "Industrial park"),
    Choice("industrial_cluster", "Cụm công nghiệp (CCN)", "Industrial cluster"),
    Choice("economic_zone", "Khu kinh tế", "Economic zone"),
    Choice("undergrounding", "Khu vực ngầm hóa", "Undergrounding area"),
)

INDUSTRIAL_ZONE_KINDS = ("industrial_park", "industrial_cluster", "economic_zone")

SEVERITIES = (
    Choice("info", "Thông tin", "Info"),
    Choice("warning", "Cảnh báo", "Warning"),
    Choice("violation", "Vi phạm", "Violation"),
)

FINDING_STATUSES = (
    Choice("open", "Mới phát hiện", "Open"),
    Choice("confirmed", "Đã xác nhận", "Confirmed"),
    Choice("resolved", "Đã khắc phục", "Resolved"),
    Choice("dismissed", "Bác bỏ", "Dismissed"),
)

# The surveyed record types, as table names: they carry sync identity and travel in workbooks.
SURVEYED_TABLES = (
    "admin_units",
    "sites",
    "site_tenants",
    "poles",
    "pole_attachments",
    "fibre_routes",
    "zones",
    "findings",
    "photos",
)
