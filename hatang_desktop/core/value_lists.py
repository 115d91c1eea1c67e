"""Value lists from forms/value_lists.yaml: codes, labels and the spellings people use."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..paths import forms_dir
from .errors import InvalidInputError
from .text import fold


class FormDefinitionError(InvalidInputError):
    """A mistake in a file under forms/: the message names the file and the field."""


@dataclass(frozen=True)
class Choice:
    code: str
    vi: str
    en: str
    aliases: tuple[str, ...] = ()

    def label(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True)
class ValueList:
    name: str
    closed: bool
    choices: tuple[Choice, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.choices)

    def label(self, code: str, lang: str = "vi") -> str:
        for c in self.choices:
            if c.code == code:
                return c.label(lang)
        return code

    @functools.cached_property
    def _lookup(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for c in self.choices:
            for spelling in (c.code, c.vi, c.en, *c.aliases):
                out.setdefault(fold(str(spelling)), c.code)
        return out

    def code_for(self, text: str) -> str | None:
        """The code for a value as typed: a code, a label in either language, or an alias."""
        return self._lookup.get(fold(str(text)))


def parse_value_lists(path: Path) -> dict[str, ValueList]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FormDefinitionError(f"{path.name}: lỗi cú pháp YAML / YAML syntax error: {exc}") from None
    if not isinstance(raw, dict):
        raise FormDefinitionError(f"{path.name}: cần một bảng các danh sách / expected a mapping of lists")
    lists = {}
    for name, spec in raw.items():
        where = f"{path.name}, danh sách / list '{name}'"
        if not isinstance(spec, dict) or not isinstance(spec.get("values"), list) or not spec["values"]:
            raise FormDefinitionError(f"{where}: thiếu 'values' / missing 'values'")
        choices, seen = [], set()
        for i, v in enumerate(spec["values"], start=1):
            if not isinstance(v, dict) or not all(str(v.get(k, "")).strip() for k in ("code", "vi", "en")):
                raise FormDefinitionError(f"{where}, giá trị thứ {i}: cần code, vi, en / value {i} "
                                          "needs code, vi and en")
            code = str(v["code"])
            if code in seen:
                raise FormDefinitionError(f"{where}: mã '{code}' bị lặp / duplicate code '{code}'")
            seen.add(code)
            choices.append(Choice(code, str(v["vi"]), str(v["en"]),
                                  tuple(str(a) for a in v.get("aliases") or ())))
        lists[name] = ValueList(name, bool(spec.get("closed", False)), tuple(choices))
    return lists


@functools.lru_cache(maxsize=4)
def value_lists(directory: Path | None = None) -> dict[str, ValueList]:
    return parse_value_lists((directory or forms_dir()) / "value_lists.yaml")
