"""Errors the core raises for users to read.

Messages are Vietnamese first with an English gloss, and always name the place (file, field,
row) so a commune official can find what to fix.
"""

from __future__ import annotations

import errno
import sqlite3

from .messages import Text


class HatangError(Exception):
    """Base of every error meant for the user rather than for a developer.

    Carries its message in both languages (`text`, a core.messages.Text): `HatangError(vi, en)`,
    `HatangError(Text.of(code, **params))` for a message of the core catalogue, or one string
    written bilingual ("vi / en", the older raise sites) that every shell shows whole. str() is
    the bilingual line the CLI prints; a UI shows `text.render(its language)`."""

    def __init__(self, vi: str | Text = "", en: str | None = None):
        self.text = vi if isinstance(vi, Text) and en is None else Text(str(vi), en)
        super().__init__(str(self.text))

    @property
    def vi(self) -> str:
        return self.text.vi

    @property
    def en(self) -> str:
        return self.text.en


class InvalidInputError(HatangError, ValueError):
    """Bad input from the user (a file, an argument, a value): the CLI exits 2, nothing written."""


class DatabaseFileError(InvalidInputError):
    """The file is missing, not a database, not ours, damaged, or locked."""

    def __init__(self, path, problem_vi: str | Text, problem_en: str | None = None):
        self.path = str(path)
        problem = problem_vi if isinstance(problem_vi, Text) else Text(problem_vi, problem_en)
        super().__init__(problem.prefixed(f"{self.path}: "))


class SchemaTooNewError(DatabaseFileError):
    def __init__(self, path, found: int, supported: int):
        self.found, self.supported = found, supported
        super().__init__(path, Text.of("db_schema_too_new", found=found, supported=supported))


class FileFault(DatabaseFileError):
    """Not the user's input but the machine: a read-only file or folder, a full disk, a lock held
    by another program, a closed output pipe, a permission, a failing disk. The CLI prints the
    one line and exits 2; whatever was being written was rolled back or left unpublished.

    A DatabaseFileError by inheritance: code that catches the database's own faults (a lock, a
    read-only file) keeps catching them, whichever file they concern."""

    def __init__(self, path, kind: str, note: Text | tuple[str, str] | str | None = None):
        self.kind = kind
        message = fault_message(kind)
        note = note or _DEFAULT_NOTES.get(kind)
        if note:
            message = message.join(Text.of(note) if type(note) is str else note)
        if path is None:  # nothing to name (a closed pipe): the message alone
            HatangError.__init__(self, message)
            self.path = ""
        else:
            super().__init__(path, message)


# Each fault of the machine is a code of the core catalogue (locale/*/LC_MESSAGES/hatang_core.po,
# "fault_<kind>"), and what a writer adds when it has no more to say: every file is written whole
# or not at all, every database change is one transaction (core/atomic.py, storage/database.py).
FAULT_KINDS = ("disk_full", "read_only", "permission", "locked", "broken_pipe", "io_error", "cannot_open")


def fault_message(kind: str) -> Text:
    """What the fault `kind` (one of FAULT_KINDS) says, in both languages."""
    if kind not in FAULT_KINDS:
        raise KeyError(kind)
    return Text.of(f"fault_{kind}")


# A note may be a Text, a (Vietnamese, English) pair or a code of the core catalogue.
NOTHING_WRITTEN = "note_nothing_written"
_DEFAULT_NOTES = {"disk_full": NOTHING_WRITTEN, "read_only": NOTHING_WRITTEN, "permission": NOTHING_WRITTEN}

_ERRNO_KINDS = {errno.ENOSPC: "disk_full", errno.EROFS: "read_only", errno.EACCES: "permission",
                errno.EPERM: "permission", errno.EPIPE: "broken_pipe", errno.EIO: "io_error"}
if hasattr(errno, "EDQUOT"):
    _ERRNO_KINDS[errno.EDQUOT] = "disk_full"
# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_KINDS = {13: "disk_full", 8: "read_only", 5: "locked", 6: "locked", 3: "permission",
                 10: "io_error", 14: "cannot_open"}
_SQLITE_TEXT = (("database or disk is full", "disk_full"), ("readonly database", "read_only"),
                ("database is locked", "locked"), ("database table is locked", "locked"),
                ("disk i/o error", "io_error"), ("unable to open database file", "cannot_open"))


def fault_kind(exc: BaseException) -> str | None:
    """Which fault of the machine `exc` is (a key of FAULT_MESSAGES), or None for anything else:
    an OSError by its errno, an sqlite3 error by its result code, an SQLAlchemy error by the
    driver's error it wraps, following the chain of causes."""
    seen = 0
    while exc is not None and seen < 8:
        seen += 1
        if isinstance(exc, FileFault):
            return exc.kind
        if isinstance(exc, OSError) and exc.errno in _ERRNO_KINDS:
            return _ERRNO_KINDS[exc.errno]
        if isinstance(exc, sqlite3.Error):
            code = getattr(exc, "sqlite_errorcode", None)
            if code is not None and (code & 0xFF) in _SQLITE_KINDS:
                return _SQLITE_KINDS[code & 0xFF]
            text = str(exc).lower()
            for needle, kind in _SQLITE_TEXT:
                if needle in text:
                    return kind
        orig = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError
        if isinstance(orig, BaseException):
            exc = orig
            continue
        exc = exc.__cause__ or exc.__context__
    return None


def environment_fault(exc: BaseException, path=None, *, note: tuple[str, str] | None = None
                      ) -> FileFault | None:
    """`exc` as the one line a user reads (a FileFault naming `path`, else the file the OSError
    names), or None when it is not a fault of the machine (a bug: let its traceback through).

    The one place that turns OSError and SQLite errors into messages: the CLI's top-level handler,
    the UI's job error paths, the database layer and the file writers all come here."""
    if isinstance(exc, FileFault):
        return exc
    kind = fault_kind(exc)
    if kind is None:
        return None
    if kind == "broken_pipe":
        return FileFault(None, kind)
    if path is None:
        path = getattr(exc, "filename", None)
    return FileFault(path, kind, note)
