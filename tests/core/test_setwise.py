"""Set-wise writes (storage/setwise.py) against the same writes row by row through the triggers:
the same rows, the same change log (ids included) and the same R*Tree; the triggers intact after."""

from __future__ import annotations

import shutil

import pytest

from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.dialect import raw
from hatang_desktop.core.storage.setwise import RowByRow, SetWise, set_aside, writer

COLUMNS = ("uuid", "version", "updated_at", "updated_by", "source", "deleted", "rule_id", "target_table",
           "target_uuid", "severity", "status", "inspector", "found_on", "note", "lat", "lon", "commune_code")
STAMP = {"updated_at": ":now", "updated_by": ":by", "source": ":src", "version": "version + 1"}


def _uuid(k: int) -> str:
    return f"00000000-0000-4000-8000-{k:012d}"


def _new_rows(commune: str, start: int, n: int) -> list[tuple]:
    """Findings of every shape: with and without a position, a target, a commune, a note."""
    rows = []
    for k in range(start, start + n):
        placed = k % 5 != 0
        target = k % 7 != 0
        rows.append((_uuid(k), 1, "2026-12-01 08:00:00", "tester", "check", 0, f"rule_{k % 3}",
                     "sites" if target else None, _uuid(900000 + k) if target else None,
                     ("info", "warning", "violation")[k % 3], "open", None, "2026-12-01",
                     None if k % 4 == 0 else f"ghi chú {k}", 18.0 + k / 1000 if placed else None,
                     105.5 + k / 1000 if placed else None, commune if k % 2 else None))
    return rows


def _state(db: Database) -> dict:
    with db.session() as s:
        conn = raw(s)
        return {
            "findings": conn.execute("SELECT * FROM findings ORDER BY id").fetchall(),
            "change_log": conn.execute("SELECT * FROM change_log WHERE table_name = 'findings' ORDER BY id").fetchall(),
            "last_log_id": conn.execute("SELECT max(id) FROM change_log").fetchone()[0],
            "rtree": conn.execute("SELECT * FROM rtree_findings ORDER BY id").fetchall(),
            # Set aside and put back, a table's triggers keep their text and their order among
            # themselves (the order they fire in); their place among other tables' entries in
            # sqlite_master moves to the end, which nothing reads.
            "triggers": sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()),
            "order": [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                                 "AND tbl_name = 'findings' ORDER BY rowid")],
        }


def _writes(db: Database, use_setwise: bool, commune: str) -> None:
    """Inserts, then updates of logged, unlogged, spatial and tombstone columns, in batches."""
    with db.operation("insert", user="tester", source="check") as s:
        with writer(s, "findings", setwise=use_setwise) as out:
            assert isinstance(out, SetWise if use_setwise else RowByRow)
            assert out.insert(COLUMNS, _new_rows(commune, 1, 60)) == 60
    with db.session() as s:
        ids = [r[0] for r in raw(s).execute("SELECT id FROM findings ORDER BY id").fetchall()]
    stamp = ("2026-12-02 09:00:00", "inspector", "device:x")
    with db.operation("updates", user="tester", source="check") as s:
        with writer(s, "findings", setwise=use_setwise) as out:
            note = {"note": "CASE WHEN coalesce(note, '') = '' THEN :line ELSE note || '\n' || :line END",
                    "status": "'resolved'", **STAMP}
            # In an order other than the ids', and some rows whose note is empty.
            out.update(note, ("line", "now", "by", "src"),
                       [(i, f"dòng {i}", *stamp) for i in reversed(ids[::3])])
            # Moved (the R*Tree follows), one to no position at all.
            out.update({"lat": ":lat", "lon": ":lon", **STAMP}, ("lat", "lon", "now", "by", "src"),
                       [(ids[1], 19.25, 106.5, *stamp), (ids[4], None, None, *stamp), (ids[7], 18.001, 105.501, *stamp)])
            # Tombstoned (logged as deletes, gone from the R*Tree), and a value set to what it was.
            out.update({"deleted": "1", "severity": "severity", **STAMP}, ("now", "by", "src"),
                       [(i, *stamp) for i in ids[10:16]])
    with db.operation("restore", user="tester", source="check") as s:
        with writer(s, "findings", setwise=use_setwise) as out:
            out.update({"deleted": "0", **STAMP}, ("now", "by", "src"), [(i, *stamp) for i in ids[12:14]])


@pytest.fixture
def two_copies(sample_db_path, tmp_path):
    other = tmp_path / "other.db"
    shutil.copyfile(sample_db_path, other)
    with Database.open(sample_db_path) as a, Database.open(other) as b:
        yield a, b


def _commune(db: Database) -> str:
    with db.session() as s:
        return raw(s).execute("SELECT code FROM admin_units WHERE level = 'commune' ORDER BY code").fetchone()[0]


def test_setwise_writes_as_the_triggers_do(two_copies):
    by_row, by_set = two_copies
    before = _state(by_set)
    commune = _commune(by_row)
    _writes(by_row, False, commune)
    _writes(by_set, True, commune)
    expected, got = _state(by_row), _state(by_set)
    assert len(expected["findings"]) == len(before["findings"]) + 60
    assert len(expected["rtree"]) > len(before["rtree"]) + 30
    actions = {r[4] for r in expected["change_log"]}
    assert actions == {"insert", "update", "delete", "restore"}
    assert got == expected
    assert (got["triggers"], got["order"]) == (before["triggers"], before["order"])


