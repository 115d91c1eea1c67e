"""Vietnamese for the words Qt itself draws: dialog buttons, wizard buttons, file dialogs.

Qt ships no Vietnamese translation (no qtbase_vi.qm in PySide6), so a message box would say
"Yes/No" and the first-run wizard "Next >" in an otherwise Vietnamese app. A small in-code
translator covers the texts our users meet; anything else stays Qt's English.
"""

from __future__ import annotations

from PySide6.QtCore import QTranslator

# Source texts as Qt 6 writes them (QPlatformTheme, QDialogButtonBox, QWizard, QMessageBox,
# QFileDialog, QLineEdit/QTextControl context menus).
VIETNAMESE = {
    "OK": "Đồng ý", "&OK": "&Đồng ý", "Cancel": "Hủy", "&Cancel": "&Hủy", "Close": "Đóng", "&Close": "Đó&ng",
    "Yes": "Có", "&Yes": "&Có", "No": "Không", "&No": "&Không", "Yes to &All": "Có cho &tất cả",
    "N&o to All": "K&hông cho tất cả", "Apply": "Áp dụng", "&Apply": "Áp &dụng", "Save": "Lưu", "&Save": "&Lưu",
    "Save All": "Lưu tất cả", "Open": "Mở", "&Open": "&Mở", "Discard": "Bỏ", "Don't Save": "Không lưu",
    "Close without Saving": "Đóng không lưu", "Reset": "Đặt lại", "Restore Defaults": "Khôi phục mặc định",
    "Help": "Trợ giúp", "Abort": "Hủy bỏ", "Retry": "Thử lại", "Ignore": "Bỏ qua",
    "< &Back": "< &Quay lại", "&Next >": "&Tiếp >", "&Next": "&Tiếp", "&Back": "&Quay lại",
    "&Finish": "&Hoàn tất", "&Commit": "&Xác nhận", "&Help": "&Trợ giúp",
    "Show Details...": "Xem chi tiết…", "Hide Details...": "Ẩn chi tiết…",
    "Look in:": "Tìm trong:", "File &name:": "&Tên tệp:", "Files of type:": "Loại tệp:",
    "&Choose": "&Chọn", "Directory:": "Thư mục:", "Back": "Lùi", "Forward": "Tới", "Parent Directory": "Thư mục cha",
    "Create New Folder": "Tạo thư mục mới", "List View": "Dạng danh sách", "Detail View": "Dạng chi tiết",
    "Name": "Tên", "Size": "Kích thước", "Type": "Loại", "Date Modified": "Ngày sửa",
    "&Undo": "&Hoàn tác", "&Redo": "&Làm lại", "Cu&t": "Cắ&t", "&Copy": "&Sao chép", "&Paste": "&Dán",
    "Delete": "Xóa", "Select All": "Chọn tất cả",
}


class QtVietnamese(QTranslator):
    def translate(self, context, source_text, disambiguation=None, n=-1):  # noqa: N802 (Qt API)
        return VIETNAMESE.get(source_text) or None

    def isEmpty(self) -> bool:  # noqa: N802 (Qt API)
        return False


_translator: QtVietnamese | None = None


def install(app, language: str) -> None:
    """Install (vi) or remove (en) the translator; safe to call again when the language changes."""
    global _translator
    if _translator is not None:
        app.removeTranslator(_translator)
        _translator = None
    if language == "vi":
        _translator = QtVietnamese(app)
        app.installTranslator(_translator)
