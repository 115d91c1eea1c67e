"""What every edit shares: the record types it may touch, its outcome (an EditResult, or an
error saying why nothing was written) and the writes of one operation, stamped and versioned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .. import schema
from ..changes import Changes, changes_of_operation
from ..errors import InvalidInputError
from ..forms import FormDef, Forms, load_forms
from ..messages import in_language
from ..model import utcnow
from ..storage.database import Database
from ..storage.dialect import table_columns


EDITABLE = schema.top_level()  # sites, poles, fibre_routes, zones, findings
CHILDREN = schema.children()  # sites -> site_tenants, poles -> pole_attachments
POINT_TABLES = schema.having("position")  # sites, poles, findings
GEOMETRY_TABLES = schema.having("geometry")  # fibre_routes, zones
BOOKKEEPING = ("id", "uuid", "version", "updated_at", "updated_by", "source")
POSITION_DECIMALS = 7   # what the form shows of a latitude or longitude (ui/editing/fields.PositionField)


def _record_name(table: str) -> str:
    """A record type inside a sentence (an operation's description, a message): "trạm BTS", "cột"."""
    short = schema.record_label(table, "vi", short=True)
    return short[:1].lower() + short[1:]


# -- errors ------------------------------------------------------------------------------------

class ValidationFailed(InvalidInputError):
    """Values that do not fit the form: nothing was written. `problems` are (field key, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = list(problems)

        def line(lang: str) -> str:
            return "; ".join(f"{k}: {in_language(m, lang)}" if k else in_language(m, lang)
                             for k, m in self.problems)
        super().__init__(line("vi"), line("en"))


class StaleEdit(InvalidInputError):
    """The record changed after the edit (another edit, an import): undoing would overwrite it."""


class RowMovedOn(StaleEdit):
    """A row's version moved on between an edit's read and its write (another transaction wrote
    it; on the server only): save_record plans again against what is there now; any other
    writer stops with this message, nothing written."""

    def __init__(self, table: str = "", uuid: str = ""):
        self.table, self.uuid = table, uuid
        super().__init__("bản ghi vừa được người khác thay đổi (nhập sổ, đồng bộ hoặc sửa cùng lúc); không ghi gì, "
                         "hãy thử lại", "the record was just changed by someone else (an import, a sync or another "
                         "edit); nothing was written, try again")


class EditConflict(InvalidInputError):
    """The record changed since its form was opened (an import, another window), in a field this
    edit changes too, to another value. Nothing is written: the user sees both values and decides.
    `fields` holds (field key, value when the form opened, value now, value typed); the key
    `SUB_LIST` stands for the whole sub-list (tenants, attachments)."""

    SUB_LIST = "*children"

    def __init__(self, fields: list[tuple[str, Any, Any, Any]], current: dict[str, Any],
                 current_children: list[dict[str, Any]] | None, changed: set[str] = frozenset()):
        self.fields = fields
        self.changed = set(changed)  # every field the user changed, clashing or not
        self.current = current
        self.current_children = current_children
        names = ", ".join(k for k, *_ in fields)
        super().__init__(f"bản ghi đã thay đổi từ lúc mở biểu mẫu ({names}) / the record changed since "
                         f"the form was opened ({names})")


# -- results -----------------------------------------------------------------------------------

@dataclass
class EditResult:
    """One edit done: its operation in the change log and what it changed there."""
    table: str
    uuid: str
    description: str
    operation_id: int | None = None
    changes: Changes = field(default_factory=Changes)

    @property
    def changed(self) -> bool:
        """False: the values were already so, nothing was written (nothing to undo)."""
        return bool(self.changes)


def edit_result(db: Database, table: str, uuid: str, description: str, operation_id: int | None) -> EditResult:
    """The result of operation `operation_id` (committed), its changes read from the change log."""
    return EditResult(table, uuid, description, operation_id, changes_of_operation(db, operation_id))


class _Tracker:
    """Writes within one operation, stamped with its user, source and time."""

    def __init__(self, session: Session):
        self.s = session
        self.now = str(utcnow())

    def row(self, table: str, uuid: str) -> dict | None:
        r = self.s.execute(text(f"SELECT * FROM {table} WHERE uuid = :u"), {"u": uuid}).mappings().first()
        return None if r is None else dict(r)

    def data(self, table: str, uuid: str) -> dict | None:
        r = self.row(table, uuid)
        return None if r is None else {k: v for k, v in r.items() if k not in BOOKKEEPING}

    def insert(self, table: str, uuid: str, cols: dict[str, Any]) -> None:
        cols = dict(cols) | {"uuid": uuid, "version": 1, "updated_at": self.now,
                             "updated_by": self.s.info["user"], "source": self.s.info["source"]}
        cols.setdefault("deleted", 0)
        self.s.execute(text(f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"),
                       cols)

    def update(self, table: str, uuid: str, cols: dict[str, Any], *, expect_version: int | None = None) -> bool:
        """Write the columns that differ; False when none do (no version bump, nothing logged).
        With `expect_version` (the version the edit was planned on) the row must still be at it,
        else RowMovedOn and nothing of it is written: on the server another transaction may write
        the row between this one's read and its write (a SQLite file's write lock rules that out)."""
        current = self.row(table, uuid)
        if current is None:
            raise InvalidInputError(f"không có bản ghi {uuid} trong {table} / no such record")
        if expect_version is not None and current["version"] != expect_version:
            raise RowMovedOn(table, uuid)
        changed = {c: v for c, v in cols.items() if not _same(current.get(c), v)}
        if not changed:
            return False
        params = changed | {"_now": self.now, "_user": self.s.info["user"], "_source": self.s.info["source"],
                            "_uuid": uuid, "_base": current["version"]}
        sets = ", ".join(f"{c} = :{c}" for c in changed)
        done = self.s.execute(text(f"UPDATE {table} SET {sets}, version = version + 1, updated_at = :_now, "
                                   "updated_by = :_user, source = :_source WHERE uuid = :_uuid AND version = :_base"),
                              params)
        if done.rowcount == 0:  # written by another transaction since `current` was read
            raise RowMovedOn(table, uuid)
        return True


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        try:
            return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is not None and b is not None and int(a) == int(b)
    return a == b


# -- reading a row for an edit ---------------------------------------------------------------

def _form(forms: Forms | None, table: str) -> FormDef:
    if table not in EDITABLE and table not in CHILDREN.values():
        raise InvalidInputError(f"không sửa được bảng {table} / {table} is not editable")
    return (forms or load_forms())[table]


def _row(session: Session, table: str, uuid: str) -> dict | None:
    r = session.execute(text(f"SELECT * FROM {table} WHERE uuid = :u"), {"u": uuid}).mappings().first()
    return None if r is None else dict(r)


def _code(db: Database, table: str, uuid: str) -> str:
    """What names the record (its form's title fields), read from the database."""
    with db.session() as s:
        return s.execute(text(f"SELECT {schema.title_sql(table)} FROM {table} t WHERE t.uuid = :u"),
                         {"u": uuid}).scalar() or ""


def _gnss_columns(s: Session, table: str, gnss: dict[str, Any] | None) -> dict[str, Any]:
    """The GNSS metadata columns the table has (schema 3), from `gnss` or cleared."""
    from ..gps import GNSS_COLUMNS

    have = set(table_columns(s, table))
    return {c: (gnss or {}).get(c) for c in GNSS_COLUMNS if c in have}
