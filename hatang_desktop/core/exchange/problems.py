"""What an import finds wrong in a file, and the refusal that carries it.

One type for every reader: a workbook's problem is on a sheet, a row and a column; a GIS file's
on a layer, a feature and an attribute. The place is the same three things under different
words, so the merge, the command line and the dialogs handle both alike and only the words
change (`kind`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..messages import Text

# The words for a place, per kind of file and language: (where, row, column, value, name).
PLACE_WORDS = {
    ("sheet", "vi"): ("trang", "dòng", "cột", "giá trị"),
    ("sheet", "en"): ("sheet", "row", "column", "value"),
    ("layer", "vi"): ("lớp", "đối tượng", "thuộc tính", "giá trị"),
    ("layer", "en"): ("layer", "feature", "attribute", "value"),
    ("sync", "vi"): ("bảng", "bản ghi", "trường", "giá trị"),
    ("sync", "en"): ("table", "record", "field", "value"),
}
SHOWN_PROBLEMS = 50   # a refusal's message names this many; the JSON and the dialogs list them all


def clipped(text: str, limit: int = 80) -> str:
    """A value as a message line shows it: a 40,000-character cell is not printed whole."""
    return text if len(text) <= limit else f"{text[:limit - 20]}… ({len(text):,} ký tự / characters)"


def split_message(message: str | Text) -> tuple[str, str]:
    """The Vietnamese and English texts of a problem's message. A Text (a producer that has the
    two apart: a FieldError, a CoordinateError, the record rules) gives its own halves, never cut;
    only an older one-string message "vi / en" is cut on its first " / " (one without it, or a
    Text written in one language, is the same in both)."""
    if _apart(message):
        return message.vi, message.en
    vi, sep, en = str(message).partition(" / ")
    return (vi, en) if sep else (str(message), str(message))


def _apart(message: str | Text) -> bool:
    """Whether the message holds its languages apart (not one line written bilingual)."""
    return isinstance(message, Text) and (message.vi != message.en or message.code is not None)


def message_of(exc: BaseException) -> str | Text:
    """What a problem says about a refused value: the error's two texts when it has them."""
    text = getattr(exc, "text", None)
    return text if isinstance(text, Text) else str(exc)


def with_suffix(message: str | Text, vi: str, en: str) -> Text:
    """`message` with a few words added to each language (the features a whole-group problem is about)."""
    m_vi, m_en = split_message(message)
    return Text(m_vi + vi, m_en + en)


@dataclass
class Problem:
    where: str                  # the sheet, or the layer
    row: int | None             # the row as Excel shows it, or the feature's number in its layer (1-based)
    column: str | None          # the header as written, or the attribute
    value: Any
    message: str | Text         # both languages: a Text, or an older "tiếng Việt / English" line
    name: str | None = None     # a feature's name or code, as the file has it
    suggestion: tuple[str, str] | None = None   # (code, name) of the admin unit a boundary's name fits
    kind: str = "sheet"         # "sheet" (a workbook), "layer" (a GIS file) or "sync" (online sync)

    # The words each reader's callers know the place by.
    @property
    def sheet(self) -> str:
        return self.where

    @property
    def layer(self) -> str:
        return self.where

    @property
    def feature(self) -> int | None:
        return self.row

    @property
    def attribute(self) -> str | None:
        return self.column

    @property
    def shown(self) -> str:
        """The value as the file shows it: 999, not the reader's 999.0; dates in ISO form."""
        v = self.value
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return str(v)

    def as_dict(self) -> dict:
        """One shape for every reader: the place under its general names (where, row, column)
        and under the reader's own words (sheet/row/column or layer/feature/attribute)."""
        v = self.value
        value = v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else (
            v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
        vi, en = split_message(self.message)
        out = {"kind": self.kind, "where": self.where, "row": self.row, "column": self.column, "name": self.name,
               "value": value, "message": self.message, "message_vi": vi, "message_en": en}
        if self.kind == "layer":
            out |= {"layer": self.where, "feature": self.row, "attribute": self.column}
        else:
            out |= {"sheet": self.where}
        if self.suggestion:
            out["suggestion"] = {"code": self.suggestion[0], "name": self.suggestion[1]}
        return out

    def _place(self, lang: str) -> str:
        where, row, column, value = PLACE_WORDS[(self.kind, lang)]
        place = f"{where} '{self.where}'"
        if self.row is not None and (self.row or self.kind == "layer"):
            place += f", {row} {self.row}" + (f" '{self.name}'" if self.name else "")
        if self.column:
            place += f", {column} '{self.column}'"
        shown = f" ({value} '{clipped(self.shown)}')" if self.value not in (None, "") else ""
        return place + shown

    def text(self, lang: str = "vi") -> str:
        """The problem as one line in one language: where it is, the value, what is wrong."""
        if _apart(self.message):
            shown = self.message.render(lang)   # a coded message: any language its catalogue has
        else:
            vi, en = split_message(self.message)
            shown = vi if lang == "vi" else en
        return f"{self._place(lang if lang in ('vi', 'en') else 'en')}: {shown}"

    def __str__(self) -> str:
        # The Vietnamese place with the whole bilingual message: what the command line prints.
        return f"{self._place('vi')}: {self.message}"


def feature_problem(layer: str, feature: int | None, name: str | None, attribute: str | None, value: Any,
                    message: str, suggestion: tuple[str, str] | None = None) -> Problem:
    """A problem of a GIS file, in the order its reader finds the facts."""
    return Problem(layer, feature, attribute, value, message, name=name, suggestion=suggestion, kind="layer")


class ImportRefused(InvalidInputError):
    """An import refused because of what its file holds: nothing was written. Every reader
    raises this one (the command line prints it and exits 2, the dialogs list `problems`)."""

    def __init__(self, path: str | Path, problems: list[Problem], *, what: tuple[str, str] | None = None):
        self.path = Path(path)
        self.problems = problems
        kind = problems[0].kind if problems else "sheet"
        what_vi, what_en = what or (("sổ Excel", "the workbook") if kind == "sheet" else ("tệp", "the file"))
        head = (f"{path}: {what_vi} có {len(problems)} lỗi, không thay đổi gì / {what_en} has {len(problems)} "
                "problems, nothing was changed")
        more = len(problems) - SHOWN_PROBLEMS
        super().__init__(head + "".join(f"\n  - {p}" for p in problems[:SHOWN_PROBLEMS]) +
                         (f"\n  ... và {more} lỗi khác / {more} more" if more > 0 else ""))

    def as_json(self) -> dict:
        """The command line's answer for a refused import, the same for every reader."""
        return {"inserted": 0, "updated": 0, "deleted": 0, "conflicts": 0, "unchanged": 0,
                "errors": [p.as_dict() for p in self.problems], "applied": False, "refused": True,
                "path": str(self.path)}
