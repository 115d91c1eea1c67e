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
