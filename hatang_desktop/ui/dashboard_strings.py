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
    "dash_tab_figures": ("Số liệu do Sở nhập", "Department figures"),
    "fig_hint": ("Mở một cơ sở dữ liệu để nhập số liệu.", "Open a database to enter figures."),
    "fig_hint_year": ("Số liệu không khảo sát trên bản đồ, năm {year} (đổi năm ở ô Năm phía trên); đã có "
                      "{n} số liệu. Nhấp đúp một ô để sửa, để trống là chưa có số liệu; dòng đầu là số liệu "
                      "của cả tỉnh.",
                      "Figures not surveyed on the map, year {year} (change it in the Year box above); {n} "
                      "entered. Double-click a cell to edit; leave it empty when there is no figure; the "
                      "first row is the whole province's."),
    "fig_col_code": ("Mã", "Code"),
    "fig_col_unit": ("Tỉnh, xã, phường", "Province, commune"),
    "fig_col_tip": ("{label}. Giá trị hợp lệ: {range}", "{label}. Valid values: {range}"),
    "fig_short_mobile_bb_subs_per_100": ("Thuê bao BR di động\n(/100 dân)", "Mobile broadband\n(subs/100 inh.)"),
    "fig_short_fixed_bb_subs_per_100": ("Thuê bao BR cố định\n(/100 dân)", "Fixed broadband\n(subs/100 inh.)"),
    "fig_short_mobile_ispeed_mbps": ("Tốc độ di động\ni-Speed (Mbps)", "Mobile speed\ni-Speed (Mbps)"),
    "fig_short_fixed_ispeed_mbps": ("Tốc độ cố định\ni-Speed (Mbps)", "Fixed speed\ni-Speed (Mbps)"),
    "fig_range_closed": ("từ {low} đến {high} {unit}", "from {low} to {high} {unit}"),
    "fig_range_open": ("lớn hơn {low} và không quá {high} {unit}", "above {low} and at most {high} {unit}"),
    "fig_not_number": ("không phải là số", "is not a number"),
    "fig_out_of_range": ("phải {range}", "must be {range}"),
    "fig_bad_value": ("{unit} ({code}), {figure}: “{value}” {reason}.",
                      "{unit} ({code}), {figure}: “{value}” {reason}."),
    "fig_not_saved": ("Chưa lưu gì: {problem}", "Nothing saved: {problem}"),
    "fig_nothing": ("Không có thay đổi nào để lưu.", "No change to save."),
    "fig_saved": ("Đã lưu {n} số liệu năm {year}; các chỉ số đang được tính lại.",
                  "Saved {n} figures for {year}; the indicators are being recomputed."),
    "fig_save": ("Lưu số liệu", "Save figures"),
    "fig_revert": ("Bỏ thay đổi", "Discard changes"),
    "fig_template": ("Xuất mẫu Excel…", "Export Excel template…"),
    "fig_template_tip": ("Ghi bảng mẫu (các xã, phường của tỉnh, một cột cho mỗi số liệu) để điền rồi nhập lại",
                         "Write the template (the province's communes, one column per figure) to fill in and "
                         "import back"),
    "fig_template_done": ("Đã ghi mẫu: {path}", "Template written: {path}"),
    "fig_import": ("Nhập từ Excel…", "Import from Excel…"),
    "fig_import_tip": ("Nhập mẫu đã điền hoặc trang \"Số liệu Sở nhập\" của báo cáo; có ô sai thì không ghi gì",
                       "Import a filled template or the report's figures sheet; nothing is written if a cell "
                       "is wrong"),
    "fig_imported": ("Đã nhập {n} số liệu từ sổ Excel ({changed} thay đổi); các chỉ số đang được tính lại.",
                     "Imported {n} figures from the workbook ({changed} changed); recomputing the indicators."),
}

register(DASHBOARD_STRINGS)
