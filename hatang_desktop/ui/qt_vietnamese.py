"""Vietnamese for the words Qt itself draws: dialog buttons, wizard buttons, file dialogs; and
Qt's default locale, so spin boxes write "10,0 m" as the rest of the Vietnamese UI does.

Qt ships no Vietnamese translation (no qtbase_vi.qm in PySide6 6.11), so a message box would say
"Yes/No" and the first-run wizard "Next >" in an otherwise Vietnamese app. A small in-code
translator covers the texts our users meet; anything else stays Qt's English.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale, QTranslator

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
    # QFileDialog (Qt 6 writes "&Look in:" and "Files of &type:"; the forms without '&' are Qt 5's).
    "&Look in:": "Tìm tr&ong:", "Look in:": "Tìm trong:", "File &name:": "&Tên tệp:",
    "Files of &type:": "&Loại tệp:", "Files of type:": "Loại tệp:",
    "&Choose": "&Chọn", "Directory:": "Thư mục:", "Back": "Lùi", "Forward": "Tới", "Parent Directory": "Thư mục cha",
    "Go back": "Quay lại", "Go forward": "Đi tới", "Go to the parent directory": "Lên thư mục cha",
    "Create New Folder": "Tạo thư mục mới", "Create a New Folder": "Tạo thư mục mới",
    "List View": "Dạng danh sách", "Detail View": "Dạng chi tiết",
    "Change to list view mode": "Xem dạng danh sách", "Change to detail view mode": "Xem dạng chi tiết",
    "List of places and bookmarks": "Danh sách nơi và dấu trang", "Sidebar": "Thanh bên",
    "Recent Places": "Nơi mở gần đây", "Remove": "Gỡ bỏ",
    "&Rename": "Đổi &tên", "&Delete": "&Xóa", "&New Folder": "Thư &mục mới", "New Folder": "Thư mục mới",
    "Show &hidden files": "Hiện tệp ẩ&n", "Show ": "Hiện ",
    "All Files (*)": "Mọi tệp (*)", "Files": "Tệp", "Directories": "Thư mục",
    "Save As": "Lưu thành", "Find Directory": "Chọn thư mục",
    "%1 already exists.\nDo you want to replace it?": "%1 đã có.\nGhi đè lên tệp này?",
    "%1\nFile not found.\nPlease verify the correct file name was given.":
        "%1\nKhông tìm thấy tệp.\nHãy kiểm tra lại tên tệp.",
    "%1\nDirectory not found.\nPlease verify the correct directory name was given.":
        "%1\nKhông tìm thấy thư mục.\nHãy kiểm tra lại tên thư mục.",
    "Are you sure you want to delete '%1'?": "Xóa «%1»?",
    "'%1' is write protected.\nDo you want to delete it anyway?": "«%1» đang được bảo vệ chống ghi.\nVẫn xóa?",
    "Could not delete directory.": "Không xóa được thư mục.",
    # QFileSystemModel and QAbstractFileIconProvider: the columns, the sidebar, the kinds.
    "Name": "Tên", "Size": "Kích thước", "Type": "Loại", "Kind": "Loại", "Date Modified": "Ngày sửa",
    "Computer": "Máy tính", "My Computer": "Máy tính", "Drive": "Ổ đĩa", "Folder": "Thư mục",
    "Directory": "Thư mục", "File": "Tệp", "Symbolic Link": "Liên kết", "Unknown": "Không rõ",
    "&Undo": "&Hoàn tác", "&Redo": "&Làm lại", "Cu&t": "Cắ&t", "&Copy": "&Sao chép", "&Paste": "&Dán",
    "Delete": "Xóa", "Select All": "Chọn tất cả",
}


# Key names (QKeySequence's "Back", "Delete"...) are read back when a shortcut is parsed as native
# text: translating them could break a shortcut, and nobody reads them in a dialog.
_UNTRANSLATED_CONTEXTS = {"QShortcut", "QKeySequence"}


class QtVietnamese(QTranslator):
    def translate(self, context, source_text, disambiguation=None, n=-1):  # noqa: N802 (Qt API)
        if context in _UNTRANSLATED_CONTEXTS:
            return None
        return VIETNAMESE.get(source_text) or None

    def isEmpty(self) -> bool:  # noqa: N802 (Qt API)
        return False


_translator: QtVietnamese | None = None
_system_locale = QLocale()  # what Qt had before the first install: English goes back to it


def install(app, language: str) -> None:
    """Install (vi) or remove (en) the translator; safe to call again when the language changes.
    Widgets built afterwards (a language switch rebuilds the window) take the new locale."""
    global _translator
    QLocale.setDefault(QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam) if language == "vi"
                       else _system_locale)
    if _translator is not None:
        app.removeTranslator(_translator)
        _translator = None
    if language == "vi":
        _translator = QtVietnamese(app)
        app.installTranslator(_translator)
