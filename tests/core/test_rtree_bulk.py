"""rtree_bulk: an R*Tree packed in one pass holds what SQLite's own inserts would have stored,
in a tree SQLite's `rtreecheck()` passes and its own code goes on editing."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from hatang_desktop.core.storage import rtree_bulk


def _tree(path=":memory:") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE VIRTUAL TABLE rt USING rtree(id, min_x, max_x, min_y, max_y)")
    return conn


def _boxes(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    # Points and boxes, some negative, most not exact in float32 (so each is rounded outward).
    x0 = rng.uniform(-180, 180, n)
    y0 = rng.uniform(-90, 90, n)
    w = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0, 0.01, n))
    return np.arange(1, n + 1) * 7, x0, x0 + w, y0, y0 + w / 2


def _inserted(ids, x0, x1, y0, y1) -> sqlite3.Connection:
    conn = _tree()
    conn.executemany("INSERT INTO rt VALUES (?, ?, ?, ?, ?)",
                     zip(ids.tolist(), x0.tolist(), x1.tolist(), y0.tolist(), y1.tolist()))
    return conn


def _all(conn):
    return conn.execute("SELECT * FROM rt ORDER BY id").fetchall()


def _query(conn, x0, x1, y0, y1):
    return [r[0] for r in conn.execute("SELECT id FROM rt WHERE max_x >= ? AND min_x <= ? AND max_y >= ? "
                                       "AND min_y <= ? ORDER BY id", (x0, x1, y0, y1))]


@pytest.mark.parametrize("n", [rtree_bulk.MIN_ENTRIES, 2 * 51 * 51 + 1, 51 ** 3 + 1])
def test_packed_tree_holds_what_inserts_store(n):
    boxes = _boxes(n)
    expected = _inserted(*boxes)
    packed = _tree()
    packed.execute("BEGIN")
    assert rtree_bulk.fill(packed, "rt", *boxes)
    packed.execute("COMMIT")
    assert _all(packed) == _all(expected)   # the same float32 rounding, entry by entry
    assert packed.execute("SELECT rtreecheck('rt')").fetchone() == ("ok",)
    depth = packed.execute("SELECT substr(data, 1, 2) FROM rt_node WHERE nodeno = 1").fetchone()[0]
    assert int.from_bytes(depth, "big") == (3 if n > 51 ** 3 else 2)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = rng.uniform(-180, 170), rng.uniform(-90, 80)
        window = (x, x + rng.uniform(0.1, 10), y, y + rng.uniform(0.1, 10))
        assert _query(packed, *window) == _query(expected, *window)
    # SQLite's own code edits the packed tree afterwards: deletes (nodes emptied and condensed),
    # inserts (full nodes split), moves.
    for conn in (packed, expected):
        conn.execute("DELETE FROM rt WHERE id % 3 = 0")
        conn.executemany("INSERT INTO rt VALUES (?, ?, ?, ?, ?)",
                         [(10**9 + k, 10 + k / 1e3, 10 + k / 1e3, 20, 20.5) for k in range(3000)])
        conn.execute("UPDATE rt SET min_x = min_x + 1, max_x = max_x + 1 WHERE id % 5 = 0")
    assert _all(packed) == _all(expected)
    assert packed.execute("SELECT rtreecheck('rt')").fetchone() == ("ok",)


def test_a_tree_holding_fewer_entries_is_rebuilt_with_them():
    ids, x0, x1, y0, y1 = _boxes(9000)
    conn = _inserted(ids[:3000], x0[:3000], x1[:3000], y0[:3000], y1[:3000])
    conn.execute("BEGIN")
    assert rtree_bulk.fill(conn, "rt", ids[3000:], x0[3000:], x1[3000:], y0[3000:], y1[3000:])
    conn.execute("COMMIT")
    assert _all(conn) == _all(_inserted(ids, x0, x1, y0, y1))
    assert conn.execute("SELECT rtreecheck('rt')").fetchone() == ("ok",)


def test_when_it_does_not_pay_nothing_is_written():
    ids, x0, x1, y0, y1 = _boxes(12000)
    small = _tree()
    assert not rtree_bulk.fill(small, "rt", ids[:100], x0[:100], x1[:100], y0[:100], y1[:100])
    assert _all(small) == []
    # More entries held than given: SQLite's inserts are cheaper than a rebuild.
    held = _inserted(ids[:7000], x0[:7000], x1[:7000], y0[:7000], y1[:7000])
    before = _all(held)
    assert not rtree_bulk.fill(held, "rt", ids[7000:], x0[7000:], x1[7000:], y0[7000:], y1[7000:])
    assert _all(held) == before


def test_an_inverted_box_is_left_to_sqlite_to_refuse():
    ids, x0, x1, y0, y1 = _boxes(6000)
    x1 = x1.copy()
    x1[10] = x0[10] - 1
    conn = _tree()
    assert not rtree_bulk.fill(conn, "rt", ids, x0, x1, y0, y1)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO rt VALUES (?, ?, ?, ?, ?)", (int(ids[10]), x0[10], x1[10], y0[10], y1[10]))


def test_a_refused_write_leaves_the_tree_as_it_was(tmp_path):
    """A connection that may not write the shadow tables (a defensive one; here a trigger that
    refuses, part-way through): the savepoint puts everything back, and fill says False."""
    ids, x0, x1, y0, y1 = _boxes(8000)
    conn = _tree(str(tmp_path / "t.db"))
    conn.executemany("INSERT INTO rt VALUES (?, ?, ?, ?, ?)", [(1, 0.5, 0.5, 1.5, 1.5), (2, 3, 4, 5, 6)])
    before = (_all(conn), conn.execute("SELECT * FROM rt_node").fetchall(),
              conn.execute("SELECT * FROM rt_rowid").fetchall())
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON rt_rowid WHEN NEW.rowid > 700 "
                 "BEGIN SELECT RAISE(ABORT, 'no'); END")
    conn.execute("BEGIN")
    assert not rtree_bulk.fill(conn, "rt", ids + 10, x0, x1, y0, y1)
    conn.execute("COMMIT")
    assert (_all(conn), conn.execute("SELECT * FROM rt_node").fetchall(),
            conn.execute("SELECT * FROM rt_rowid").fetchall()) == before
    assert conn.execute("SELECT rtreecheck('rt')").fetchone() == ("ok",)


def test_rounding_is_sqlites():
    values = np.array([0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 105.123456789, -105.123456789, 1e-40, -1e-40,
                       3.4e38, 16777217.0, -16777217.0])
    conn = _tree()
    conn.executemany("INSERT INTO rt VALUES (?, ?, ?, ?, ?)",
                     [(k, v, v, 0, 0) for k, v in enumerate(values.tolist())])
    stored = conn.execute("SELECT min_x, max_x FROM rt ORDER BY id").fetchall()
    assert rtree_bulk.rounded_down(values).astype(np.float64).tolist() == [r[0] for r in stored]
    assert rtree_bulk.rounded_up(values).astype(np.float64).tolist() == [r[1] for r in stored]


def test_a_tree_made_with_another_page_size_takes_its_node_size(tmp_path):
    """A file made elsewhere with 1 KiB pages (an older tool's default) has 960-byte nodes of 39
    cells: the packed tree takes the root's size, and SQLite reads and edits it."""
    path = tmp_path / "small_pages.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA page_size = 1024")
    conn.execute("CREATE VIRTUAL TABLE rt USING rtree(id, min_x, max_x, min_y, max_y)")
    assert conn.execute("SELECT length(data) FROM rt_node WHERE nodeno = 1").fetchone()[0] == 960
    boxes = _boxes(7000)
    conn.execute("BEGIN")
    assert rtree_bulk.fill(conn, "rt", *boxes)
    conn.execute("COMMIT")
    assert {n for (n,) in conn.execute("SELECT DISTINCT length(data) FROM rt_node")} == {960}
    assert _all(conn) == _all(_inserted(*boxes))
    conn.execute("DELETE FROM rt WHERE id % 4 = 0")
    conn.execute("INSERT INTO rt VALUES (1, 10, 11, 20, 21)")
    assert conn.execute("SELECT rtreecheck('rt')").fetchone() == ("ok",)
