"""Helpers of the server app tests (test_server_app*.py): the server seen from outside the app
(another analyst's psycopg connection, the administrator's), and the window connected to it
through File > Kết nối máy chủ Sở… and the dialog's fields."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from hatang_desktop.core.storage.targets import parse_server_url
from hatang_desktop.ui.strings import tr

from . import walk


# -- the server, seen from outside the app ---------------------------------------------------------


def dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


def analyst(url: str) -> psycopg.Connection:
    """Another analyst's connection (autocommit: each statement is its own transaction)."""
    return psycopg.connect(url, autocommit=True, application_name="analyst-b")


def one(url: str, sql: str, params=()):
    with analyst(url) as conn:
        return conn.execute(sql, params).fetchone()


def all_rows(url: str, sql: str, params=()):
    with analyst(url) as conn:
        return conn.execute(sql, params).fetchall()


def maintenance(url: str) -> str:
    """The cluster's `postgres` database: the administrator's way in when `url`'s refuses people."""
    return url.rsplit("/", 1)[0] + "/postgres"


def app_backends(url: str) -> list[int]:
    return [r[0] for r in all_rows(maintenance(url), "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                                                     "AND application_name = 'hatang'", (dbname(url),))]


def terminate_app_backends(url: str) -> int:
    """What a cut network does to the app: every connection of the app to this database ends."""
    pids = app_backends(url)
    with analyst(maintenance(url)) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while app_backends(url) and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(pids)


# -- the window -----------------------------------------------------------------------------------


def file_menu_action(window, text_key: str):
    menu = window.menuBar().actions()[0].menu()
    found = [a for a in menu.actions() if a.text() == tr(text_key)]
    assert found, f"{tr(text_key)!r} is not in the File menu"
    return found[0]


def connect_through_the_dialog(window, qtbot, url: str) -> None:
    """File > Kết nối máy chủ Sở…, the address typed into the dialog's fields, Kết nối pressed."""
    info = parse_server_url(url).conninfo
    file_menu_action(window, "act_connect_server").trigger()
    dialog = window.server_dialog
    assert dialog.isVisible() and not dialog.password.isVisible()  # asked only when needed
    walk.type_into(dialog.host, info["host"])
    walk.clear_text(dialog.port.lineEdit())
    walk.type_into(dialog.port.lineEdit(), info["port"])
    walk.type_into(dialog.dbname, info["dbname"])
    walk.type_into(dialog.user, info["user"])
    with qtbot.waitSignal(window.load_finished, timeout=60_000) as loaded:
        walk.click(dialog.buttons.button(dialog.buttons.StandardButton.Ok))
    assert loaded.args == [True]
    walk.settle(20)
    walk.activate(window)


@pytest.fixture
def blank_window(qtbot):
    import pyqtgraph as pg

    from hatang_desktop.ui.main_window import MainWindow

    pg.setConfigOptions(antialias=True)
    w = MainWindow()
    # Not handed to qtbot: a language switch deletes the window (closed below while it lives).
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    close_for_good(w)


def close_for_good(window) -> None:
    """Close and delete a window with its dialogs, so nothing of it is left for the next tests
    (their `findChildren` and shortcuts); a language switch may have deleted it already."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication
    from shiboken6 import isValid

    if isValid(window):
        window.close()
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def on_server(blank_window, qtbot, server_sample_url):
    connect_through_the_dialog(blank_window, qtbot, server_sample_url)
    walk.activate(blank_window)
    return blank_window


def statements(log: Path, start: int) -> list[str]:
    """The statements the server logged after byte `start` (log_statement = 'all'), each whole:
    an entry starts with the line prefix's timestamp, its SQL continues on the lines after."""
    import re

    text = log.read_bytes()[start:].decode(errors="replace")
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    return [" ".join(e.split()) for e in entries if "statement:" in e or "execute" in e]


def settled(window, qtbot) -> None:
    """Wait for the map's reads of the view to be done."""
    qtbot.waitUntil(lambda: not window.viewport.busy, timeout=30_000)
    walk.settle(20)


def go_to_commune(window, code: str) -> None:
    """The toolbar's "Đến xã, phường…" list by keyboard: open it, Home, Down to the commune, Enter.
    (The mouse in a long popup list near its edge scrolls it under the pointer: keys are exact.)"""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    combo = window.commune_combo
    i = combo.findData(code)
    assert i >= 0, code
    walk.click(combo)
    view = combo.view()
    assert view.window().isVisible(), "the list did not open"
    QTest.keyClick(view, Qt.Key.Key_Home)
    for _ in range(i):
        QTest.keyClick(view, Qt.Key.Key_Down)
    QTest.keyClick(view, Qt.Key.Key_Return)
    walk.settle()
    assert combo.currentIndex() == i, f"picked {combo.currentText()!r}, wanted {combo.itemText(i)!r}"
