"""The findings dock: run the check off the GUI thread, filter, go to a record, change statuses
through the undo stack."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from sqlalchemy import text


def _check(qtbot, panel):
    with qtbot.waitSignal(panel.check_finished, timeout=120000) as blocker:
        panel.start_check()
    assert blocker.args[0] is not None
    return blocker.args[0]


def _select(panel, row: int) -> None:
    panel.table.clearSelection()
    panel.table.selectRow(row)


def test_check_filter_go_to_and_undo(qtbot, window, tmp_path):
    panel = window.findings_panel
    panel.show()
    assert panel.windowTitle() == "Vi phạm"
    result = _check(qtbot, panel)
    assert result.changes.new > 0
    total = len(panel.all)
    assert panel.model.rowCount() == total > result.changes.new - 1

    panel.set_filter("rule", "cable_untagged")
    untagged = panel.model.rowCount()
    assert 0 < untagged < total
    assert set(panel.model.frame["rule_id"]) == {"cable_untagged"}
    panel.set_filter("severity", "info")
    assert panel.model.rowCount() == 0  # no untagged cable is "info"
    panel.set_filter("severity", None)
    operator = panel.model.frame["operator_code"].iloc[0]
    panel.set_filter("operator", operator)
    assert set(panel.model.frame["operator_code"]) == {operator}
    panel.set_filter("operator", None)

    # Clicking a finding on a pole attachment goes to its pole and shows it.
    _select(panel, 0)
    f = panel.selected_rows()[0]
    panel._clicked(panel.proxy.index(0, 0))
    shown = window.identify_panel.feature
    assert shown is not None and shown.table == "poles"
    assert panel.target_of(f) == ("poles", shown.uuid)

    # Dismiss with a reason, through the undo stack.
    uuid = f["uuid"]
    assert panel.change_status("dismissed", reason="Đã kiểm tra: thẻ bị che")
    with window.db.session() as s:
        status, note = s.execute(text("SELECT status, note FROM findings WHERE uuid = :u"), {"u": uuid}).one()
    assert status == "dismissed" and "thẻ bị che" in note
    window.editor.stack.undo()
    with window.db.session() as s:
        status = s.execute(text("SELECT status FROM findings WHERE uuid = :u"), {"u": uuid}).scalar()
    assert status == "open"
    row = panel.all.index[panel.all["uuid"] == uuid][0]
    assert panel.all.loc[row, "status"] == "open"  # the list followed the undo

    panel.set_filter("rule", None)
    window.resize(1400, 900)
    window.resizeDocks([panel], [330], Qt.Orientation.Vertical)
    panel.raise_()
    qtbot.wait(50)
    shot = os.environ.get("HATANG_FINDINGS_SHOT") or str(tmp_path / "findings_panel.png")
    assert window.grab().save(shot)


def test_status_needs_a_selection_and_a_writable_database(qtbot, window):
    panel = window.findings_panel
    panel.reload()
    assert not panel.change_status("confirmed")  # nothing selected
    assert "Chọn" in window.statusBar().currentMessage()


def test_hidden_panel_lists_findings_only_when_shown(window):
    """Opening a database must not pay for a list nobody sees (the GUI thread stays free)."""
    panel = window.findings_panel
    assert panel.isHidden()
    assert len(panel.all) == 0  # the window fixture opened the sample: nothing listed yet
    panel.show()
    assert len(panel.all) == panel.model.rowCount() > 0  # the sample's manual findings
