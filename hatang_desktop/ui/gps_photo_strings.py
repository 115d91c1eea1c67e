"""UI strings of the GPS dock (ui/gps_panel.py) and the photo strip (ui/photo_list.py)."""

from __future__ import annotations

from . import strings
from .strings import register

GPS_PHOTO_STRINGS: dict[str, tuple[str, str]] = {
    # GPS dock
    "dock_gps": ("Định vị GPS", "GPS position"),
    "gps_source": ("Nguồn", "Source"),
    "gps_source_serial": ("Máy thu GPS (cổng nối tiếp/USB)", "GPS receiver (serial/USB port)"),
    "gps_source_log": ("Tệp nhật ký NMEA (phát lại)", "NMEA log file (replay)"),
    "gps_port": ("Cổng", "Port"),
    "gps_baud": ("Tốc độ (baud)", "Baud rate"),
    "gps_refresh_ports": ("Tìm lại cổng", "Rescan ports"),
    "gps_no_ports": ("Không thấy cổng nào – gõ tên cổng, ví dụ COM3", "No port found – type one, e.g. COM3"),
    "gps_log_file": ("Tệp", "File"),
    "gps_browse": ("Chọn…", "Browse…"),
    "gps_log_filter": ("Nhật ký NMEA (*.nmea *.nma *.log *.txt);;Mọi tệp (*)",
                       "NMEA log (*.nmea *.nma *.log *.txt);;All files (*)"),
    "gps_pace": ("Phát lại theo nhịp đã ghi", "Replay at the recorded pace"),
    "gps_start": ("Bắt đầu", "Start"),
    "gps_stop": ("Dừng", "Stop"),
    "gps_quality": ("Trạng thái", "Fix"),
    "gps_satellites": ("Vệ tinh", "Satellites"),
    "gps_satellites_value": ("{used} đang dùng / {view} nhìn thấy", "{used} used / {view} in view"),
    "gps_hdop": ("HDOP", "HDOP"),
    "gps_accuracy": ("Độ chính xác", "Accuracy"),
    "gps_accuracy_gst": ("± {m} m (máy thu đo)", "± {m} m (from the receiver)"),
    "gps_accuracy_hdop": ("± {m} m (ước tính = HDOP × {uere} m)", "± {m} m (estimated = HDOP × {uere} m)"),
    "gps_position": ("Vị trí", "Position"),
    "gps_time": ("Thời điểm", "Time"),
    "gps_time_value": ("{local} (giờ VN)\n{utc} UTC", "{local} (Vietnam)\n{utc} UTC"),
    "gps_bad_lines": ("Câu lỗi bỏ qua", "Bad sentences skipped"),
    "gps_threshold": ("Ngưỡng độ chính xác", "Accuracy threshold"),
    "gps_use": ("Dùng vị trí GPS", "Use GPS position"),
    "gps_use_tip": ("Lấy vị trí hiện tại cho bản ghi đang nhập (bị từ chối nếu độ chính xác kém hơn ngưỡng)",
                    "Take the current position for the record being entered (refused when accuracy is worse "
                    "than the threshold)"),
    "gps_average": ("Lấy trung bình", "Average"),
    "gps_average_n": ("Số lần đo", "Fixes"),
    "gps_average_tip": ("Đứng yên tại điểm, lấy trung bình N lần đo đạt ngưỡng (bỏ qua lần đo kém)",
                        "Stand still on the point; average N fixes that pass the threshold (poor ones skipped)"),
    "gps_average_cancel": ("Hủy", "Cancel"),
    "gps_averaging": ("Đang lấy trung bình: {got}/{n} lần đo (bỏ qua {skipped} lần kém)",
                      "Averaging: {got}/{n} fixes ({skipped} poor ones skipped)"),
    "gps_accepted": ("Đã dùng vị trí {pos} (± {m} m)", "Position {pos} taken (± {m} m)"),
    "gps_accepted_avg": ("Đã dùng vị trí trung bình {n} lần đo {pos} (± {m} m, độ phân tán {spread} m)",
                         "Averaged position of {n} fixes {pos} taken (± {m} m, spread {spread} m)"),
    "gps_idle": ("Chưa bắt đầu", "Not started"),
    "gps_running": ("Đang nhận dữ liệu từ {source}…", "Receiving from {source}…"),
    "gps_replay_done": ("Đã phát lại hết tệp ({fixes} lần đo)", "Replay finished ({fixes} fixes)"),
    "gps_stale": ("Không nhận được dữ liệu từ máy thu {s} giây nay", "No data from the receiver for {s} s"),
    "gps_stale_refused": ("Vị trí GPS đã cũ ({s} giây): kiểm tra máy thu rồi thử lại.",
                          "The GPS position is {s} s old: check the receiver and try again."),
    "gps_choose_log_first": ("Hãy chọn tệp nhật ký NMEA.", "Choose an NMEA log file."),
    "gps_choose_port_first": ("Hãy chọn hoặc gõ tên cổng của máy thu GPS.", "Choose or type the GPS receiver's port."),
    "gps_no_value": ("–", "–"),
    # photo strip
    "photos_title": ("Ảnh", "Photos"),
    "photo_add": ("Thêm ảnh…", "Add photos…"),
    "photo_open": ("Mở", "Open"),
    "photo_remove": ("Xóa", "Remove"),
    "photo_missing": ("thiếu ảnh", "photo missing"),
    "photo_missing_tip": ("Không tìm thấy tệp {path}", "File not found: {path}"),
    "photo_damaged": ("ảnh hỏng", "damaged"),
    "photo_pending": ("chưa lưu", "not saved"),
    "photo_drop_hint": ("Kéo thả ảnh vào đây hoặc bấm “Thêm ảnh…”", "Drop photos here or press “Add photos…”"),
    "photo_filter": ("Ảnh (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp);;Mọi tệp (*)",
                     "Images (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp);;All files (*)"),
    "photo_choose": ("Chọn ảnh để đính kèm", "Choose photos to attach"),
    "photo_remove_confirm": ("Xóa ảnh “{name}” khỏi bản ghi?", "Remove the photo “{name}” from the record?"),
    "photo_tip": ("{name}\nChụp: {taken}\nVị trí: {pos}\n{w} × {h} điểm ảnh", "{name}\nTaken: {taken}\n"
                  "Position: {pos}\n{w} × {h} pixels"),
    "photo_unknown": ("không rõ", "unknown"),
    "photo_no_record": ("Chưa chọn bản ghi", "No record selected"),
}

register(GPS_PHOTO_STRINGS)


def pick_language(message: str) -> str:
    """Core messages are "Vietnamese / English": show the half for the UI language."""
    vi, sep, en = message.partition(" / ")
    if not sep:
        return message
    return vi if strings.language() == "vi" else en
