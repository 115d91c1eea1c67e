"""Cancel on a long job really cancels (issue 18 item 3): the user presses the dialog's Cancel
while the import is under way; the job stops inside its transaction and the database is as it
was, with no backup left for a change never made."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hatang_desktop.core.exchange import merge
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage.database import backups_of
from hatang_desktop.ui.strings import tr
from tests.core.fault_env import dump, edited_book
from tests.ui.walk import button, click

DATA = Path(__file__).parent.parent / "data" / "gis"
WAIT_MS = 60_000


def hold(monkeypatch, owner, name: str) -> tuple[threading.Event, threading.Event]:
    """`owner.name` made to wait, on the job's thread, until the test lets it go: a slow job the
    user can press Cancel on. Returns (started, go)."""
    started, go = threading.Event(), threading.Event()
    real = getattr(owner, name)

    def held(*args, **kwargs):
        started.set()
        assert go.wait(30), "the test never let the job go on"
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, held)
    return started, go


@pytest.fixture
def held_import(monkeypatch):
    """The import waits inside its transaction (at its backup) until the test lets it go."""
    started, go = hold(monkeypatch, merge, "take_backup")
    yield started, go
    go.set()


def _cancel_while_held(qtbot, dialog, held) -> None:
    started, go = held
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    assert dialog.cancel_button.isVisible()
    with qtbot.waitSignal(dialog.cancelled, timeout=WAIT_MS):
        click(button(dialog, tr("job_cancel")))
        go.set()
    assert not dialog.cancel_button.isVisible()


def test_cancel_during_an_excel_import_changes_nothing(qtbot, sample_db_path, tmp_path, held_import):
    from hatang_desktop.ui.excel_import_dialog import ExcelImportDialog

    book = edited_book(sample_db_path, tmp_path / "so.xlsx", rows=3)
    before = dump(sample_db_path)
    dialog = ExcelImportDialog(sample_db_path)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT_MS):
        dialog.set_file(book)
    assert dialog.apply_button.isEnabled()
    click(dialog.apply_button)
    _cancel_while_held(qtbot, dialog, held_import)
    assert dialog.result is None and dialog.status.text() == tr("job_cancelled")
    assert dump(sample_db_path) == before
    assert backups_of(sample_db_path, "truoc-nhap") == []
    assert dialog.apply_button.isEnabled()   # the user may import it after all

    held_import[0].clear()
    with qtbot.waitSignal(dialog.imported, timeout=WAIT_MS):   # and then it goes through
        click(dialog.apply_button)
    assert dialog.result.applied and dump(sample_db_path) != before


def test_cancel_during_a_gis_import_changes_nothing(qtbot, tmp_path, held_import):
    from hatang_desktop.ui.gis_dialogs import GisImportDialog

    db = init_province_database(tmp_path / "ht.db", "42")
    db.close()
    path = tmp_path / "ht.db"
    before = dump(path)
    dialog = GisImportDialog(path)
    qtbot.addWidget(dialog)
    dialog.resize(900, 640)
    dialog.show()
    dialog.set_file(DATA / "operator_sites.kml")
    qtbot.waitUntil(lambda: dialog.preview is not None and dialog.apply_button.isEnabled(), timeout=WAIT_MS)
    click(dialog.apply_button)
    _cancel_while_held(qtbot, dialog, held_import)
    assert dialog.summary.text() == tr("job_cancelled")
    assert dump(path) == before
    assert backups_of(path, "truoc-nhap-gis") == []


def test_cancel_during_an_excel_export_leaves_no_file(qtbot, sample_db_path, tmp_path, monkeypatch):
    from hatang_desktop.core.exchange import export as export_module
    from hatang_desktop.ui.excel_export_dialog import ExcelExportDialog

    started, go = hold(monkeypatch, export_module, "export_workbook")   # its first sheet asks the Cancel
    dialog = ExcelExportDialog(sample_db_path, [])
    qtbot.addWidget(dialog)
    dialog.show()
    out = tmp_path / "so.xlsx"
    dialog.start_export(out)
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.cancelled, timeout=WAIT_MS):
        click(button(dialog, tr("job_cancel")))
        go.set()
    assert not out.exists() and [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert dialog.result is None and dialog.status.text() == tr("job_cancelled")


def test_cancel_during_a_rule_check_stores_no_finding(qtbot, window, monkeypatch):
    from hatang_desktop.core.rules import check as check_module

    started, go = hold(monkeypatch, check_module, "evaluate")   # its first rule asks the Cancel
    panel = window.findings_panel
    panel.show()
    before = dump(panel.db.path)
    try:
        with qtbot.waitSignal(panel.check_finished, timeout=WAIT_MS) as finished:
            click(panel.run_button)
            qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
            click(panel.cancel_button)
            go.set()
    finally:
        go.set()
    assert finished.args[0] is None and panel.run_button.isEnabled() and not panel.cancel_button.isVisible()
    assert window.statusBar().currentMessage() == tr("job_cancelled")
    assert dump(panel.db.path) == before


def test_cancel_during_a_gis_export_leaves_no_file(qtbot, sample_db_path, tmp_path, monkeypatch):
    import hatang_desktop.core.gis as gis
    from hatang_desktop.ui.gis_dialogs import GisExportDialog

    started, go = hold(monkeypatch, gis, "export_gis")   # its first layer asks the Cancel
    dialog = GisExportDialog(sample_db_path, [])
    qtbot.addWidget(dialog)
    dialog.show()
    out = tmp_path / "ban_giao.gpkg"
    dialog.path.setText(str(out))
    click(dialog.export_button)
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    click(button(dialog, tr("job_cancel")))
    go.set()
    qtbot.waitUntil(lambda: dialog.message.text() == tr("job_cancelled"), timeout=WAIT_MS)
    assert dialog.result is None and dialog.export_button.isEnabled() and not dialog.cancel_button.isVisible()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(sample_db_path.name)] == []
