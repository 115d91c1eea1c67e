"""File > Kết nối máy chủ Sở…: the address of the department's PostgreSQL server.

Host, port, database and user, or the name of a pg_service.conf service (how QGIS users already
keep their connections). The servers connected to before are offered first (QSettings, addresses
only). A password is asked for only when the server wanted one that ~/.pgpass, PGPASSWORD and the
service file did not give: it stays in this process's memory for the session
(core.server.database.set_session_password), is handed to libpq, and is never saved or logged.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QSpinBox,
                               QTabWidget, QVBoxLayout, QWidget)

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.storage.targets import ServerUrl, parse_server_url

from .settings import app_settings
from .strings import message_text, tr

RECENT_SERVERS_KEY = "recent/servers"
MAX_RECENT = 8


def recent_servers() -> list[str]:
    """Addresses connected to before, most recent first (ServerUrl.uri: never a password)."""
    value = app_settings().value(RECENT_SERVERS_KEY) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def add_recent_server(uri: str) -> None:
    servers = [uri] + [s for s in recent_servers() if s != uri]
    app_settings().setValue(RECENT_SERVERS_KEY, servers[:MAX_RECENT])


def server_label(target: str) -> str:
    """How a server address reads in menus and titles (no password, libpq's parameters)."""
    try:
        return parse_server_url(target).display
    except HatangError:
        return target


class ServerDialog(QDialog):
    """`url` (a ServerUrl) once accepted; `password` only when `ask_password` showed the field."""

    def __init__(self, parent=None, *, address: str | None = None, problem: str | None = None,
                 ask_password: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("server_title"))
        self.url: ServerUrl | None = None
        self.asks_password = ask_password
        layout = QVBoxLayout(self)
        self.recent = QComboBox()
        self.recent.setPlaceholderText(tr("server_recent_placeholder"))
        for uri in recent_servers():
            self.recent.addItem(server_label(uri), uri)
        self.recent.setEnabled(self.recent.count() > 0)
        self.recent.activated.connect(lambda i: self.fill(self.recent.itemData(i)))
        recent_form = QFormLayout()
        recent_form.addRow(tr("server_recent"), self.recent)
        layout.addLayout(recent_form)

        self.tabs = QTabWidget()
        address_page, service_page = QWidget(), QWidget()
        form = QFormLayout(address_page)
        self.host = QLineEdit()
        self.host.setPlaceholderText("may-chu-so.local")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(5432)
        self.dbname = QLineEdit()
        self.dbname.setPlaceholderText("hatang")
        self.user = QLineEdit()
        form.addRow(tr("server_host"), self.host)
        form.addRow(tr("server_port"), self.port)
        form.addRow(tr("server_dbname"), self.dbname)
        form.addRow(tr("server_user"), self.user)
        service_form = QFormLayout(service_page)
        self.service = QLineEdit()
        self.service.setPlaceholderText("hatang_ht")
        service_form.addRow(tr("server_service"), self.service)
        service_form.addRow(QLabel(tr("server_service_hint")))
        self.tabs.addTab(address_page, tr("server_tab_address"))
        self.tabs.addTab(service_page, tr("server_tab_service"))
        layout.addWidget(self.tabs)

        self.password_label = QLabel(tr("server_password"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        password_form = QFormLayout()
        password_form.addRow(self.password_label, self.password)
        layout.addLayout(password_form)
        self.password_label.setVisible(ask_password)
        self.password.setVisible(ask_password)
        self.hint = QLabel(tr("server_password_hint"))
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.problem = QLabel(problem or "")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setVisible(bool(problem))
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("server_connect"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        if address:
            self.fill(address)
        elif self.recent.count():
            self.recent.setCurrentIndex(0)
            self.fill(self.recent.itemData(0))
        if ask_password:
            self.password.setFocus()

    def fill(self, address: str) -> None:
        """Put a known address into the fields."""
        try:
            info = parse_server_url(address).conninfo
        except HatangError:
            return
        if "service" in info and "host" not in info:
            self.service.setText(info["service"])
            self.tabs.setCurrentIndex(1)
            return
        self.host.setText(info.get("host", ""))
        self.port.setValue(int(info.get("port", 5432) or 5432))
        self.dbname.setText(info.get("dbname", ""))
        self.user.setText(info.get("user", ""))
        self.tabs.setCurrentIndex(0)

    def address(self) -> str:
        """The fields as one libpq URL (no password: that one goes to memory only)."""
        from urllib.parse import quote

        if self.tabs.currentIndex() == 1:
            return f"postgresql:///?service={quote(self.service.text().strip(), safe='')}"
        params = [("host", self.host.text().strip()), ("port", str(self.port.value())),
                  ("dbname", self.dbname.text().strip()), ("user", self.user.text().strip())]
        return "postgresql:///?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params if v)

    def accept(self) -> None:
        try:
            self.url = parse_server_url(self.address())
        except HatangError as exc:
            self.problem.setText(message_text(exc))
            self.problem.show()
            return
        super().accept()

    def typed_password(self) -> str | None:
        return self.password.text() if self.asks_password and self.password.text() else None
