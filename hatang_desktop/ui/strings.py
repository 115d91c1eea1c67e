"""Every user-visible string of the desktop UI, Vietnamese first, English second.

One small catalogue rather than strings scattered over widgets, so a missing translation is a
KeyError in a test instead of a silent English word in a Vietnamese screen. Value lists (tower
types, statuses...) come from `core.domain`, which already carries both languages.
"""

from __future__ import annotations

from hatang_desktop.core import domain

LANGUAGES = ("vi", "en")
_language = "vi"

STRINGS: dict[str, tuple[str, str]] = {
    "app_title": ("Hạ tầng Desktop", "Hạ tầng Desktop"),
    "window_title": ("{name} – Hạ tầng Desktop", "{name} – Hạ tầng Desktop"),
    "no_database": ("Chưa mở cơ sở dữ liệu", "No database open"),
    # menus and actions
    "menu_file": ("&Tệp", "&File"),
    "menu_view": ("&Xem", "&View"),
    "menu_help": ("Trợ &giúp", "&Help"),
    "act_open": ("&Mở cơ sở dữ liệu…", "&Open database…"),
    "act_quit": ("T&hoát", "&Quit"),
    "act_full_extent": ("Xem &toàn bộ", "&Zoom to full extent"),
    "act_zoom_in": ("Phóng &to", "Zoom &in"),
    "act_zoom_out": ("Thu &nhỏ", "Zoom &out"),
    "act_about": ("&Giới thiệu", "&About"),
    "about_text": (
        "<b>Hạ tầng Desktop</b> {version}<br>Khảo sát hạ tầng viễn thông dùng chung: trạm BTS, "
        "cột treo cáp, tuyến cáp quang.<br>Phông chữ DejaVu Sans (giấy phép Bitstream Vera).",
        "<b>Hạ tầng Desktop</b> {version}<br>Survey of shared telecom infrastructure: BTS sites, "
        "poles, fibre routes.<br>Font: DejaVu Sans (Bitstream Vera licence).",
    ),
    "open_filter": ("Cơ sở dữ liệu Hạ tầng (*.db *.sqlite);;Mọi tệp (*)",
                    "Hạ tầng database (*.db *.sqlite);;All files (*)"),
    "error_title": ("Không mở được cơ sở dữ liệu", "Cannot open the database"),
    "map_read_error": ("không đọc được dữ liệu bản đồ ({detail})",
                       "cannot read the map data ({detail})"),
    "creating_sample": ("Đang tạo cơ sở dữ liệu mẫu (Hà Tĩnh)…", "Creating the sample database (Hà Tĩnh)…"),
    "creating_sample_console": ("Đang tạo cơ sở dữ liệu mẫu {path}…", "Creating the sample database {path}…"),
    # docks
    "dock_layers": ("Lớp bản đồ", "Layers"),
    "dock_identify": ("Thông tin đối tượng", "Feature information"),
    "identify_hint": ("Nhấp vào một đối tượng trên bản đồ để xem thông tin.",
                      "Click a feature on the map to see its attributes."),
    "identify_nothing": ("Không có đối tượng nào tại vị trí này.", "Nothing here."),
    "col_field": ("Trường", "Field"),
    "col_value": ("Giá trị", "Value"),
    # layers
    "layer_boundaries": ("Ranh giới hành chính", "Administrative boundaries"),
    "layer_zones": ("Khu công nghiệp, khu ngầm hóa", "Industrial zones, undergrounding areas"),
    "layer_routes": ("Tuyến cáp quang", "Fibre routes"),
    "layer_poles": ("Cột treo cáp", "Poles"),
    "layer_villages": ("Thôn, tổ dân phố", "Villages"),
    "layer_sites": ("Trạm BTS", "BTS sites"),
    "layer_findings": ("Vi phạm chưa xử lý", "Unresolved findings"),
    "legend_province": ("Ranh giới tỉnh", "Province boundary"),
    "legend_commune": ("Ranh giới xã, phường", "Commune boundary"),
    "legend_pole": ("Cột", "Pole"),
    "legend_pole_shared": ("Cột dùng chung", "Shared pole"),
    "legend_zoom_in_to_see": ("Phóng to để thấy", "Zoom in to see"),
    "legend_village": ("Thôn, tổ dân phố", "Village"),
    "legend_site_shared": ("Trạm dùng chung (viền đen)", "Shared site (black outline)"),
    "legend_site_5g": ("Trạm có 5G (vòng tím)", "Site with 5G (purple ring)"),
    "legend_site_inactive": ("Quy hoạch / đã tháo dỡ", "Planned / dismantled"),
    "legend_finding": ("Vi phạm mới / đã xác nhận", "Open / confirmed finding"),
    # status bar
    "status_position": ("Vị trí: {dec}   {dms}", "Position: {dec}   {dms}"),
    "status_counts": ("{sites} trạm · {shared} dùng chung · {poles} cột · {routes} tuyến cáp · "
                      "{findings} vi phạm · {communes} xã",
                      "{sites} sites · {shared} shared · {poles} poles · {routes} routes · "
                      "{findings} findings · {communes} communes"),
    # feature kinds in the identify panel
    "table_sites": ("Trạm BTS", "BTS site"),
    "table_poles": ("Cột treo cáp", "Pole"),
    "table_fibre_routes": ("Tuyến cáp quang", "Fibre route"),
    "table_zones": ("Khu vực", "Zone"),
    "table_findings": ("Vi phạm", "Finding"),
    "table_admin_units": ("Đơn vị hành chính", "Administrative unit"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    "tenants": ("Doanh nghiệp trên trạm", "Tenants"),
    "attachments": ("Cáp treo trên cột", "Cables on the pole"),
    "cables": ("{n} sợi cáp, thấp nhất {h}", "{n} cables, lowest {h}"),
}

# Record fields shown in the identify panel, in this order; others are not shown.
FIELDS: dict[str, tuple[str, str]] = {
    "site_code": ("Mã trạm", "Site code"),
    "code": ("Mã", "Code"),
    "name": ("Tên", "Name"),
    "operator_code": ("Doanh nghiệp", "Operator"),
    "co_operators": ("Doanh nghiệp cùng tuyến", "Co-operators"),
    "level": ("Cấp", "Level"),
    "unit_type": ("Loại", "Type"),
    "kind": ("Loại khu vực", "Kind"),
    "address": ("Địa chỉ", "Address"),
    "commune_code": ("Mã xã", "Commune code"),
    "tower_type": ("Loại cột anten", "Tower type"),
    "height_m": ("Chiều cao (m)", "Height (m)"),
    "owner": ("Chủ sở hữu", "Owner"),
    "owner_kind": ("Chủ sở hữu", "Owner"),
    "material": ("Vật liệu", "Material"),
    "road": ("Tuyến đường", "Road"),
    "method": ("Phương thức lắp đặt", "Laying method"),
    "core_count": ("Số sợi", "Core count"),
    "length_m": ("Chiều dài (m)", "Length (m)"),
    "area_m2": ("Diện tích (m²)", "Area (m²)"),
    "population": ("Dân số", "Population"),
    "permit_no": ("Số giấy phép", "Permit number"),
    "permit_date": ("Ngày cấp phép", "Permit date"),
    "in_passive_plan": ("Trong quy hoạch hạ tầng thụ động", "In the passive-infrastructure plan"),
    "in_industrial_zone": ("Trong khu công nghiệp", "In an industrial zone"),
    "rule_id": ("Quy tắc", "Rule"),
    "severity": ("Mức độ", "Severity"),
    "status": ("Trạng thái", "Status"),
    "found_on": ("Ngày phát hiện", "Found on"),
    "inspector": ("Người kiểm tra", "Inspector"),
    "lat": ("Vĩ độ", "Latitude"),
    "lon": ("Kinh độ", "Longitude"),
    "note": ("Ghi chú", "Note"),
    "updated_at": ("Cập nhật lúc", "Updated at"),
    "updated_by": ("Người cập nhật", "Updated by"),
    "uuid": ("UUID", "UUID"),
}

# Fields whose codes have labels in core.domain.
VALUE_LISTS = {
    "tower_type": domain.TOWER_TYPES, "method": domain.LAYING_METHODS, "kind": domain.ZONE_KINDS,
    "severity": domain.SEVERITIES, "owner_kind": domain.POLE_OWNERS, "material": domain.POLE_MATERIALS,
    "level": domain.ADMIN_LEVELS,
}
STATUS_LISTS = {"sites": domain.SITE_STATUSES, "findings": domain.FINDING_STATUSES}
FLAGS = {"in_passive_plan", "in_industrial_zone"}


def set_language(lang: str) -> None:
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    _language = lang


def language() -> str:
    return _language


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if _language == "vi" else pair[1]


def tr(key: str, **values) -> str:
    text = _pick(STRINGS[key])
    return text.format(**values) if values else text


def field_label(name: str) -> str:
    return _pick(FIELDS[name]) if name in FIELDS else name


def choice_label(choices, code: str) -> str:
    return domain.label(choices, code, _language)


def format_int(n: int) -> str:
    """Thousands grouped the way each language writes them: 3.600 in Vietnamese, 3,600 in English."""
    text = f"{n:,}"
    return text.replace(",", ".") if _language == "vi" else text