def test_a_failed_block_rolls_back_and_keeps_the_triggers(sample_db_path):
    with Database.open(sample_db_path) as db:
        before = _state(db)
        with pytest.raises(ZeroDivisionError):
            with db.operation("fails", user="tester") as s, set_aside(s, "findings") as out:
                out.insert(COLUMNS, _new_rows(_commune(db), 1, 5))
                1 / 0
        assert _state(db) == before
        # The triggers fire again for the next writer.
        with db.operation("one", user="tester", source="check") as s:
            RowByRow(s, "findings").insert(COLUMNS, _new_rows(_commune(db), 1, 1))
        after = _state(db)
        assert [r[4] for r in after["change_log"][len(before["change_log"]):]] == ["insert"]
        assert len(after["rtree"]) == len(before["rtree"]) + 1


def test_triggers_not_made_here_are_left_to_fire(sample_db_path):
    """A table with a trigger this version did not make (a user's own, another version's) is
    written row by row: its trigger fires for every row."""
    with Database.open(sample_db_path) as db:
        with db.operation("own trigger", user="tester") as s:
            raw(s).execute("CREATE TABLE seen (uuid TEXT)")
            raw(s).execute("CREATE TRIGGER mine AFTER INSERT ON findings BEGIN "
                           "INSERT INTO seen VALUES (NEW.uuid); END")
        with db.operation("insert", user="tester", source="check") as s:
            with set_aside(s, "findings") as out:
                assert out is None
            with writer(s, "findings") as out:
                assert isinstance(out, RowByRow)
                out.insert(COLUMNS, _new_rows(_commune(db), 1, 3))
        with db.session() as s:
            assert raw(s).execute("SELECT count(*) FROM seen").fetchone()[0] == 3


def test_a_large_batch_packs_the_rtree_with_the_same_entries(two_copies, monkeypatch):
    """A batch as large as the R*Tree already is packs the tree in one pass (rtree_bulk): the
    same entries as the triggers' one insert each, a tree SQLite's own check passes, the same
    answers to a box query, and later edits through the triggers on it as on any tree."""
    from hatang_desktop.core.storage import rtree_bulk

    by_row, by_set = two_copies
    commune = _commune(by_row)
    with by_set.session() as s:
        held = raw(s).execute("SELECT count(*) FROM rtree_findings").fetchone()[0]
    n = max(rtree_bulk.MIN_ENTRIES, held) * 5 // 4 + 400   # a fifth of the rows have no position
    packed = []
    real_fill = rtree_bulk.fill
    monkeypatch.setattr(rtree_bulk, "fill", lambda *a: packed.append(real_fill(*a)) or packed[-1])
    for db, use_setwise in ((by_row, False), (by_set, True)):
        with db.operation("insert", user="tester", source="check") as s:
            with writer(s, "findings", setwise=use_setwise) as out:
                assert out.insert(COLUMNS, _new_rows(commune, 1, n)) == n
    assert packed == [True]
    expected, got = _state(by_row), _state(by_set)
    assert len(got["rtree"]) >= held + n * 3 // 4
    assert got == expected
    box = "SELECT id FROM rtree_findings WHERE max_x >= 106 AND min_x <= 107.5 AND max_y >= 18.5 AND min_y <= 20 ORDER BY id"
    for db in (by_row, by_set):
        with db.session() as s:
            assert raw(s).execute("SELECT rtreecheck('rtree_findings')").fetchone()[0] == "ok"
            assert [r[0] for r in raw(s).execute(box)] == [r[0] for r in raw(s).execute(
                "SELECT id FROM findings WHERE deleted = 0 AND lon BETWEEN 106 AND 107.5 "
                "AND lat BETWEEN 18.5 AND 20 ORDER BY id")]
    # Moved, tombstoned and restored through the triggers after the tree was packed.
    stamp = ("2026-12-02 09:00:00", "inspector", "device:x")
    for db in (by_row, by_set):
        with db.session() as s:
            ids = [r[0] for r in raw(s).execute("SELECT id FROM findings WHERE lat IS NOT NULL ORDER BY id")]
        with db.operation("edits", user="tester", source="check") as s:
            out = RowByRow(s, "findings")
            out.update({"lat": ":lat", "lon": ":lon", **STAMP}, ("lat", "lon", "now", "by", "src"),
                       [(i, 19.0 + k / 1e4, 106.0 + k / 1e4, *stamp) for k, i in enumerate(ids[::7])])
            out.update({"deleted": "1", **STAMP}, ("now", "by", "src"), [(i, *stamp) for i in ids[::3]])
            out.update({"deleted": "0", **STAMP}, ("now", "by", "src"), [(i, *stamp) for i in ids[::6]])
    assert _state(by_set)["rtree"] == _state(by_row)["rtree"]
    with by_set.session() as s:
        assert raw(s).execute("SELECT rtreecheck('rtree_findings')").fetchone()[0] == "ok"
