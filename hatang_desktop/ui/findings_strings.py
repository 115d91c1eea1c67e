"""UI strings of the findings dock (ui/findings_panel.py)."""

from __future__ import annotations

from .strings import register

FINDINGS_STRINGS: dict[str, tuple[str, str]] = {
    "dock_findings": ("Vi phạm", "Findings"),
    "fp_run_check": ("Chạy kiểm tra", "Run the checks"),
    "fp_run_check_tip": ("Chạy mọi quy tắc kiểm tra trên cơ sở dữ liệu, lưu vi phạm mới, tự đóng vi phạm "
                         "đã hết", "Run every rule over the database, store new findings, close the "
                         "ones no longer true"),
    "fp_checked": ("Đã kiểm tra: {new} mới, {resolved} tự đóng, {reopened} mở lại",
                   "Checked: {new} new, {resolved} auto-resolved, {reopened} reopened"),
    "fp_summary": ("{shown} / {total} vi phạm · {active} đang mở", "{shown} / {total} findings · {active} active"),
    "fp_all": ("Tất cả", "All"),
    "fp_rule": ("Quy tắc", "Rule"),
    "fp_severity": ("Mức độ", "Severity"),
    "fp_status": ("Trạng thái", "Status"),
    "fp_operator": ("Doanh nghiệp", "Operator"),
    "fp_commune": ("Xã/phường", "Commune"),
    "fp_record": ("Đối tượng", "Record"),
    "fp_found_on": ("Ngày", "Date"),
    "fp_note": ("Ghi nhận", "Note"),
    "fp_active_only": ("Đang mở", "Active"),
    "fp_manual_rule": ("Thanh tra ghi nhận (khác)", "Inspector's own (other)"),
    "fp_confirm": ("Xác nhận", "Confirm"),
    "fp_resolve": ("Đã khắc phục", "Resolved"),
    "fp_dismiss": ("Bác bỏ…", "Dismiss…"),
    "fp_reopen": ("Mở lại", "Reopen"),
    "fp_dismiss_title": ("Bác bỏ vi phạm", "Dismiss findings"),
    "fp_dismiss_prompt": ("Lý do bác bỏ {n} vi phạm (bắt buộc):", "Why dismiss {n} findings (required):"),
    "fp_need_writable": ("Cơ sở dữ liệu đang mở chỉ đọc: không đổi được trạng thái",
                         "The database is open read-only: statuses cannot change"),
    "fp_no_database": ("Chưa mở cơ sở dữ liệu", "No database open"),
    "fp_none_selected": ("Chọn một hoặc nhiều vi phạm trong danh sách", "Select one or more findings in the list"),
    "fp_no_operator": ("(không rõ)", "(unknown)"),
}

register(FINDINGS_STRINGS)
