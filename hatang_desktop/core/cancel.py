"""Stopping a long job on the user's word: the job's caller passes `cancel`, a callable that
says whether the user pressed Cancel; the core asks it between steps and raises `Cancelled`.

A write in progress is one transaction: raised inside it, `Cancelled` rolls it back (and the
backup taken for it is removed, see storage.database.Database.operation), so a cancelled job
leaves the database as it found it. A file being written is published whole or not at all
(core/atomic.py), so a cancelled export leaves no file.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import HatangError

Cancel = Callable[[], bool]


class Cancelled(HatangError):
    """The user cancelled the job: nothing was written."""

    def __init__(self) -> None:
        super().__init__("đã hủy, không thay đổi gì / cancelled, nothing was changed")


def checkpoint(cancel: Cancel | None) -> None:
    """Raise Cancelled when the user asked to stop."""
    if cancel is not None and cancel():
        raise Cancelled()


def with_cancel(progress: Callable[[str, float], None] | None, cancel: Cancel | None
                ) -> Callable[[str, float], None]:
    """A progress callback that first asks `cancel`: for a job whose steps already report
    progress (an export, a rule check), every report is a point where a Cancel stops it."""
    def report(stage: str, fraction: float) -> None:
        checkpoint(cancel)
        if progress is not None:
            progress(stage, fraction)
    return report
