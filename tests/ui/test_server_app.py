"""The app on the department's server (issue 19), against a real PostgreSQL + PostGIS (pg_server).

Walked as a user walks it: File > Kết nối máy chủ Sở…, the dialog's fields typed into and its
button pressed; edits with the map tools (keys and clicks), Ctrl+Z. What the app wrote is checked
on the server through a connection of the test's own (psycopg), as another analyst would see it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import event

from hatang_desktop.core import editing
from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.core.storage.targets import parse_server_url
from hatang_desktop.ui.server_dialog import RECENT_SERVERS_KEY
from hatang_desktop.ui.settings import app_settings
from hatang_desktop.ui.strings import tr

from . import walk
from .server_walk import (all_rows, analyst, blank_window, connect_through_the_dialog, dbname,  # noqa: F401
                          file_menu_action, go_to_commune, on_server, one, settled, statements,
                          terminate_app_backends)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


# -- 1. connecting, and the map read by box ----------------------------------------------------------


def test_connect_by_menu_names_the_server_and_reads_the_view_by_box(blank_window, qtbot, pg_server,
                                                                    server_sample_url):
    window, url = blank_window, server_sample_url
    name = dbname(url)
    pg_server.sql(f'ALTER DATABASE "{name}" SET log_statement = \'all\'')  # the app's connections log
    log = Path(pg_server.root) / "log"
    connect_through_the_dialog(window, qtbot, url)

    db = window.db
    assert db.dialect == "postgresql" and db.path is None and not db.readonly
    assert name in window.windowTitle() and "127.0.0.1" in window.windowTitle()
    assert window.server_status.isVisible() and name in window.server_status.text()
    assert window.act_reconnect.isEnabled()
    remembered = app_settings().value(RECENT_SERVERS_KEY)
    assert any(name in r for r in ([remembered] if isinstance(remembered, str) else remembered))
    assert "password" not in Path(app_settings().fileName()).read_text(errors="replace").lower()

    # Two communes with sites, far apart: the map holds one's surroundings, not the province's.
    communes = all_rows(url, """
        SELECT a.code, a.min_lon, a.min_lat, a.max_lon, a.max_lat, count(s.id) FROM admin_units a
        JOIN sites s ON s.commune_code = a.code AND s.deleted = 0
        WHERE a.level = 'commune' AND a.deleted = 0 AND a.min_lon IS NOT NULL
        GROUP BY a.code, a.min_lon, a.min_lat, a.max_lon, a.max_lat HAVING count(s.id) >= 3
        ORDER BY a.min_lon""")
    west, east = communes[0], communes[-1]
    assert east[1] - west[3] > 0.3, "the sample's communes are not far enough apart for this test"

    def sites_of(code):
        return {r[0] for r in all_rows(url, "SELECT uuid FROM sites WHERE commune_code = %s AND deleted = 0",
                                       (code,))}

    def on_map():
        return set(window.canvas.layers["sites"].data.uuid)

    assert sites_of(west[0]) <= on_map() and sites_of(east[0]) <= on_map()  # the first view: all of it
    start = log.stat().st_size
    reads = window.viewport.reads
    go_to_commune(window, west[0])  # the toolbar's "Đến xã": the view moves to it
    qtbot.waitUntil(lambda: window.viewport.reads > reads, timeout=30_000)
    settled(window, qtbot)
    assert sites_of(west[0]) <= on_map()
    assert not sites_of(east[0]) & on_map(), "the far commune's sites were read too"
    sent = statements(log, start)
    for layer in ("FROM sites s WHERE", "FROM poles p WHERE", "FROM fibre_routes WHERE",
                  "FROM zones WHERE", "FROM findings"):
        reads_of = [st for st in sent if layer in st]
        assert reads_of and all("ST_MakeEnvelope" in st for st in reads_of), (layer, reads_of)

    # Panning there: a drag of the map in the pan tool, then the commune far east.
    reads = window.viewport.reads
    view = window.canvas.view_extent()
    mid_y = (view.min_y + view.max_y) / 2
    from hatang_desktop.core.geo.projection import mercator_to_lonlat
    a = mercator_to_lonlat(view.min_x + 0.8 * (view.max_x - view.min_x), mid_y)
    b = mercator_to_lonlat(view.min_x + 0.2 * (view.max_x - view.min_x), mid_y)
    walk.drag_map(window, (float(a[0]), float(a[1])), (float(b[0]), float(b[1])))
    go_to_commune(window, east[0])
    qtbot.waitUntil(lambda: window.viewport.reads > reads, timeout=30_000)
    settled(window, qtbot)
    assert sites_of(east[0]) <= on_map()
    assert not sites_of(west[0]) & on_map()
    # What is on the map is what the server holds in the loaded box, no more, no less.
    box = window.viewport.loaded
    (w_lon, e_lon), (s_lat, n_lat) = mercator_to_lonlat([box.min_x, box.max_x], [box.min_y, box.max_y])
    in_box = {r[0] for r in all_rows(url, "SELECT uuid FROM sites WHERE deleted = 0 AND lon BETWEEN %s AND %s "
                                          "AND lat BETWEEN %s AND %s", (w_lon, e_lon, s_lat, n_lat))}
    assert on_map() == in_box
    pg_server.sql(f'ALTER DATABASE "{name}" RESET log_statement')


# -- 2. editing with the map tools, and undo ----------------------------------------------------------


def test_move_a_site_on_the_server_and_undo_it(on_server, server_sample_url):
    window, url = on_server, server_sample_url
    uuid, code, lon, lat = one(url, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    assert window.identify_panel.feature.uuid == uuid
    walk.press(window, "M")
    walk.click_map(window, lon, lat)  # picks the site: its handle
    assert len(window.editor.sketch.handles) == 1
    to = (lon + 0.0012, lat - 0.0007)
    walk.drag_map(window, (lon, lat), to)

    moved_lon, moved_lat, version = one(url, "SELECT lon, lat, version FROM sites WHERE uuid = %s", (uuid,))
    tolerance = 1.5 * walk.metres_per_pixel(window) / 111_000 * 2
    assert abs(moved_lon - to[0]) < tolerance and abs(moved_lat - to[1]) < tolerance
    logged = all_rows(url, """SELECT c.field, c.old_value, c.new_value, o.description, c.xid IS NOT NULL
                              FROM change_log c JOIN operations o ON o.id = c.operation_id
                              WHERE c.record_uuid = %s ORDER BY c.id""", (uuid,))
    moves = [r for r in logged if r[3] == f"Di chuyển trạm BTS {code}"]
    assert {r[0] for r in moves} >= {"lon", "lat"} and all(r[4] for r in moves)
    assert next(r for r in moves if r[0] == "lon")[1:3] == (lon, moved_lon)
    x, y = lonlat_to_mercator(moved_lon, moved_lat)
    i = window.canvas.layers["sites"].index_of(uuid)
    assert abs(window.canvas.layers["sites"].data.x[i] - float(x)) < 0.01

    walk.press(window, "Ctrl+Z")
    back = one(url, "SELECT lon, lat, version FROM sites WHERE uuid = %s", (uuid,))
    assert back[:2] == (lon, lat) and back[2] == version + 1
    undone = all_rows(url, """SELECT o.description FROM change_log c JOIN operations o ON o.id = c.operation_id
                              WHERE c.record_uuid = %s AND c.field = 'lon' ORDER BY c.id""", (uuid,))
    assert undone[-1][0].startswith("Hoàn tác") and code in undone[-1][0]
    i = window.canvas.layers["sites"].index_of(uuid)
    assert abs(window.canvas.layers["sites"].data.x[i] - float(lonlat_to_mercator(lon, lat)[0])) < 0.01


def test_add_a_site_with_the_map_tool_is_on_the_server(on_server, server_sample_url):
    window, url = on_server, server_sample_url
    code, lon0, lat0 = one(url, "SELECT site_code, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
    walk.search_and_go(window, code)
    lon, lat = lon0 + 0.002, lat0 + 0.0015

    def fill_site(d):
        f = d.form_widget.fields
        walk.type_into(f["site_code"].edit, "HT-SV-001")
        walk.choose(f["operator_code"].combo, "VNPT")
        walk.type_into(f["name"].edit, "Trạm trên máy chủ Sở")
        walk.choose(f["tower_type"].combo, "ground_tower")
        walk.click(walk.button(d, tr("form_save")))
        assert not d.isVisible(), d.banner.text()

    walk.press(window, "Ctrl+1")
    waiting = walk.when_modal(fill_site)
    walk.click_map(window, lon, lat)
    waiting.done()
    uuid, name, operator = one(url, "SELECT uuid, name, operator_code FROM sites WHERE site_code = 'HT-SV-001' "
                                    "AND deleted = 0")
    assert (name, operator) == ("Trạm trên máy chủ Sở", "VNPT")
    assert one(url, "SELECT count(*) FROM change_log WHERE record_uuid = %s AND action = 'insert'", (uuid,))[0] >= 1
    assert window.canvas.layers["sites"].index_of(uuid) is not None
    walk.press(window, "Ctrl+Z")
    assert one(url, "SELECT deleted FROM sites WHERE uuid = %s", (uuid,))[0] == 1  # a tombstone, kept
    assert window.canvas.layers["sites"].index_of(uuid) is None


# -- 4. a lost connection -----------------------------------------------------------------------------


def test_a_connection_cut_while_saving_says_so_writes_nothing_and_reconnects(on_server, server_sample_url):
    window, url = on_server, server_sample_url
    uuid, code, lon, lat = one(url, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                    "ORDER BY id LIMIT 1 OFFSET 5")
    operations = one(url, "SELECT count(*) FROM operations")[0]
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    walk.press(window, "M")
    walk.click_map(window, lon, lat)
    cut = threading.Event()

    def cut_the_network(_conn, _cursor, statement, *_args):
        # The moment the app writes the site, every connection it has to the server ends.
        if statement.startswith("UPDATE sites") and not cut.is_set():
            cut.set()
            terminate_app_backends(url)

    event.listen(window.db._engine, "before_cursor_execute", cut_the_network)
    messages = []

    def read_box(box):
        assert isinstance(box, QMessageBox)
        messages.append((box.windowTitle(), box.text()))
        walk.click(box.button(QMessageBox.StandardButton.Ok))

    waiting = walk.when_modal(read_box)
    walk.drag_map(window, (lon, lat), (lon + 0.001, lat + 0.001))
    waiting.done()
    event.remove(window.db._engine, "before_cursor_execute", cut_the_network)
    assert cut.is_set()
    ((title, text),) = messages
    assert title == tr("server_lost_title")
    assert "mất kết nối" in text and "Không có gì được ghi nửa chừng" in text and "Kết nối lại" in text
    assert "Traceback" not in text
    assert one(url, "SELECT lon, lat FROM sites WHERE uuid = %s", (uuid,)) == (lon, lat)
    assert one(url, "SELECT count(*) FROM operations")[0] == operations  # nothing half-written

    # File > Kết nối lại, then the same move goes through.
    terminate_app_backends(url)
    file_menu_action(window, "act_reconnect").trigger()
    assert window.statusBar().currentMessage() == tr("server_reconnected", name=window.db.name)
    walk.activate(window)
    walk.press(window, "M")
    walk.press(window, "M")  # off and on again: the tool picks the site afresh
    walk.click_map(window, lon, lat)
    walk.drag_map(window, (lon, lat), (lon + 0.001, lat + 0.001))
    assert one(url, "SELECT lon FROM sites WHERE uuid = %s", (uuid,))[0] != lon
    assert QApplication.activeModalWidget() is None


# -- 5. two analysts at once --------------------------------------------------------------------------


def test_another_analysts_edit_meanwhile_is_a_conflict_never_overwritten(on_server, server_sample_url):
    window, url = on_server, server_sample_url
    uuid, code, lon, lat = one(url, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                    "ORDER BY id LIMIT 1 OFFSET 2")
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    assert window.identify_panel.feature.uuid == uuid
    seen = {}

    def edit(d):
        f = d.form_widget.fields
        walk.clear_text(f["name"].edit)
        walk.type_into(f["name"].edit, "Tên của chuyên viên A")
        with analyst(url) as other:  # analyst B saves the same field while A's form is open
            other.execute("UPDATE sites SET name = 'Tên của chuyên viên B' WHERE uuid = %s", (uuid,))
        walk.click(walk.button(d, tr("form_save")))
        seen["open"] = d.isVisible()
        seen["errors"] = [e.text() for e in d.form_widget.errors.values() if e.text()]
        d.reject()

    waiting = walk.when_modal(edit)
    walk.press(window, "F2")
    waiting.done()
    assert seen["open"], "the save went through over the other analyst's change"
    assert any("Tên của chuyên viên B" in e for e in seen["errors"]), seen["errors"]
    assert one(url, "SELECT name FROM sites WHERE uuid = %s", (uuid,))[0] == "Tên của chuyên viên B"
    assert editing.read_values(window.db, "sites", uuid)["name"] == "Tên của chuyên viên B"


def test_a_server_gone_under_a_click_is_one_message_and_reconnect_brings_it_back(on_server, pg_server,
                                                                                  server_sample_url):
    window, url = on_server, server_sample_url
    name = dbname(url)
    uuid, lon, lat = one(url, "SELECT uuid, lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1 OFFSET 7")
    walk.click_map(window, lon, lat)  # the view's layers are drawn
    pg_server.sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # the server takes no one new
    try:
        terminate_app_backends(url)  # and the app's connections are cut
        messages = []

        def read_box(box):
            messages.append((box.windowTitle(), box.text()))
            walk.click(box.button(QMessageBox.StandardButton.Ok))

        waiting = walk.when_modal(read_box)
        walk.click_map(window, lon, lat)
        waiting.done()
        ((title, text),) = messages
        assert title == tr("server_lost_title") and "Kết nối lại" in text and "Traceback" not in text
        waiting = walk.when_modal(read_box)
        file_menu_action(window, "act_reconnect").trigger()  # still away: said again, nothing breaks
        waiting.done()
        assert len(messages) == 2
    finally:
        pg_server.sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    file_menu_action(window, "act_reconnect").trigger()
    assert window.statusBar().currentMessage() == tr("server_reconnected", name=window.db.name)
    walk.click_map(window, lon, lat)
    assert window.identify_panel.feature is not None and window.identify_panel.feature.uuid == uuid


# -- 8. a server that asks for a password --------------------------------------------------------------


def test_the_password_is_asked_only_when_the_server_wants_it_and_never_kept(blank_window, qtbot, pg_server,
                                                                              server_sample_url):
    from hatang_desktop.core.server import database as server_db

    window, url = blank_window, server_sample_url
    name, user, secret = dbname(url), f"pw_{dbname(url)}", "mật-khẩu-Sở-42"
    pg_server.sql(f"CREATE ROLE \"{user}\" LOGIN SUPERUSER PASSWORD '{secret}'")
    hba = Path(pg_server.data) / "pg_hba.conf"
    before = hba.read_text()
    # This database and this user only: every other test keeps the cluster's trust.
    hba.write_text(f"host {name} {user} 127.0.0.1/32 scram-sha-256\n" + before)
    pg_server.sql("SELECT pg_reload_conf()")
    try:
        info = parse_server_url(url).conninfo
        file_menu_action(window, "act_connect_server").trigger()
        dialog = window.server_dialog
        assert not dialog.password.isVisible()
        walk.type_into(dialog.host, info["host"])
        walk.clear_text(dialog.port.lineEdit())
        walk.type_into(dialog.port.lineEdit(), info["port"])
        walk.type_into(dialog.dbname, name)
        walk.type_into(dialog.user, user)
        with qtbot.waitSignal(window.load_finished, timeout=60_000) as first:
            walk.click(dialog.buttons.button(dialog.buttons.StandardButton.Ok))
        assert first.args == [False] and window.db is None
        asked = window.server_dialog  # the same address, now with the password field and why
        assert asked is not dialog and asked.isVisible() and asked.password.isVisible()
        assert asked.dbname.text() == name and asked.user.text() == user
        assert asked.problem.isVisible() and "mật khẩu" in asked.problem.text()
        walk.type_into(asked.password, secret)
        with qtbot.waitSignal(window.load_finished, timeout=60_000) as second:
            walk.click(asked.buttons.button(asked.buttons.StandardButton.Ok))
        assert second.args == [True] and window.db.dialect == "postgresql"
        assert user in window.windowTitle() or name in window.windowTitle()
        assert secret not in window.windowTitle() and secret not in window.server_status.text()
        app_settings().sync()
        assert secret not in Path(app_settings().fileName()).read_text(encoding="utf-8", errors="replace")
        assert secret not in window.db.name and secret not in window.db.url.uri
    finally:
        window.close()
        server_db._passwords.clear()
        hba.write_text(before)
        pg_server.sql("SELECT pg_reload_conf()")


def test_a_server_error_reaching_the_crash_hook_is_the_lost_connection_box(qtbot, tmp_path):
    from hatang_desktop.core.server.database import ServerError
    from hatang_desktop.ui.app import crash_message_box

    box = crash_message_box(tmp_path / "crash.txt",
                            ServerError("postgresql://may-chu/hatang", "mất kết nối (x)", "connection lost (x)"))
    assert box.windowTitle() == tr("server_lost_title") and "Kết nối lại" in box.text()
    assert "crash.txt" not in box.text()  # not a crash: no report to send
