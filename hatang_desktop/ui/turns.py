"""Pieces of GUI-thread work spread over event-loop turns: one piece per turn, whoever queued it.

`QTimer.singleShot(0, fn)` posts an event, and Qt delivers every event posted before a pass of
its event loop in that one pass: two chains of pieces (the map's layers being built and the
route groups' levels of detail, say) ran back to back, as did the 24 route groups' levels queued
by one paint, with no input or timer handled in between (seen: a 61 ms freeze made of a 23 ms
and a 31 ms piece while the country's map opened; the goal is no freeze over 50 ms). Queued
here instead, the pieces run one per turn of a zero-interval timer, which Qt fires once per pass
beside the other due timers and after the input events, in the order they were queued.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from shiboken6 import isValid


class Turns(QObject):
    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[tuple[Callable[[], object], QObject | None]] = deque()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_one)

    def later(self, fn: Callable[[], object], owner: QObject | None = None, delay_ms: int = 0) -> None:
        """Run `fn` on a later turn of the event loop, after what was queued before it and not
        before `delay_ms`; never once `owner` (when given) has been deleted."""
        if delay_ms > 0:
            QTimer.singleShot(delay_ms, self, lambda: self.later(fn, owner))
            return
        self._queue.append((fn, owner))
        if not self._timer.isActive():
            self._timer.start()

    def pending(self) -> int:
        return len(self._queue)

    def _run_one(self) -> None:
        while self._queue:
            fn, owner = self._queue.popleft()
            if owner is not None and not isValid(owner):
                continue  # its object is gone: so is the work
            try:
                fn()
            finally:
                if self._queue:
                    self._timer.start()
            return


_turns: Turns | None = None


def later(fn: Callable[[], object], owner: QObject | None = None, delay_ms: int = 0) -> None:
    """`Turns.later` on the application's one queue (made on first use, on the GUI thread)."""
    global _turns
    if _turns is None or not isValid(_turns):
        _turns = Turns()
    _turns.later(fn, owner, delay_ms)


def pending() -> int:
    """How many pieces wait in the application's queue."""
    return 0 if _turns is None or not isValid(_turns) else _turns.pending()
