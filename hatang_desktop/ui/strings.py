"""Every user-visible string of the desktop UI, Vietnamese first, English second.

One small catalogue rather than strings scattered over widgets, so a missing translation is a
KeyError in a test instead of a silent English word in a Vietnamese screen. Record types, field
labels and value lists come from forms/ through `core.schema`, which carries both languages.
"""

from __future__ import annotations

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
    "open_filter": ("Cơ sở dữ liệu Hạ tầng (*.htdb *.db *.sqlite);;Mọi tệp (*)",
                    "Hạ tầng database (*.htdb *.db *.sqlite);;All files (*)"),
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
    "layer_villages": ("Thôn, tổ dân phố", "Villages"),
    "layer_findings": ("Vi phạm chưa xử lý", "Unresolved findings"),
    "legend_province": ("Ranh giới tỉnh", "Province boundary"),
    "legend_commune": ("Ranh giới xã, phường", "Commune boundary"),
    "legend_pole_shared": ("Cột dùng chung", "Shared pole"),
    "legend_zoom_in_to_see": ("Phóng to để thấy", "Zoom in to see"),
    "legend_village": ("Thôn, tổ dân phố", "Village"),
    "legend_site_shared": ("Trạm dùng chung (viền đen)", "Shared site (black outline)"),
    "legend_site_5g": ("Trạm có 5G (vòng tím)", "Site with 5G (purple ring)"),
    "legend_site_inactive": ("Quy hoạch / đã tháo dỡ", "Planned / dismantled"),
    "legend_finding": ("Vi phạm mới / đã xác nhận", "Open / confirmed finding"),
    # status bar
    "status_counts_short": ("{sites} trạm · {poles} cột · {routes} tuyến", "{sites} sites · {poles} poles · {routes} routes"),
    "status_position": ("Vị trí: {dec}   {dms}", "Position: {dec}   {dms}"),
    "status_counts": ("{sites} trạm · {shared} dùng chung · {poles} cột · {routes} tuyến cáp · "
                      "{findings} vi phạm · {communes} xã",
                      "{sites} sites · {shared} shared · {poles} poles · {routes} routes · "
                      "{findings} findings · {communes} communes"),
    "tenants": ("Doanh nghiệp trên trạm", "Tenants"),
    "attachments": ("Cáp treo trên cột", "Cables on the pole"),
    "cables": ("{n} sợi cáp, thấp nhất {h}", "{n} cables, lowest {h}"),
    # toolbar, tools and navigation
    "menu_tools": ("&Công cụ", "&Tools"),
    "toolbar_main": ("Thanh công cụ bản đồ", "Map toolbar"),
    "tool_pan": ("Di chuyển", "Pan"),
    "tool_pan_tip": ("Kéo để di chuyển bản đồ, nhấp vào đối tượng để xem thông tin",
                     "Drag to pan, click a feature to see its attributes"),
    "tool_select": ("Chọn vùng", "Select"),
    "tool_select_tip": ("Kéo một khung để chọn đối tượng (hoặc giữ Shift khi kéo); Ctrl để chọn thêm",
                        "Drag a box to select features (or Shift+drag in any tool); Ctrl adds"),
    "tool_measure_line": ("Đo dài", "Distance"),
    "tool_measure_line_tip": ("Đo khoảng cách: nhấp các điểm, nhấp đúp để kết thúc, Esc để thoát",
                              "Measure distance: click points, double-click to finish, Esc to stop"),
    "tool_measure_area": ("Đo diện tích", "Area"),
    "tool_measure_area_tip": ("Đo diện tích: nhấp các đỉnh, nhấp đúp để kết thúc, Esc để thoát",
                              "Measure area: click vertices, double-click to finish, Esc to stop"),
    "act_zoom_selection": ("Phóng tới đối tượng đã &chọn", "Zoom to &selection"),
    "act_zoom_selection_short": ("Tới vùng chọn", "To selection"),
    "act_full_extent_short": ("Toàn bộ", "Full extent"),
    "act_clear_selection": ("&Bỏ chọn", "&Clear selection"),
    "act_select_in_view": ("Chọn mọi đối tượng trong khung &nhìn", "Select everything in &view"),
    "commune_placeholder": ("Đến xã, phường…", "Go to commune…"),
    "commune_tip": ("Phóng tới một xã, phường", "Zoom to a commune"),
    "search_placeholder": ("Tìm mã, tên trạm, cột, tuyến…", "Find a site, pole, route…"),
    "search_none": ("Không tìm thấy “{query}”", "Nothing found for “{query}”"),
    "search_found": ("Tìm thấy {n} kết quả cho “{query}”", "{n} results for “{query}”"),
    # status bar
    "status_vn2000": ("VN-2000 (KTT {meridian}°): X {x}  Y {y}", "VN-2000 ({meridian}° CM): X {x}  Y {y}"),
    "status_scale": ("Tỷ lệ 1:{n}", "Scale 1:{n}"),
    "status_loading": ("Đang đọc {name}…", "Loading {name}…"),
    "status_selected": ("Đã chọn: {sites} trạm, {poles} cột, {routes} tuyến cáp",
                        "Selected: {sites} sites, {poles} poles, {routes} routes"),
    "measure_length": ("Khoảng cách: {value}", "Distance: {value}"),
    "measure_area": ("Diện tích: {area} · chu vi {perimeter}", "Area: {area} · perimeter {perimeter}"),
    "measure_start": ("Nhấp để thêm điểm, nhấp đúp để kết thúc, Esc để thoát",
                      "Click to add points, double-click to finish, Esc to stop"),
    "unit_km": ("{value} km", "{value} km"),
    "unit_m": ("{value} m", "{value} m"),
    "unit_m2": ("{value} m²", "{value} m²"),
    "unit_ha": ("{value} ha", "{value} ha"),
    "unit_km2": ("{value} km²", "{value} km²"),
    "north_letter": ("B", "N"),
    # filter
    "filter_operator": ("Doanh nghiệp", "Operator"),
    "filter_all_operators": ("Tất cả doanh nghiệp", "All operators"),
    "filter_technology": ("Công nghệ", "Technology"),
    "filter_tip": ("Lọc trạm BTS, cột và tuyến cáp theo doanh nghiệp; trạm còn lọc theo công nghệ",
                   "Filter sites, poles and routes by operator; sites also by technology"),
    # basemap
    "act_open_basemap": ("Mở bản đồ &nền (MBTiles)…", "Open &basemap (MBTiles)…"),
    "act_close_basemap": ("&Tắt bản đồ nền", "&Remove basemap"),
    "basemap_filter": ("Bản đồ nền MBTiles (*.mbtiles);;Mọi tệp (*)", "MBTiles basemap (*.mbtiles);;All files (*)"),
    "basemap_opened": ("Bản đồ nền: {name} (mức phóng {zmin}–{zmax})", "Basemap: {name} (zoom {zmin}–{zmax})"),
    "basemap_error": ("Không mở được bản đồ nền: {detail}", "Cannot open the basemap: {detail}"),
    "basemap_problem": ("Bản đồ nền: thiếu {missing} ô, hỏng {damaged} ô ở khung nhìn này (bỏ qua)",
                        "Basemap: {missing} tiles missing, {damaged} damaged in this view (skipped)"),
    # export
    "act_export": ("&Xuất bản đồ (PNG, PDF)…", "&Export map (PNG, PDF)…"),
    "export_filter": ("Ảnh PNG (*.png);;Tài liệu PDF (*.pdf)", "PNG image (*.png);;PDF document (*.pdf)"),
    "export_title": ("Bản đồ hạ tầng viễn thông – {name}", "Telecom infrastructure map – {name}"),
    "export_subtitle": ("Lập ngày {date} · Hạ tầng Desktop · Hệ tọa độ WGS84 / Web Mercator",
                        "Made on {date} · Hạ tầng Desktop · WGS84 / Web Mercator"),
    "export_legend": ("Chú giải", "Legend"),
    "export_done": ("Đã xuất bản đồ: {path}", "Map exported: {path}"),
    "export_error": ("Không xuất được bản đồ: {detail}", "Cannot export the map: {detail}"),
    # attribute table
    "dock_table": ("Bảng thuộc tính", "Attribute table"),
    "table_filter": ("Lọc các dòng…", "Filter rows…"),
    "table_rows": ("{shown}/{total} dòng", "{shown}/{total} rows"),
    "table_hint": ("Chưa chọn đối tượng nào. Dùng công cụ “Chọn vùng” hoặc giữ Shift và kéo chuột trên bản đồ.",
                   "Nothing selected. Use the Select tool, or Shift+drag on the map."),
}

def register(strings: dict[str, tuple[str, str]]) -> None:
    """Add a feature's strings (its own `*_strings.py` module), refusing a key defined twice with
    different texts so two features can never silently overwrite each other's words."""
    clash = sorted(k for k in set(strings) & set(STRINGS) if STRINGS[k] != strings[k])
    if clash:
        raise KeyError(f"UI strings defined twice: {', '.join(clash)}")
    for key, pair in strings.items():
        if len(pair) != 2 or not all(isinstance(t, str) and t for t in pair):
            raise ValueError(f"UI string {key!r} needs a Vietnamese and an English text")
    STRINGS.update(strings)


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


def format_number(value: float, decimals: int = 1) -> str:
    """1234.5 -> "1.234,5" in Vietnamese, "1,234.5" in English."""
    text = f"{value:,.{decimals}f}"
    if _language == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_int(n: int) -> str:
    """Thousands grouped the way each language writes them: 3.600 in Vietnamese, 3,600 in English."""
    text = f"{n:,}"
    return text.replace(",", ".") if _language == "vi" else text
