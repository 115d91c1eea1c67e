"""GUI-thread work spread over event-loop turns (ui/turns.py): one piece per turn across every
chain that queues pieces, so input and timers are handled between any two of them."""

import time

import shiboken6
from PySide6.QtCore import QObject, QTimer

from hatang_desktop.ui import turns


def _chain(name: str, pieces: int, log: list, owner=None):
    def piece(i: int = 0) -> None:
        time.sleep(0.005)  # a piece of real work: a layer's slice being built
        log.append(f"{name}{i}")
        if i + 1 < pieces:
            turns.later(lambda: piece(i + 1), owner)
    return piece


def test_two_chains_leave_a_turn_between_any_two_pieces(qtbot):
    log: list[str] = []
    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: log.append("tick"))
    ticker.start()
    # Two chains at once (the map's layers being built and the route groups' levels, as when a
    # large database opens): before, both ran in one pass of the event loop with nothing between.
    turns.later(_chain("a", 5, log))
    turns.later(_chain("b", 5, log))
    qtbot.waitUntil(lambda: "a4" in log and "b4" in log, timeout=5000)
    ticker.stop()
    pieces = [e for e in log if e != "tick"]
    assert sorted(pieces) == sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)])
    assert pieces.index("a1") < pieces.index("a2") < pieces.index("a3")  # each chain in its order
    first, last = log.index(pieces[0]), log.index(pieces[-1])
    between = log[first:last + 1]
    assert all(x == "tick" or y == "tick" for x, y in zip(between, between[1:])), between


def test_a_piece_whose_owner_is_gone_does_not_run(qtbot):
    log: list[str] = []
    owner = QObject()
    turns.later(lambda: log.append("gone"), owner)
    turns.later(lambda: log.append("kept"))
    shiboken6.delete(owner)  # the object is destroyed before the piece's turn comes
    qtbot.waitUntil(lambda: "kept" in log, timeout=5000)
    assert log == ["kept"]


def test_a_delay_is_waited_and_the_order_kept(qtbot):
    log: list[str] = []
    t0 = time.perf_counter()
    turns.later(lambda: log.append(("late", time.perf_counter() - t0)), delay_ms=60)
    turns.later(lambda: log.append(("now", time.perf_counter() - t0)))
    qtbot.waitUntil(lambda: len(log) == 2, timeout=5000)
    assert [name for name, _t in log] == ["now", "late"]
    assert log[1][1] >= 0.055
