"""The findings workflow: re-runs, auto-resolve, dismissals, manual findings, scope, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.model import PoleAttachment
from hatang_desktop.core.rules import (MANUAL_RULE, add_manual_finding, list_findings, run_check, select_findings,
                                      set_status, shown_record)
from hatang_desktop.core.storage.database import Database

from .rules_helpers import Builder, communes, province_template, rules_db  # noqa: F401 (fixtures)


@pytest.fixture
def two(rules_db):
    a, b = communes(rules_db, 2)
    return Builder(rules_db, a), Builder(rules_db, b)


def findings(db, **where) -> list[dict]:
    clause = " AND ".join(f"{k} = :{k}" for k in where) or "1"
    with db.session() as s:
        return [dict(r._mapping) for r in s.execute(text(f"SELECT * FROM findings WHERE {clause}"), where)]


def test_rerun_does_not_duplicate_and_is_logged(two):
    b, _ = two
    _, att = b.pole(0, tagged=False)
    first = run_check(b.db, rule_ids=["cable_untagged"])
    again = run_check(b.db, rule_ids=["cable_untagged"])
    assert (first.changes.new, again.changes.new, again.changes.unchanged) == (1, 0, 1)
    rows = findings(b.db, target_uuid=att)
    assert len(rows) == 1 and rows[0]["source"] == "check" and rows[0]["inspector"] is None
    assert rows[0]["commune_code"] == b.code and rows[0]["lat"] is not None
    with b.db.session() as s:
        logged = s.execute(text("SELECT action, source FROM change_log WHERE record_uuid = :u"),
                           {"u": rows[0]["uuid"]}).all()
    assert [tuple(r) for r in logged] == [("insert", "check")]


def test_fixed_record_is_auto_resolved_with_the_date_and_reopened_when_broken_again(two):
    b, _ = two
    _, att = b.pole(0, tagged=False)
    run_check(b.db, rule_ids=["cable_untagged"])
    first = findings(b.db, target_uuid=att)[0]
    uuid = first["uuid"]
    b.update(PoleAttachment, att, tagged=True)
    result = run_check(b.db, rule_ids=["cable_untagged"])
    row = findings(b.db, uuid=uuid)[0]
    assert result.changes.resolved == 1 and row["status"] == "resolved"
    assert "Tự động đóng" in row["note"] and "/20" in row["note"]  # dated dd/mm/yyyy
    # The first message stays; the closing line is appended below it.
    lines = row["note"].split("\n")
    assert lines[0] == first["note"] and len(lines) == 2 and lines[1].startswith("[")
    b.update(PoleAttachment, att, tagged=False)
    result = run_check(b.db, rule_ids=["cable_untagged"])
    rows = findings(b.db, target_uuid=att)
    assert result.changes.reopened == 1 and len(rows) == 1 and rows[0]["status"] == "open"
    lines = rows[0]["note"].split("\n")
    assert lines[:2] == row["note"].split("\n") and len(lines) == 3 and "Mở lại: " + first["note"] in lines[2]


def test_dismissed_stays_dismissed_with_its_reason(two):
    b, _ = two
    _, att = b.pole(0, tagged=False)
    run_check(b.db, rule_ids=["cable_untagged"])
    uuid = findings(b.db, target_uuid=att)[0]["uuid"]
    with pytest.raises(InvalidInputError):
        set_status(b.db, [uuid], "dismissed")  # a dismissal needs a reason
    set_status(b.db, [uuid], "dismissed", reason="Thẻ bị che, đã kiểm tra tại chỗ")
    for _ in range(2):
        run_check(b.db, rule_ids=["cable_untagged"])
        rows = findings(b.db, target_uuid=att)
        assert len(rows) == 1 and rows[0]["status"] == "dismissed"
        assert "Thẻ bị che, đã kiểm tra tại chỗ" in rows[0]["note"]
    b.update(PoleAttachment, att, tagged=True)  # even once the data says fixed
    run_check(b.db, rule_ids=["cable_untagged"])
    assert findings(b.db, uuid=uuid)[0]["status"] == "dismissed"


def test_inspector_resolution_and_confirmation_are_kept(two):
    b, _ = two
    _, att1 = b.pole(0, tagged=False)
    _, att2 = b.pole(50, tagged=False)
    run_check(b.db, rule_ids=["cable_untagged"])
    f1, f2 = findings(b.db, target_uuid=att1)[0]["uuid"], findings(b.db, target_uuid=att2)[0]["uuid"]
    set_status(b.db, [f1], "resolved", reason="Doanh nghiệp đã gắn thẻ")
    set_status(b.db, [f2], "confirmed")
    run_check(b.db, rule_ids=["cable_untagged"])
    assert findings(b.db, uuid=f1)[0]["status"] == "resolved"  # not reopened over the inspector
    assert findings(b.db, uuid=f2)[0]["status"] == "confirmed"
    with b.db.session() as s:
        log = s.execute(text("SELECT field, old_value, new_value FROM change_log WHERE record_uuid = :u "
                             "AND field = 'status'"), {"u": f2}).all()
    assert [tuple(r) for r in log] == [("status", "open", "confirmed")]


def test_manual_findings_are_left_alone_and_not_duplicated(two):
    b, _ = two
    pole, att = b.pole(0, tagged=False)
    other = add_manual_finding(b.db, "poles", pole, note="Cột nghiêng", inspector="Thanh tra A")
    same = add_manual_finding(b.db, "pole_attachments", att, rule_id="cable_untagged", note="Thấy tại chỗ")
    with pytest.raises(InvalidInputError):
        add_manual_finding(b.db, "poles", pole, rule_id="no_such_rule")
    run_check(b.db, rule_ids=["cable_untagged"])
    assert len(findings(b.db, target_uuid=att)) == 1  # the inspector's finding covers the breach
    b.update(PoleAttachment, att, tagged=True)
    run_check(b.db)
    assert findings(b.db, uuid=same)[0]["status"] == "open"  # only the inspector closes it
    row = findings(b.db, uuid=other)[0]
    assert (row["rule_id"], row["status"], row["inspector"], row["severity"]) == (
        "other", "open", "Thanh tra A", "violation")
    assert row["commune_code"] == b.code and row["lat"] is not None


def test_findings_filtered_as_the_panel_filters_them_and_shown_on_their_record(two):
    a, b = two
    pole_a, att_a = a.pole(0, tagged=False)
    _, att_b = b.pole(0, tagged=False)
    run_check(a.db, rule_ids=["cable_untagged"])
    manual = add_manual_finding(a.db, "poles", pole_a, note="Cột nghiêng")
    [dismissed] = [f["uuid"] for f in findings(a.db, target_uuid=att_b)]
    set_status(a.db, [dismissed], "dismissed", reason="Đã gỡ")
    frame = list_findings(a.db)

    def uuids(**chosen) -> set[str]:
        return set(select_findings(frame, **chosen)["uuid"])

    assert uuids() == set(frame["uuid"]) and len(frame) == 3
    assert uuids(rule=MANUAL_RULE) == {manual}
    assert uuids(rule="cable_untagged", status="active") == {f["uuid"] for f in findings(a.db, target_uuid=att_a)}
    assert uuids(status="dismissed") == {dismissed}
    assert uuids(commune=b.code) == {dismissed}
    assert uuids(commune=b.code, status="active") == set()
    assert uuids(operator="") == {manual}  # a finding on a bare pole names no operator
    assert select_findings(frame.iloc[0:0], rule=MANUAL_RULE).empty
    # A finding on a cable is shown on the pole that carries it; others on their own record.
    assert shown_record(a.db, "pole_attachments", att_a) == ("poles", pole_a)
    assert shown_record(a.db, "poles", pole_a) == ("poles", pole_a)
    assert shown_record(a.db, "pole_attachments", "no-such-uuid") == ("pole_attachments", "no-such-uuid")


def test_commune_scope_leaves_other_communes_alone(two):
    a, b = two
    _, att_a = a.pole(0, tagged=False)
    _, att_b = b.pole(0, tagged=False)
    run_check(a.db, rule_ids=["cable_untagged"])
    a.update(PoleAttachment, att_b, tagged=True)
    result = run_check(a.db, rule_ids=["cable_untagged"], commune=a.code)
    assert result.changes.resolved == 0  # b's finding is outside the scope
    assert findings(a.db, target_uuid=att_b)[0]["status"] == "open"
    frame = list_findings(a.db, commune=a.code)
    assert set(frame["target_uuid"]) == {att_a}
    with pytest.raises(InvalidInputError):
        run_check(a.db, commune="99999")


def test_check_finds_the_samples_rule_breakers(sample_db_path):
    """The sample generator plants a few breakers ("Mẫu vi phạm" in the note). Each one that the
    rule's own words cover is found: a rooftop mast still standing; a tower with a lone ground
    tower of another operator within 100 m (checked here pair by pair, without the index)."""
    from .rules_helpers import GEOD

    ground = ("ground_tower", "guyed_mast", "camouflaged")
    with Database.open(sample_db_path) as db:
        run_check(db)
        with db.session() as s:
            sites = [dict(r._mapping) for r in s.execute(text(
                "SELECT s.uuid, s.operator_code, s.lon, s.lat, s.tower_type, s.status, s.note, "
                "(SELECT count(DISTINCT operator_code) FROM site_tenants t WHERE t.site_uuid = s.uuid "
                "AND t.deleted = 0) AS n FROM sites s WHERE s.deleted = 0"))]
            found = {(r[0], r[1]) for r in s.execute(text(
                "SELECT target_uuid, rule_id FROM findings WHERE status = 'open'"))}
        lone = [x for x in sites if x["tower_type"] in ground and x["status"] == "operating" and x["n"] < 2]
        checked = 0
        for site in (x for x in sites if (x["note"] or "").startswith("Mẫu vi phạm")):
            if "mái" in site["note"]:
                expected = site["status"] != "dismantled"
                assert ((site["uuid"], "rooftop_mast_without_permit") in found) == expected
            else:
                near = [o for o in lone if o["operator_code"] != site["operator_code"] and
                        GEOD.inv(site["lon"], site["lat"], o["lon"], o["lat"])[2] < 100]
                expected = site in lone and bool(near)
                assert ((site["uuid"], "towers_should_share") in found) == expected
            checked += expected
        assert checked >= 4
        counts = run_check(db).changes
        assert counts.new == 0 and counts.resolved == 0


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang_desktop.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_check_json_counts_and_list(two, tmp_path):
    b, _ = two
    b.pole(0, tagged=False, spare_cable_m=12.0)
    b.db.close()
    out = _cli("check", b.db.path, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["counts"]["by_rule"]["cable_untagged"]["open"] == 1
    assert doc["counts"]["by_rule"]["spare_cable_too_long"]["open"] == 1
    assert doc["counts"]["by_severity"] == {"violation": 1, "warning": 1, "info": 0}
    assert {f["rule_id"] for f in doc["findings"]} == {"cable_untagged", "spare_cable_too_long"}
    assert doc["changes"]["new"] == 2 and len(doc["rules"]) >= 14
    only = json.loads(_cli("check", b.db.path, "--json", "--rule", "cable_untagged").stdout)
    assert [r["id"] for r in only["rules"]] == ["cable_untagged"] and len(only["findings"]) == 1
    bad = _cli("check", b.db.path, "--rule", "nope")
    assert bad.returncode == 2 and "nope" in bad.stderr and bad.stdout == ""


def test_status_change_is_undoable(two):
    from hatang_desktop.core.undo import undo_operation

    b, _ = two
    _, att = b.pole(0, tagged=False)
    run_check(b.db, rule_ids=["cable_untagged"])
    before = findings(b.db, target_uuid=att)[0]
    result = set_status(b.db, [before["uuid"]], "dismissed", reason="Nhầm cột")
    assert result.changed and findings(b.db, uuid=before["uuid"])[0]["status"] == "dismissed"
    undo_operation(b.db, result.operation_id)
    undone = findings(b.db, uuid=before["uuid"])[0]
    assert (undone["status"], undone["note"]) == (before["status"], before["note"])
    assert not set_status(b.db, [before["uuid"]], "open").changed  # already open: nothing written


def test_sql_prefilter_changes_no_result(sample_db_path, monkeypatch):
    """Fetching only the rows some rule might flag gives the same findings and messages as
    evaluating every row."""
    from hatang_desktop.core.rules import engine, load_rules

    rules = list(load_rules())
    with Database.open(sample_db_path, readonly=True) as db:
        narrowed = engine.evaluate(db, rules)
        assert engine.Context(db, rules).prefilter.get("pole_attachments")  # it is in use
        original = engine.Context.__init__

        def everything(self, db, rules):
            original(self, db, rules)
            self.prefilter = {}

        monkeypatch.setattr(engine.Context, "__init__", everything)
        full = engine.evaluate(db, rules)
    assert narrowed.total() == full.total() > 0
    for a, b in zip(narrowed.hits, full.hits):
        notes_a = dict(zip(a.frame["_uuid"], a.notes(range(len(a.frame)))))
        notes_b = dict(zip(b.frame["_uuid"], b.notes(range(len(b.frame)))))
        assert notes_a == notes_b, a.rule.id
