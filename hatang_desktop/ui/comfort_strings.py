"""Strings of the first-run wizard, the settings dialog, recent files and the crash message."""

from .strings import register

register({
    # settings dialog
    "act_settings": ("&Thiết lập…", "&Settings…"),
    "act_settings_tip": ("Ngôn ngữ, người dùng, GPS, ảnh, sao lưu, hệ tọa độ",
                         "Language, user, GPS, photos, backups, coordinates"),
    "settings_title": ("Thiết lập", "Settings"),
    "set_language": ("Ngôn ngữ", "Language"),
    "set_language_restart": ("Đổi ngôn ngữ có hiệu lực khi mở lại chương trình.",
                             "A new language takes effect when the app is restarted."),
    "set_user": ("Tên người dùng (ghi vào mỗi thay đổi)", "User name (recorded with every change)"),
    "set_operator": ("Doanh nghiệp mặc định", "Default operator"),
    "set_operator_none": ("(không chọn)", "(none)"),
    "set_gps_source": ("Nguồn GPS (cổng COM hoặc tệp NMEA)", "GPS source (serial port or NMEA file)"),
    "set_gps_accuracy": ("Độ chính xác GPS tối thiểu", "Required GPS accuracy"),
    "set_photo_edge": ("Cạnh dài nhất của ảnh", "Longest photo edge"),
    "set_backup_keep": ("Số bản sao lưu giữ lại", "Backups kept"),
    "set_coords": ("Hiển thị tọa độ", "Coordinate display"),
    "coords_wgs84": ("WGS84 (độ thập phân)", "WGS84 (decimal degrees)"),
    "coords_dms": ("WGS84 (độ phút giây)", "WGS84 (degrees, minutes, seconds)"),
    "coords_vn2000": ("VN-2000 (X, Y)", "VN-2000 (X, Y)"),
    "browse": ("Chọn…", "Browse…"),
    "set_unit_m": (" m", " m"),
    "set_unit_px": (" px", " px"),
    # recent files
    "menu_recent": ("Mở &gần đây", "Open &recent"),
    "recent_empty": ("(chưa có)", "(none yet)"),
    # first run
    "wizard_title": ("Bắt đầu với Hạ tầng Desktop", "Getting started with Hạ tầng Desktop"),
    "wizard_you_title": ("Người dùng và ngôn ngữ", "You and your language"),
    "wizard_you_sub": ("Tên của anh/chị được ghi vào mỗi thay đổi để Sở biết ai đã khảo sát.",
                       "Your name is recorded with every change so the department knows who surveyed."),
    "wizard_name_needed": ("Nhập tên người dùng.", "Enter a user name."),
    "wizard_place_title": ("Tỉnh và xã/phường", "Province and commune"),
    "wizard_place_sub": ("Chọn nơi anh/chị khảo sát (danh mục hành chính sau 1/7/2025).",
                         "Choose where you survey (administrative units after 1 July 2025)."),
    "wizard_province": ("Tỉnh/thành phố", "Province/city"),
    "wizard_commune": ("Xã/phường", "Commune/ward"),
    "wizard_data_title": ("Dữ liệu", "Data"),
    "wizard_data_sub": ("Mở dữ liệu mẫu để làm quen, hoặc tạo cơ sở dữ liệu trống cho xã/phường đã chọn.",
                        "Open the sample to learn, or create an empty database for the chosen commune."),
    "wizard_open_sample": ("Mở dữ liệu mẫu (Hà Tĩnh, vị trí giả lập)", "Open the sample (Hà Tĩnh, synthetic positions)"),
    "wizard_create_new": ("Tạo cơ sở dữ liệu mới cho {commune}", "Create a new database for {commune}"),
    "wizard_new_path": ("Tệp mới", "New file"),
    "wizard_save_filter": ("Cơ sở dữ liệu Hạ tầng (*.htdb)", "Hạ tầng database (*.htdb)"),
    "wizard_exists": ("Tệp {path} đã có: chọn tên khác.", "{path} already exists: choose another name."),
    "wizard_create_failed": ("Không tạo được cơ sở dữ liệu", "Cannot create the database"),
    # crash and about
    "crash_title": ("Chương trình gặp lỗi", "The app hit an error"),
    # One sentence with the report's path; the traceback goes to the report, never to the box.
    "crash_text": ("Đã xảy ra lỗi không lường trước ({error}); các thay đổi đã lưu không bị mất, báo cáo lỗi "
                   "đã được ghi vào {path}, hãy gửi tệp này cho bộ phận hỗ trợ.",
                   "An unexpected error occurred ({error}); saved changes are not lost, and a report was "
                   "written to {path}: please send this file to support."),
    "about_versions": ("Phiên bản", "Versions"),
    "about_logs": ("Thư mục nhật ký", "Log folder"),
    "about_data": ("Thư mục dữ liệu", "Data folder"),
})
