"""UI strings of reference points imported as sites to verify (core/gis/reference.py): the map
symbol, the View menu's list of them, the GIS import dialog's options (registered into ui.strings)."""

from __future__ import annotations

from .strings import register

register({
    "op_unknown": ("Chưa xác định", "Unknown"),
    "legend_site_to_verify": ("Trạm cần xác minh (chưa kiểm tra tại chỗ)", "Site to verify (not checked on site)"),
    "act_sites_to_verify": ("Trạm &cần xác minh", "Sites to &verify"),
    "act_sites_to_verify_tip": ("Chọn trên bản đồ và liệt kê trong bảng thuộc tính các trạm nhập từ nguồn tham "
                                "chiếu (OpenStreetMap, danh sách tọa độ) chưa được xác minh; mở một trạm (F2) để "
                                "chọn doanh nghiệp, mã trạm và trạng thái",
                                "Select on the map and list in the attribute table the sites imported from a "
                                "reference source (OpenStreetMap, a list of coordinates) not verified yet; open one "
                                "(F2) to choose its operator, code and status"),
    "sites_to_verify_none": ("Không có trạm nào cần xác minh.", "No site to verify."),
    "sites_to_verify_found": ("{n} trạm cần xác minh: chưa tính vào chỉ tiêu và quy tắc",
                              "{n} sites to verify: not counted in the indicators or the rules"),
    "gis_include_untyped": ("Nhập cả cột/tháp OpenStreetMap chưa rõ loại (không có tower:type)",
                            "Also import OpenStreetMap masts and towers of unknown type (no tower:type)"),
    "gis_skipped_points": ("Bỏ qua: {text}", "Skipped: {text}"),
    "gis_summary_skipped": ("{summary}; bỏ qua {n} điểm tham chiếu (xem danh sách)",
                            "{summary}; {n} reference points skipped (see the list)"),
})
