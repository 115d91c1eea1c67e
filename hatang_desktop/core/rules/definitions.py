"""Rule sets (resources/rules/*.yaml): load and check them, in the style of forms/*.yaml.

A rule file holds a list of rules; each has an id, a title in Vietnamese and English, the legal
reference it cites, the record type it looks at, a severity, parameters with defaults and a
condition (conditions.py). A province changes thresholds in `province_parameters.yaml` beside the
rules, without touching the rules themselves. Every mistake is reported with the file and the
rule, in Vietnamese with an English gloss, before anything is evaluated.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...paths import resources_dir
from ..errors import InvalidInputError
from ..forms import load_forms
from .conditions import ConditionError, Node, Parser
from .records import RECORDS

SEVERITIES = load_forms().lists["severities"].codes  # a finding's severities (forms/value_lists.yaml)
OVERRIDES_FILE = "province_parameters.yaml"
_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MANUAL_RULE = "other"
# A rule may report its breaches as one finding per commune instead of one per record: for
# what most records lack at first (photos), a count per commune helps; thousands of flags bury.
AGGREGATES = ("commune",)
AGGREGATE_PLACEHOLDERS = {"count", "commune", "records"}


# libyaml's loader when the wheel has it: the same safe subset, several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleDefinitionError(InvalidInputError):
    """A mistake in a rule file: the message names the file and the rule."""


@dataclass(frozen=True)
class Parameter:
    name: str
    label: dict
    default: Any
    unit: str | None = None
    keyed_by: str | None = None
    set_by_province: bool = False
    note: dict | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: dict
    reference: dict  # document, article (may be empty), note (optional)
    record: str
    severity: str
    condition: Node
    message: dict
    parameters: dict[str, Parameter]
    values: dict[str, Any]  # parameter values in force (defaults or the province's)
    source: str = ""
    aggregate: str | None = None  # "commune": one finding per commune, counting its records

    @property
    def target_table(self) -> str | None:
        """The table a finding of this rule points at: the record's; none for a per-commune
        finding (its commune_code says where; findings point at records, not at communes)."""
        return None if self.aggregate else self.record

    def title_for(self, lang: str = "vi") -> str:
        return self.title["vi" if lang == "vi" else "en"]

    @property
    def reference_text(self) -> str:
        doc, art = self.reference.get("document", ""), self.reference.get("article", "")
        return f"{doc}, {art}" if art else doc

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "reference": self.reference,
                "record": self.record, "severity": self.severity, "parameters": self.values,
                "aggregate": self.aggregate, "file": self.source}


@dataclass
class RuleSet:
    rules: dict[str, Rule] = field(default_factory=dict)
    directory: Path | None = None

    def __iter__(self):
        return iter(self.rules.values())

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def __contains__(self, rule_id: str) -> bool:
        return rule_id in self.rules

    def select(self, ids: list[str] | None) -> list[Rule]:
        if not ids:
            return list(self.rules.values())
        unknown = [i for i in ids if i not in self.rules]
        if unknown:
            raise InvalidInputError(f"quy tắc không có: {', '.join(unknown)}; các quy tắc: "
                                    f"{', '.join(self.rules)} / unknown rule")
        return [self.rules[i] for i in ids]


def rules_dir() -> Path:
    override = os.environ.get("HATANG_RULES")
    return Path(override) if override else resources_dir() / "rules"


def _text_pair(raw, where: str, what: str) -> dict:
    if not isinstance(raw, dict) or not str(raw.get("vi", "")).strip() or not str(raw.get("en", "")).strip():
        raise RuleDefinitionError(f"{where}: '{what}' cần tiếng Việt và tiếng Anh (vi, en) / '{what}' "
                                  "needs vi and en")
    return {"vi": str(raw["vi"]), "en": str(raw["en"])}


def _parameter(name: str, raw, record: str, where: str, lists) -> Parameter:
    where = f"{where}, tham số / parameter '{name}'"
    if not isinstance(raw, dict) or "default" not in raw:
        raise RuleDefinitionError(f"{where}: cần 'default' / needs a 'default'")
    unknown = set(raw) - {"label", "default", "unit", "keyed_by", "set_by_province", "note"}
    if unknown:
        raise RuleDefinitionError(f"{where}: thuộc tính lạ {sorted(unknown)} / unknown attributes")
    keyed_by = raw.get("keyed_by")
    default = raw["default"]
    if keyed_by is not None:
        spec = RECORDS[record].fields.get(keyed_by)
        if spec is None or spec.kind != "choice":
            raise RuleDefinitionError(f"{where}: 'keyed_by' phải là trường có danh sách giá trị của "
                                      f"{record} / 'keyed_by' must be a choice field")
        if not isinstance(default, dict):
            raise RuleDefinitionError(f"{where}: tham số theo {keyed_by} cần một bảng giá trị / needs "
                                      "a mapping of values")
        codes = lists[spec.values].codes
        bad = [k for k in default if k not in codes]
        if bad:
            raise RuleDefinitionError(f"{where}: {bad} không có trong danh sách {spec.values} "
                                      f"({', '.join(codes)}) / not in the value list")
    return Parameter(name, _text_pair(raw.get("label"), where, "label"), default, raw.get("unit"),
                     keyed_by, bool(raw.get("set_by_province")),
                     _text_pair(raw["note"], where, "note") if raw.get("note") else None)


def _check_value(p: Parameter, value, where: str) -> None:
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if p.keyed_by:
        if not isinstance(value, dict) or not all(number(v) for v in value.values()):
            raise RuleDefinitionError(f"{where}: '{p.name}' cần một bảng số / needs a mapping of numbers")
    elif isinstance(p.default, list):
        if not isinstance(value, list):
            raise RuleDefinitionError(f"{where}: '{p.name}' cần một danh sách / needs a list")
    elif number(p.default) and not number(value):
        raise RuleDefinitionError(f"{where}: '{p.name}' cần một số, nhận {value!r} / needs a number")
    elif number(value) and value < 0:
        raise RuleDefinitionError(f"{where}: '{p.name}' không được âm / must not be negative")


def _placeholders(message: dict, rule_fields: set[str], params: dict, names: set[str], where: str,
                  aggregate: str | None = None) -> None:
    if aggregate:  # one message per commune: its count and codes, never one record's fields
        rule_fields, names = AGGREGATE_PLACEHOLDERS, set()
        known = rule_fields | {f"params.{p}" for p in params}
    else:
        known = rule_fields | {f"params.{p}" for p in params} | {"matched", "record"}
    for n in names:
        known |= {f"{n}.distance_m", f"{n}.label"}
    for lang, text in message.items():
        for name in _PLACEHOLDER.findall(text):
            if name not in known:
                raise RuleDefinitionError(f"{where}: thông điệp ({lang}) dùng '{{{name}}}' không có; "
                                          f"dùng một trong {', '.join(sorted(known))} / unknown "
                                          "placeholder in the message")


def _rule(raw, where: str, lists, overrides: dict) -> Rule:
    if not isinstance(raw, dict) or not raw.get("id"):
        raise RuleDefinitionError(f"{where}: quy tắc thiếu 'id' / rule without 'id'")
    rule_id = str(raw["id"])
    where = f"{where}, quy tắc / rule '{rule_id}'"
    if not _ID.match(rule_id) or rule_id == MANUAL_RULE:
        raise RuleDefinitionError(f"{where}: id chỉ gồm chữ thường, số, gạch dưới (3–64 ký tự) và "
                                  f"khác '{MANUAL_RULE}' / id must be lower-case letters, digits, _")
    known = {"id", "title", "reference", "record", "severity", "parameters", "condition", "message",
             "note", "aggregate"}
    unknown = set(raw) - known
    if unknown:
        raise RuleDefinitionError(f"{where}: thuộc tính lạ {sorted(unknown)} / unknown attributes")
    title = _text_pair(raw.get("title"), where, "title")
    ref = raw.get("reference")
    if not isinstance(ref, dict) or not str(ref.get("document", "")).strip():
        raise RuleDefinitionError(f"{where}: 'reference' cần 'document' (văn bản căn cứ) / 'reference' "
                                  "needs the 'document' it cites")
    reference = {"document": str(ref["document"]), "article": str(ref.get("article") or "")}
    record = raw.get("record")
    if record not in RECORDS:
        raise RuleDefinitionError(f"{where}: 'record' phải là một trong {', '.join(RECORDS)} / "
                                  f"'record' must be one of those, not {record!r}")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise RuleDefinitionError(f"{where}: 'severity' phải là {', '.join(SEVERITIES)} / severity "
                                  f"must be one of those, not {severity!r}")
    aggregate = raw.get("aggregate")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise RuleDefinitionError(f"{where}: 'aggregate' chỉ nhận {', '.join(AGGREGATES)} (gộp theo xã/phường) "
                                  f"/ 'aggregate' must be one of those, not {aggregate!r}")
    raw_params = raw.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise RuleDefinitionError(f"{where}: 'parameters' phải là bảng tên: định nghĩa / must be a mapping")
    params = {str(k): _parameter(str(k), v, record, where, lists) for k, v in raw_params.items()}
    values = {k: p.default for k, p in params.items()}
    for k, p in params.items():
        _check_value(p, p.default, where)
    for k, v in (overrides.get(rule_id) or {}).items():
        if k not in params:
            raise RuleDefinitionError(f"{OVERRIDES_FILE}, quy tắc / rule '{rule_id}': tham số '{k}' "
                                      f"không có; có: {', '.join(params) or '—'} / unknown parameter")
        _check_value(params[k], v, f"{OVERRIDES_FILE}, quy tắc / rule '{rule_id}'")
        values[k] = v
    if raw.get("condition") is None:
        raise RuleDefinitionError(f"{where}: thiếu 'condition' / 'condition' is missing")
    names: set[str] = set()
    try:
        condition = Parser(params, lists).condition(raw["condition"], record, f"{where}: condition", names)
    except ConditionError as exc:
        raise RuleDefinitionError(str(exc)) from None
    unused = set(params) - condition.params()
    if unused:
        raise RuleDefinitionError(f"{where}: tham số không dùng trong điều kiện {sorted(unused)} / "
                                  "parameters not used by the condition")
    message = _text_pair(raw.get("message"), where, "message")
    _placeholders(message, set(RECORDS[record].fields), params, names, where, aggregate)
    return Rule(rule_id, title, reference, record, severity, condition, message, params, values,
                where.split(",")[0], aggregate)


def _read_yaml(path: Path):
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise RuleDefinitionError(f"{path.name}: lỗi cú pháp YAML / YAML syntax error: {exc}") from None
    except OSError as exc:
        raise RuleDefinitionError(f"{path}: không đọc được tệp / cannot read the file ({exc})") from None


def load_rules(directory: str | Path | None = None) -> RuleSet:
    """Every rule under the directory (default resources/rules, or $HATANG_RULES)."""
    directory = Path(directory) if directory else rules_dir()
    # Cached per folder and its files' times and sizes: an edited rule file is read again.
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                  for p in sorted(directory.glob("*.yaml"))) if directory.is_dir() else ()
    return _load_rules(directory, stamp)


@functools.lru_cache(maxsize=8)
def _load_rules(directory: Path, _stamp: tuple) -> RuleSet:
    if not directory.is_dir():
        raise RuleDefinitionError(f"{directory}: không có thư mục quy tắc / no rules folder")
    lists = load_forms().lists
    overrides_path = directory / OVERRIDES_FILE
    overrides = _read_yaml(overrides_path) if overrides_path.exists() else {}
    overrides = overrides or {}
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise RuleDefinitionError(f"{OVERRIDES_FILE}: cần dạng 'mã quy tắc: {{tham số: giá trị}}' / "
                                  "needs 'rule id: {parameter: value}'")
    rules: dict[str, Rule] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == OVERRIDES_FILE:
            continue
        raw = _read_yaml(path)
        if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
            raise RuleDefinitionError(f"{path.name}: cần một danh sách 'rules' / needs a list of 'rules'")
        for i, item in enumerate(raw["rules"]):
            rule = _rule(item, f"{path.name} (#{i + 1})" if not isinstance(item, dict) or not item.get("id")
                         else path.name, lists, overrides)
            if rule.id in rules:
                raise RuleDefinitionError(f"{path.name}, quy tắc / rule '{rule.id}': trùng id với "
                                          f"{rules[rule.id].source} / duplicate id")
            rules[rule.id] = rule
    unknown = set(overrides) - set(rules)
    if unknown:
        raise RuleDefinitionError(f"{OVERRIDES_FILE}: quy tắc không có {sorted(unknown)} / unknown rules")
    if not rules:
        raise RuleDefinitionError(f"{directory}: không có quy tắc nào / no rules found")
    return RuleSet(rules, directory)


__all__ = ["Rule", "RuleSet", "Parameter", "RuleDefinitionError", "load_rules", "rules_dir",
           "MANUAL_RULE", "SEVERITIES", "AGGREGATES"]
