"""An R*Tree filled in one pass: its nodes packed here and written as SQLite stores them.

SQLite's R*Tree has no bulk load: each INSERT walks down the tree, picks a leaf and splits
nodes on the way, all through its shadow tables (measured: ~14 µs an entry, 3.4 s for the 237k
findings of a national first check). GDAL fills a new GeoPackage's R*Tree the same way this
does (ogr_sqlite_rtree_bulk_load.c, also used by SpatiaLite): the tree made in memory, then its
nodes written straight into the `_node`, `_parent` and `_rowid` tables. Here the tree is packed
by Sort-Tile-Recursive (Leutenegger et al. 1997) with numpy: full nodes of neighbouring entries.

SQLite's format (ext/rtree/rtree.c), 2 dimensions: node 1 is the root; every node is a blob of
the size the root already has (page size - 64, at most 4 + 51 cells); it starts with the tree's
depth (root only, else 0) and its number of cells, both big-endian 16-bit, then per cell a
big-endian 64-bit integer (a row's id in a leaf, a child's node number above) and min_x, max_x,
min_y, max_y as big-endian 32-bit floats, each minimum rounded down and maximum up exactly as
SQLite rounds a double it is given. `_parent` names each node's parent, `_rowid` each row's
leaf. SQLite's own `rtreecheck()` passes on what this writes (tests), and later inserts,
updates and deletes go through SQLite's R*Tree code as on any tree.

Used only where it pays: a batch of new entries at least as large as the tree already is
(the tree is then rebuilt with both), written inside the caller's write transaction under a
savepoint. A connection that may not write shadow tables (SQLITE_DBCONFIG_DEFENSIVE) leaves
the tree as it was and `fill` says False: the caller inserts the entries itself.
"""

from __future__ import annotations

import itertools
import math
import sqlite3

import numpy as np

from .triggers import SPATIAL_TABLES, rtree_name

MIN_ENTRIES = 5_000   # below this SQLite's own inserts take well under 0.1 s
CELL_BYTES = 24       # 8-byte id + 4 coordinates of 4 bytes
RNDTOWARDS = 1.0 - 1.0 / 8388608.0   # rtree.c's rounding constants
RNDAWAY = 1.0 + 1.0 / 8388608.0
_CELL = np.dtype([("id", ">i8"), ("x0", ">f4"), ("x1", ">f4"), ("y0", ">f4"), ("y1", ">f4")])


def rounded_down(d: np.ndarray) -> np.ndarray:
    """float32 of each value, never above it (rtree.c's rtreeValueDown)."""
    d = np.asarray(d, dtype=np.float64)
    f = d.astype(np.float32)
    fix = f.astype(np.float64) > d
    if fix.any():
        v = d[fix]
        f[fix] = (v * np.where(v < 0, RNDAWAY, RNDTOWARDS)).astype(np.float32)
    return f


def rounded_up(d: np.ndarray) -> np.ndarray:
    """float32 of each value, never below it (rtree.c's rtreeValueUp)."""
    d = np.asarray(d, dtype=np.float64)
    f = d.astype(np.float32)
    fix = f.astype(np.float64) < d
    if fix.any():
        v = d[fix]
        f[fix] = (v * np.where(v < 0, RNDTOWARDS, RNDAWAY)).astype(np.float32)
    return f


def _packed_order(box: np.ndarray, capacity: int) -> np.ndarray:
    """Sort-Tile-Recursive: the entries in slices by x centre, each slice by y centre; cut into
    runs of `capacity` after this order, every run but the last is full and lies in one slice
    (a slice holds a whole number of runs)."""
    n = len(box)
    nodes = math.ceil(n / capacity)
    per_slice = math.ceil(math.sqrt(nodes)) * capacity
    cx = box[:, 0].astype(np.float64) + box[:, 1]
    cy = box[:, 2].astype(np.float64) + box[:, 3]
    by_x = np.lexsort((cy, cx))
    slice_of = np.empty(n, dtype=np.int64)
    slice_of[by_x] = np.arange(n) // per_slice
    return np.lexsort((cx, cy, slice_of))


class _Level:
    """One level of the tree: its entries in packed order, `keys` what each cell holds (row ids
    for the leaves, indices of the level below's nodes above them)."""

    def __init__(self, keys: np.ndarray, box: np.ndarray, capacity: int):
        order = _packed_order(box, capacity) if len(keys) > capacity else np.arange(len(keys))
        self.keys, self.box = keys[order], box[order]
        starts = np.arange(0, len(keys), capacity)
        self.counts = np.diff(np.append(starts, len(keys)))
        self.node_box = np.column_stack([np.minimum.reduceat(self.box[:, 0], starts),
                                         np.maximum.reduceat(self.box[:, 1], starts),
                                         np.minimum.reduceat(self.box[:, 2], starts),
                                         np.maximum.reduceat(self.box[:, 3], starts)])
        self.numbers = np.empty(0, dtype=np.int64)   # node numbers, given once every level exists

    def __len__(self) -> int:
        return len(self.counts)


