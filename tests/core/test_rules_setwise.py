"""The check's findings stored set-wise give what storing them row by row through the triggers
gives: a first check, then re-runs after edits (findings closed, new ones, reopened ones, a
severity changed in the rules, per-commune counts moved), on two copies of the sample.

The clock and the new findings' UUIDs are fixed for both copies, so nothing may differ: every
findings row, every change-log row (ids included) and the R*Tree. In a real run only the UUIDs
and times would differ between two such runs.

Also the check's other fast paths against the careful way: messages formatted per distinct value
against each filled in row by row, per-commune grouping against a pandas groupby."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import uuid as uuidlib

import pytest

from hatang_desktop.core import changes as logged_changes
from hatang_desktop.core.rules import load_rules, set_status, store
from hatang_desktop.core.rules.engine import evaluate
from hatang_desktop.core.rules.store import new_uuids, reconcile
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.dialect import raw

EDIT_TIME = "2026-12-03 10:00:00"


@pytest.fixture
def fixed(monkeypatch):
    """The same clock and the same new UUIDs for every run (sorted, as new_uuids hands them out)."""
    made = {"next": 1}

    def uuids(n: int) -> list[str]:
        start, made["next"] = made["next"], made["next"] + n
        return [f"00000000-0000-4000-8000-{k:012d}" for k in range(start, start + n)]

    monkeypatch.setattr(store, "new_uuids", uuids)
    monkeypatch.setattr(store, "utcnow", lambda: "2026-12-02 08:00:00")
    monkeypatch.setattr(store, "_today", lambda: "2026-12-02")
    return made


def _state(db: Database) -> dict:
    with db.session() as s:
        conn = raw(s)
        return {"findings": conn.execute("SELECT * FROM findings ORDER BY id").fetchall(),
                "change_log": conn.execute("SELECT * FROM change_log ORDER BY id").fetchall(),
                "rtree": conn.execute("SELECT * FROM rtree_findings ORDER BY id").fetchall()}


def _check(db: Database, rules, setwise: bool):
    selected = list(rules)
    result = reconcile(db, evaluate(db, selected), selected, user="tester", setwise=setwise)
    return result.as_dict(), logged_changes.changes_of_operation(db, result.operation_id)


def _sql(db: Database, sql: str, params=()) -> None:
    with db.operation("test edit", user="tester", source="test") as s:
        raw(s).execute(sql, params)


def _targets(db: Database, rule: str, n: int) -> list[str]:
    with db.session() as s:
        return [r[0] for r in raw(s).execute("SELECT target_uuid FROM findings WHERE rule_id = ? AND status = 'open' "
                                             "ORDER BY id LIMIT ?", (rule, n))]


def _edits(db: Database, round_: int, fixed_cables: list[str], gone_sites: list[str]) -> None:
    """The same edits on either copy (the picks are the same: the copies are equal)."""
    stamp = f", updated_at = '{EDIT_TIME}', updated_by = 'tester', source = 'test', version = version + 1"
    marks = lambda xs: ",".join("?" * len(xs))  # noqa: E731
    if round_ == 1:
        # Fixed on site: their findings close. Broken: new findings. Sites gone: theirs close and
        # the per-commune count of sites without a photo moves.
        _sql(db, f"UPDATE pole_attachments SET tagged = 1{stamp} WHERE uuid IN ({marks(fixed_cables)})", fixed_cables)
        _sql(db, f"UPDATE pole_attachments SET tagged = 0{stamp} WHERE uuid IN (SELECT uuid FROM pole_attachments "
                 "WHERE deleted = 0 AND tagged = 1 ORDER BY id LIMIT 12)")
        _sql(db, f"UPDATE sites SET deleted = 1{stamp} WHERE uuid IN ({marks(gone_sites)})", gone_sites)
    else:
        # Broken again after the check closed them: reopened.
        _sql(db, f"UPDATE pole_attachments SET tagged = 0{stamp} WHERE uuid IN ({marks(fixed_cables)})", fixed_cables)
        _sql(db, f"UPDATE sites SET deleted = 0{stamp} WHERE uuid IN ({marks(gone_sites)})", gone_sites)


def _photoless_sites(db: Database, n: int) -> list[str]:
    with db.session() as s:
        return [r[0] for r in raw(s).execute(
            "SELECT uuid FROM sites WHERE deleted = 0 AND status <> 'to_verify' AND uuid NOT IN "
            "(SELECT owner_uuid FROM photos WHERE deleted = 0) ORDER BY id LIMIT ?", (n,))]


def test_setwise_store_matches_row_by_row(sample_db_path, tmp_path, fixed, monkeypatch):
    used = []
    original = store.writer

    @contextlib.contextmanager
    def spy(*args, **kwargs):
        with original(*args, **kwargs) as out:
            used.append(type(out).__name__)
            yield out

    monkeypatch.setattr(store, "writer", spy)
    other = tmp_path / "by_row.db"
    shutil.copyfile(sample_db_path, other)
    rules = load_rules()
    # From the second run on, one severity changed in the rule file.
    lowered = dataclasses.replace(rules["cable_too_low"], severity="info")
    rules2 = dataclasses.replace(rules, rules={**rules.rules, "cable_too_low": lowered})
    with Database.open(sample_db_path) as by_set, Database.open(other) as by_row:
        pair = ((by_row, False), (by_set, True))

        def both(ruleset) -> dict:
            results, start = [], fixed["next"]
            for db, setwise in pair:
                fixed["next"] = start  # the same new UUIDs in either copy
                results.append(_check(db, ruleset, setwise))
            assert _state(by_set) == _state(by_row)
            assert results[0] == results[1]
            return results[0][0]

        first = both(rules)
        # The copies are equal: what is picked in one is picked in the other.
        cables = _targets(by_row, "cable_untagged", 10)
        sites = _targets(by_row, "site_record_incomplete", 2) + _photoless_sites(by_row, 3)
        with by_row.session() as s:
            dismissed = [u for (u,) in raw(s).execute("SELECT uuid FROM findings WHERE rule_id = 'cable_abandoned' "
                                                      "ORDER BY id LIMIT 2")]
        for db, _ in pair:
            set_status(db, dismissed, "dismissed", reason="Đã kiểm tra tại chỗ", user="tester")
            _edits(db, 1, cables, sites)
        second = both(rules2)
        for db, _ in pair:
            _edits(db, 2, cables, sites)
        third = both(rules2)
        assert first["new"] > 500 and first["resolved"] == 0
        assert second["new"] >= 12 and second["resolved"] >= 12
        assert third["reopened"] >= 12
        logged = [r for r in _state(by_set)["change_log"] if r[2] == "findings" and r[4] == "update"]
        assert {"severity", "note", "status"} <= {r[5] for r in logged}
        assert any("Cập nhật" in (r[7] or "") for r in logged if r[5] == "note")  # a per-commune count moved
        with by_set.session() as s:
            kept = raw(s).execute("SELECT DISTINCT status FROM findings WHERE uuid IN (?, ?)", dismissed).fetchall()
        assert kept == [("dismissed",)]
    assert used == ["RowByRow", "SetWise"] * 3  # each copy written its own way


def test_new_uuids_are_random_version_4_in_order():
    made = new_uuids(2000)
    assert made == sorted(made) and len(set(made)) == 2000
    assert all(uuidlib.UUID(u).version == 4 and str(uuidlib.UUID(u)) == u for u in made)
    assert new_uuids(0) == [] and new_uuids(3) != new_uuids(3)


def _careful_message(hit, i: int, lang: str) -> str:
    """Row i's message, each placeholder filled on its own from that row (the way it was done row
    by row before messages were formatted per distinct value)."""
    from hatang_desktop.core.forms import load_forms
    from hatang_desktop.core.rules.engine import _PLACEHOLDER, _format, _number
    from hatang_desktop.core.rules.records import RECORDS

    rule, frame, row, ev = hit.rule, hit.source, hit.rows[i], hit.evaluation
    spec = RECORDS[rule.record]

    def value(name: str) -> str:
        if name in spec.fields:
            f = spec.fields[name]
            return _format(frame[name].to_numpy()[row], f.kind, load_forms().lists.get(f.values) if f.values else None, lang)
        if name.startswith("params."):
            pname = name.split(".", 1)[1]
            v, p = rule.values[pname], rule.parameters[pname]
            if p.keyed_by:
                return _format(v.get(frame[p.keyed_by].to_numpy()[row]), None, None, lang)
            return ", ".join(map(str, v)) if isinstance(v, list) else _format(v, None, None, lang)
        if name == "matched":
            return ", ".join(label[lang] for label, mask in ev.labelled if mask[row])
        if name == "record":
            return str(frame["_label"].to_numpy()[row])
        if name.endswith(".distance_m"):
            return _number(round(float(ev.extras[name][row]), 1), lang)
        return _format(ev.extras[name][row], None, None, lang)

    return _PLACEHOLDER.sub(lambda m: value(m.group(1)), rule.message[lang])


def test_messages_equal_the_row_by_row_rendering(sample_db_path):
    from hatang_desktop.core.rules import engine

    with Database.open(sample_db_path, readonly=True) as db:
        ev = engine.evaluate(db, list(load_rules()))
    checked = set()
    for hit in ev.hits:
        if hit.members is not None or not len(hit.frame):
            continue
        for lang in ("vi", "en"):
            assert hit.notes(range(len(hit.frame)), lang) == [_careful_message(hit, i, lang)
                                                               for i in range(len(hit.frame))], hit.rule.id
        checked.add(hit.rule.id)
    assert len(checked) >= 12


def test_per_commune_groups_as_a_groupby_makes_them(sample_db_path):
    """Each commune's finding lists its records in frame order; records with no commune, or one not
    in the database, make one finding without a commune, first."""
    from hatang_desktop.core.rules import engine

    rules = [r for r in load_rules() if r.aggregate]
    with Database.open(sample_db_path, readonly=True) as db:
        ctx = engine.Context(db, rules)
        frame = ctx.frame(rules[0].record)[["_uuid", "_lat", "_lon", "_commune", "_label", "_operator"]].copy()
        units = ctx.units()
    frame.loc[frame.index[:3], "_commune"] = None
    frame.loc[frame.index[3:5], "_commune"] = "99999"
    grouped = engine.group_by_commune(engine.Hits(rules[0], frame.reset_index(drop=True)), units)
    known = set(units.loc[units["level"] == "commune", "code"])
    key = frame["_commune"].where(frame["_commune"].isin(known), "").fillna("")
    expected = {code: list(part["_label"].astype(str)) for code, part in frame.groupby(key, sort=True)}
    assert list(grouped.frame["_commune"].fillna("")) == list(expected)
    assert [list(m) for m in grouped.members] == list(expected.values())
    assert grouped.frame["_uuid"].iloc[0] == engine.COMMUNE_KEY and grouped.records == len(frame)
    centres = units.set_index("code")
    row = grouped.frame.iloc[1]
    assert (row["_lat"], row["_lon"], row["_label"]) == tuple(centres.loc[row["_commune"], ["lat", "lon", "name"]])
