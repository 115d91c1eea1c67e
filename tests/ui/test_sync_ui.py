"""File > Đồng bộ với máy chủ Sở, pressed as a user does, against a real PostgreSQL + PostGIS server:
the address typed once, the sync as a job, the pulled site on the map and in the counts, the
address remembered, and the conflict dialog when a conflict waits in the file."""

from __future__ import annotations

import uuid as uuidlib

import pytest
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.server.database import ServerDatabase, init_server_database
from hatang_desktop.core.server.sync import META_URL
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.targets import parse_server_url
from tests.ui.walk import click, type_into

HOME = "18073"
WAIT_MS = 120_000


def add_site(db, code: str, name: str) -> str:
    uuid = str(uuidlib.uuid4())
    cols = {"uuid": uuid, "version": 1, "updated_at": "2026-01-01 00:00:00", "updated_by": "Sở", "source": "t",
            "operator_code": "VTL", "site_code": code, "commune_code": HOME, "lat": 18.34, "lon": 105.9,
            "name": name}
    with db.operation(f"thêm {code}") as s:
        s.execute(text(f"INSERT INTO sites({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"), cols)
    return uuid


@pytest.fixture
def server_url(pg_server):
    url = pg_server.new_database()
    init_server_database(parse_server_url(url), "42").close()
    return url


@pytest.fixture
def commune_window(qtbot, tmp_path):
    import pyqtgraph as pg

    from hatang_desktop.ui.main_window import MainWindow

    init_province_database(tmp_path / "xa.htdb", "42", commune=HOME, user="xã").close()
    pg.setConfigOptions(antialias=True)
    w = MainWindow()
    qtbot.addWidget(w)
    w.load_database(tmp_path / "xa.htdb")
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def file_menu_action(window, text_start: str):
    file_menu = window.menuBar().actions()[0].menu()
    found = [a for a in file_menu.actions() if a.text().replace("&", "").startswith(text_start)]
    assert len(found) == 1, [a.text() for a in file_menu.actions()]
    return found[0]


def sync_dialog():
    from hatang_desktop.ui.sync_dialog import SyncDialog

    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, SyncDialog) and w.isVisible()]
    assert len(shown) == 1
    return shown[0]


def test_sync_from_the_file_menu_pulls_the_commune_onto_the_map(commune_window, qtbot, server_url):
    window = commune_window
    with ServerDatabase.open(parse_server_url(server_url)) as server:
        pulled = add_site(server, "VT-001", "Trạm chợ Sở khảo sát")
    assert window.canvas.layers["sites"].total_count() == 0
    action = file_menu_action(window, "Đồng bộ với máy chủ Sở")
    action.trigger()
    dialog = sync_dialog()
    assert dialog.address.text() == "" and not dialog.running   # asked the first time
    type_into(dialog.address, server_url)
    with qtbot.waitSignal(dialog.synced, timeout=WAIT_MS):
        click(dialog.start_button)
    assert "nhận 1 bản ghi" in dialog.status.text()
    # The pull's changes were announced: the site is on the map and in the layer's count.
    qtbot.waitUntil(lambda: pulled in set(window.canvas.layers["sites"].data.uuid), timeout=WAIT_MS)
    assert window.canvas.layers["sites"].total_count() == 1
    qtbot.waitUntil(lambda: window.layer_panel._rows["sites"].text(0).endswith("(1)"), timeout=WAIT_MS)
    with Database.open(dialog.db_path, readonly=True) as f:
        assert f.meta(META_URL) == parse_server_url(server_url).display
    click(dialog.close_button)

    # A conflict: the file and the department changed the same name. The address is remembered,
    # so the sync starts at once, and the conflict dialog opens with the file's conflict.
    with Database.open(dialog.db_path) as f, f.operation("sửa") as s:
        s.execute(text("UPDATE sites SET name = 'Tên của xã', version = version + 1 WHERE uuid = :u"), {"u": pulled})
    with ServerDatabase.open(parse_server_url(server_url)) as server, server.operation("sửa") as s:
        s.execute(text("UPDATE sites SET name = 'Tên của Sở' WHERE uuid = :u"), {"u": pulled})
    file_menu_action(window, "Đồng bộ với máy chủ Sở").trigger()
    again = sync_dialog()
    assert again.running and again.address.text() == parse_server_url(server_url).display
    with qtbot.waitSignal(again.synced, timeout=WAIT_MS):
        pass
    from hatang_desktop.ui.conflict_dialog import ConflictDialog

    qtbot.waitUntil(lambda: any(isinstance(w, ConflictDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=WAIT_MS)
    conflicts = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ConflictDialog) and w.isVisible())
    assert conflicts.table.rowCount() == 1
    cells = [conflicts.table.item(0, c).text() for c in range(conflicts.table.columnCount())]
    assert "Tên của xã" in cells and "Tên của Sở" in cells
    conflicts.close()
    again.close()


def test_a_password_in_the_address_is_refused_in_the_dialog(commune_window, qtbot, server_url):
    file_menu_action(commune_window, "Đồng bộ với máy chủ Sở").trigger()
    dialog = sync_dialog()
    type_into(dialog.address, server_url.replace("@127.0.0.1", ":secret@127.0.0.1"))
    click(dialog.start_button)
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert "mật khẩu" in dialog.status.text() and "secret" not in dialog.status.text()
    with Database.open(dialog.db_path, readonly=True) as f:
        assert f.meta(META_URL) is None
    dialog.close()


def test_cancel_during_the_pull_leaves_the_file_as_it_was(commune_window, qtbot, server_url, monkeypatch):
    import threading

    from hatang_desktop.core.server import sync as sync_module

    with ServerDatabase.open(parse_server_url(server_url)) as server:
        add_site(server, "VT-001", "Trạm chợ")
    reading = threading.Event()
    real = sync_module._incoming
    shown = []   # the dialog, for the job's thread to watch its Cancel

    def slow_pull(*args, **kw):
        reading.set()
        while not shown[0]._job.cancel_requested:   # the user presses Cancel meanwhile
            threading.Event().wait(0.02)
        return real(*args, **kw)

    monkeypatch.setattr(sync_module, "_incoming", slow_pull)
    file_menu_action(commune_window, "Đồng bộ với máy chủ Sở").trigger()
    dialog = sync_dialog()
    shown.append(dialog)
    type_into(dialog.address, server_url)
    click(dialog.start_button)
    qtbot.waitUntil(reading.is_set, timeout=WAIT_MS)
    assert dialog.cancel_button.isVisible()
    click(dialog.cancel_button)
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert dialog.status.text() == "Đã hủy, không thay đổi gì"
    with Database.open(dialog.db_path, readonly=True) as f:
        with f.session() as s:
            assert s.execute(text("SELECT count(*) FROM sites")).scalar_one() == 0
        assert f.meta("sync_cursor") is None
    assert commune_window.canvas.layers["sites"].total_count() == 0
    dialog.close()