def _levels(ids: np.ndarray, box: np.ndarray, capacity: int) -> list[_Level]:
    """Leaves first, the root last (one node)."""
    levels = [_Level(ids, box, capacity)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(_Level(np.arange(len(below), dtype=np.int64), below.node_box, capacity))
    return levels


def _blobs(level: _Level, cell_keys: np.ndarray, capacity: int, node_size: int, depth: int) -> list[bytes]:
    cells = np.zeros(len(level) * capacity, dtype=_CELL)
    n = len(level.keys)
    cells["id"][:n] = cell_keys
    for k, name in enumerate(("x0", "x1", "y0", "y1")):
        cells[name][:n] = level.box[:, k]
    out = np.zeros((len(level), node_size), dtype=np.uint8)
    out[:, 0:2] = np.frombuffer(np.array([depth], dtype=">u2").tobytes(), dtype=np.uint8)
    out[:, 2:4] = level.counts.astype(">u2").view(np.uint8).reshape(-1, 2)
    out[:, 4:4 + capacity * CELL_BYTES] = cells.view(np.uint8).reshape(len(level), capacity * CELL_BYTES)
    return [row.tobytes() for row in out]


def _node_size(conn, rtree: str) -> int | None:
    row = conn.execute(f"SELECT length(data) FROM {rtree}_node WHERE nodeno = 1").fetchone()
    return int(row[0]) if row and row[0] else None


def fill(conn, rtree: str, ids: np.ndarray, x0: np.ndarray, x1: np.ndarray, y0: np.ndarray,
         y1: np.ndarray) -> bool:
    """Add these entries (ids not in the tree yet; coordinates as doubles) to the 2-dimensional
    R*Tree `rtree`, rebuilding it with the entries it holds. False, with nothing written, when it
    does not pay (fewer new entries than `MIN_ENTRIES` or than the tree holds) or cannot be done:
    the caller then inserts them through SQLite."""
    n_new = len(ids)
    if n_new < MIN_ENTRIES:
        return False
    held = conn.execute(f"SELECT count(*) FROM {rtree}_rowid").fetchone()[0]
    node_size = _node_size(conn, rtree)
    if held > n_new or node_size is None:
        return False
    capacity = (node_size - 4) // CELL_BYTES
    box = np.column_stack([rounded_down(x0), rounded_up(x1), rounded_down(y0), rounded_up(y1)])
    if not ((box[:, 0] <= box[:, 1]) & (box[:, 2] <= box[:, 3])).all():
        return False   # SQLite refuses such an entry ("rtree constraint failed"): let it say so
    ids = np.asarray(ids, dtype=np.int64)
    if held:
        old = np.array(conn.execute(f"SELECT id, min_x, max_x, min_y, max_y FROM {rtree}").fetchall(),
                       dtype=np.float64).reshape(-1, 5)
        # Stored values are float32 already: rounding them again gives them back unchanged.
        ids = np.concatenate([old[:, 0].astype(np.int64), ids])
        box = np.concatenate([old[:, 1:].astype(np.float32), box])
    levels = _levels(ids, box, capacity)
    number = 1
    for level in reversed(levels):   # the root is node 1, then each level below in turn
        level.numbers = np.arange(number, number + len(level), dtype=np.int64)
        number += len(level)
    nodes, parents = [], []
    for depth, level in enumerate(levels):
        keys = level.keys if depth == 0 else levels[depth - 1].numbers[level.keys]
        root_depth = len(levels) - 1 if level is levels[-1] else 0
        nodes += zip(level.numbers.tolist(), _blobs(level, keys, capacity, node_size, root_depth))
        if depth:
            holder = np.repeat(level.numbers, level.counts)   # each cell's own node
            parents += zip(keys.tolist(), holder.tolist())
    leaves = levels[0]
    # In rowid order: each goes at the end of `_rowid`'s b-tree (at random places: 4x slower).
    by_id = np.argsort(leaves.keys, kind="stable")
    rowids = zip(leaves.keys[by_id].tolist(), np.repeat(leaves.numbers, leaves.counts)[by_id].tolist())
    conn.execute("SAVEPOINT rtree_fill")
    try:
        for part in ("node", "parent", "rowid"):
            conn.execute(f"DELETE FROM {rtree}_{part}")
        conn.executemany(f"INSERT INTO {rtree}_node(nodeno, data) VALUES (?, ?)", nodes)
        conn.executemany(f"INSERT INTO {rtree}_parent(nodeno, parentnode) VALUES (?, ?)", parents)
        conn.executemany(f"INSERT INTO {rtree}_rowid(rowid, nodeno) VALUES (?, ?)", rowids)
    except sqlite3.DatabaseError:
        # A defensive connection refuses writes to shadow tables: the tree is left as it was.
        conn.execute("ROLLBACK TO rtree_fill")
        conn.execute("RELEASE rtree_fill")
        return False
    conn.execute("RELEASE rtree_fill")
    return True


def fill_new_rows(conn, table: str, after: int, new_rows: int) -> bool:
    """The R*Tree entries of `table`'s `new_rows` rows with id above `after`, as its insert
    trigger would make them (live rows with a position), packed into the tree by `fill`; False,
    with nothing written, when that does not pay or cannot be done (the caller inserts them
    through SQLite)."""
    if new_rows < MIN_ENTRIES:
        return False
    x0, x1, y0, y1 = (e.replace("NEW.", "n.") for e in SPATIAL_TABLES[table][0])
    # As the R*Tree reads a value it is given (sqlite3_value_double: NULL is 0.0).
    box = ", ".join(f"coalesce(CAST({e} AS REAL), 0.0)" for e in (x0, x1, y0, y1))
    rows = conn.execute(f"SELECT n.id, {box} FROM {table} n WHERE n.id > ? AND n.deleted = 0 "
                        f"AND {x0} IS NOT NULL AND {y0} IS NOT NULL", (after,)).fetchall()
    if not rows:
        return True
    got = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=5 * len(rows)).reshape(-1, 5)
    return fill(conn, rtree_name(table), got[:, 0].astype(np.int64), got[:, 1], got[:, 2], got[:, 3], got[:, 4])
