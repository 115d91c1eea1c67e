"""UI strings of the plan-indicators dashboard (ui/dashboard/)."""

from __future__ import annotations

from .strings import register

DASHBOARD_STRINGS: dict[str, tuple[str, str]] = {
    "dash_title": ("Chỉ tiêu hạ tầng số", "Plan indicators"),
    "dash_scope": ("Phạm vi", "Scope"),
    "dash_province": ("Toàn tỉnh", "Whole province"),
    "dash_year": ("Năm", "Year"),
    "dash_refresh": ("Tính lại", "Recompute"),
    "dash_refresh_tip": ("Tính lại các chỉ số từ dữ liệu đang mở", "Recompute the indicators from the open data"),
    "dash_no_database": ("Mở một cơ sở dữ liệu để xem các chỉ tiêu.", "Open a database to see the indicators."),
    "dash_computing": ("Đang tính các chỉ số…", "Computing the indicators…"),
    "dash_error": ("Không tính được chỉ số: {detail}", "Cannot compute the indicators: {detail}"),
    "dash_tab_targets": ("Chỉ tiêu", "Targets"),
    "dash_tab_charts": ("Biểu đồ", "Charts"),
    "dash_tab_uncovered": ("Thôn chưa có sóng", "Uncovered villages"),
    "dash_no_targets": ("Không có kế hoạch nào đặt chỉ tiêu cho phạm vi và năm này.",
                        "No plan sets targets for this scope and year."),
    "dash_target_line": ("Thực tế {actual} / chỉ tiêu {target} — {status}",
                         "Actual {actual} / target {target} — {status}"),
    "dash_other": ("Các chỉ số khác (không có chỉ tiêu)", "Other indicators (no target)"),
    "dash_col_indicator": ("Chỉ số", "Indicator"),
    "dash_col_value": ("Thực tế", "Actual"),
    "dash_chart_commune": ("Theo xã, phường", "By commune"),
    "dash_chart_operator": ("Số trạm theo doanh nghiệp", "Sites by operator"),
    "dash_chart_technology": ("Số trạm theo công nghệ", "Sites by technology"),
    "dash_chart_indicator": ("Chỉ số", "Indicator"),
    "dash_col_village": ("Thôn", "Village"),
    "dash_col_commune": ("Xã, phường", "Commune"),
    "dash_col_population": ("Dân số", "Population"),
    "dash_col_nearest": ("Trạm gần nhất", "Nearest site"),
    "dash_col_distance": ("Khoảng cách (km)", "Distance (km)"),
    "dash_uncovered_hint": ("{n} thôn chưa có sóng băng rộng di động, xếp theo dân số. Nhấp đúp để xem trên bản đồ.",
                            "{n} villages without mobile broadband, by population. Double-click to show on the map."),
    "dash_coverage_layer": ("Lớp vùng phủ sóng trên bản đồ", "Coverage layer on the map"),
    "dash_coverage_tip": ("Thôn có sóng (xanh) và chưa có sóng (đỏ), vòng phủ sóng 4G và 5G theo mô hình",
                          "Covered (green) and uncovered (red) villages, 4G and 5G coverage circles of the model"),
    "dash_circles_4g": ("Vòng 4G", "4G circles"),
    "dash_circles_5g": ("Vòng 5G", "5G circles"),
    "dash_source": ("Nguồn: {document}", "Source: {document}"),
}

register(DASHBOARD_STRINGS)
