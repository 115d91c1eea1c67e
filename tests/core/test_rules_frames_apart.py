"""The rules' frames read side by side by forked children (rules/frames_apart.py): the same
frames and the same breaches as read one by one in this process; a child that fails or sees
another state of the database is replaced by a read here."""

from __future__ import annotations

import os
import threading

import pandas as pd
import pytest

from hatang_desktop.core.exchange import export_parallel
from hatang_desktop.core.rules import frames_apart, load_rules
from hatang_desktop.core.rules.engine import Context, evaluate
from hatang_desktop.core.storage.database import Database



@pytest.fixture
def small_is_large(monkeypatch):
    """The sample database counts as large; the children started are counted. pytest-qt has
    loaded Qt into this process, which fork_allowed refuses; nothing here uses Qt."""
    monkeypatch.setattr(frames_apart, "fork_allowed", lambda: True)
    monkeypatch.setattr(frames_apart, "MIN_TOTAL_ROWS", 0)
    monkeypatch.setattr(frames_apart, "MIN_CHILD_ROWS", 1)
    started = []
    real = frames_apart.ForkedJob

    def counted(job):
        started.append(job)
        return real(job)

    monkeypatch.setattr(frames_apart, "ForkedJob", counted)
    return started


def _one_by_one(db, rules) -> dict[str, pd.DataFrame]:
    ctx = Context(db, rules)
    return {r: ctx.frame(r) for r in ctx.fields}


def test_frames_read_apart_equal_those_read_one_by_one(sample_db_path, small_is_large, caplog):
    rules = list(load_rules())
    with Database.open(sample_db_path) as db:
        expected = _one_by_one(db, rules)
        ctx = Context(db, rules)
        ctx.read_ahead()
        # Children did read (every table but the largest), and none was replaced by a read here.
        assert len(small_is_large) >= 2
        assert "forked reader" not in caplog.text
        assert set(ctx._frames) == set(expected)
        for record, frame in expected.items():
            pd.testing.assert_frame_equal(ctx._frames[record], frame, check_exact=True)
        apart = evaluate(db, rules)
        alone = evaluate(db, rules, read_ahead=False)
    assert [(h.rule.id, h.frame["_uuid"].tolist()) for h in apart.hits] == \
        [(h.rule.id, h.frame["_uuid"].tolist()) for h in alone.hits]
    assert apart.total() > 0


def test_a_failed_child_is_replaced_by_a_read_here(sample_db_path, small_is_large, monkeypatch, caplog):
    parent = os.getpid()
    real = frames_apart.read_frame

    def fails_in_a_child(db, record, **args):
        if os.getpid() != parent:
            raise RuntimeError("disk gone")
        return real(db, record, **args)

    monkeypatch.setattr(frames_apart, "read_frame", fails_in_a_child)
    rules = list(load_rules())
    with Database.open(sample_db_path) as db:
        expected = _one_by_one(db, rules)
        got = frames_apart.read_apart(db, {r: Context(db, rules)._args(r) for r in expected})
    assert small_is_large and set(got) == set(expected)
    assert "disk gone" in caplog.text
    for record, frame in expected.items():
        pd.testing.assert_frame_equal(got[record], frame, check_exact=True)


def test_a_child_seeing_another_state_reads_nothing(sample_db_path):
    rules = list(load_rules())
    with Database.open(sample_db_path) as db:
        args = Context(db, rules)._args("sites")
        with db.session() as s:
            from hatang_desktop.core.exchange.export import _mark
            mark = _mark(s)
    assert frames_apart._child(sample_db_path, mark + 1, "sites", args) is None
    assert frames_apart._child(sample_db_path, mark, "sites", args) is not None


def test_no_child_where_this_process_may_not_fork(sample_db_path, small_is_large, monkeypatch):
    """With another thread running (the desktop app) fork_allowed says no: every frame is then
    read when a rule first asks for it, as before."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not export_parallel.fork_allowed()
        monkeypatch.setattr(frames_apart, "fork_allowed", export_parallel.fork_allowed)
        rules = list(load_rules())
        with Database.open(sample_db_path) as db:
            ctx = Context(db, rules)
            ctx.read_ahead()
            assert ctx._frames == {} and small_is_large == []
            assert evaluate(db, rules).total() > 0
    finally:
        stop.set()
        other.join()


CHECK_DRIVER = r"""
import sys
from hatang_desktop.core.rules import frames_apart

if sys.argv[1] == "apart":   # the sample counts as large: every table but the largest read by a child
    frames_apart.MIN_TOTAL_ROWS, frames_apart.MIN_CHILD_ROWS = 0, 1
    real = frames_apart.ForkedJob
    started = []
    frames_apart.ForkedJob = lambda job: (started.append(1), real(job))[1]
else:
    frames_apart.fork_allowed = lambda: False
    started = []
from hatang_desktop.cli import main
code = main(sys.argv[2:])
print("readers", len(started), file=sys.stderr)
sys.exit(code)
"""


def _check(mode: str, db_path) -> tuple[int, int]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CHECK_DRIVER, mode, "check", str(db_path), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 3), done.stderr
    return int(done.stderr.rsplit("readers", 1)[1].split()[0]), done.stdout


def _stored_findings(db_path) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT rule_id, target_table, target_uuid, severity, status, lat, lon, commune_code, deleted, note "
            "FROM findings ORDER BY rule_id, target_uuid, lat, lon").fetchall()


def test_hatang_check_reading_ahead_stores_what_one_by_one_stores(sample_db_path, tmp_path):
    """`hatang check` as a user runs it (a new process), once with the frames read by forked
    children and once without forking: the same findings stored, the same report printed."""
    import json
    import shutil

    apart_db, alone_db = tmp_path / "apart.db", tmp_path / "alone.db"
    shutil.copyfile(sample_db_path, apart_db)
    shutil.copyfile(sample_db_path, alone_db)
    before = len(_stored_findings(apart_db))
    readers, apart_out = _check("apart", apart_db)
    no_readers, alone_out = _check("alone", alone_db)
    assert readers >= 2 and no_readers == 0
    stored = _stored_findings(apart_db)
    assert stored == _stored_findings(alone_db) and len(stored) > before + 100   # the check stored findings

    def counts(out):   # the report, each finding without its new uuid and time
        doc = json.loads(out)
        doc["findings"] = [{k: v for k, v in f.items() if k not in ("uuid", "updated_at")} for f in doc.get("findings", [])]
        return {k: v for k, v in doc.items() if k not in ("elapsed_s", "seconds", "database")}

    assert counts(apart_out) == counts(alone_out)
