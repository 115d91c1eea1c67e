"""Plan targets per province and year (`resources/plans/*.yaml`), checked on loading.

A plan names the 2025 province its area belongs to; a plan for a former province or district
(before the 1 July 2025 reform) also lists the pre-2025 commune codes it covered, and the 2025
communes are found through `resources/admin_units/commune_merges_2025.csv` (see
resources/plans/README.md for the rule and what it gives for Bình Phước and Cao Lộc).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ...paths import resources_dir
from .. import admin_units
from ..errors import InvalidInputError
from .catalogue import BY_KEY

# libyaml's loader when the wheel has it: the pure-Python one takes ~50 ms a plan file.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REQUIRED = ("plan", "title", "document_no", "issuer", "source", "province", "targets")
_RANGE = re.compile(r"^(\d{5})(?:-(\d{5}))?$")


@dataclass(frozen=True)
class Target:
    indicator: str
    year: int
    target: float | None
    wording: str
    baseline: float | None = None
    baseline_as_of: str | None = None
    wording_ocr: str | None = None


@dataclass(frozen=True)
class Plan:
    plan: str
    title: str
    document_no: str | None
    issuer: str
    source: str
    province: str
    targets: tuple[Target, ...]
    path: str
    document_no_note: str | None = None
    document_date: dt.date | None = None
    report_due: str | None = None
    former_unit: str | None = None
    former_commune_codes: tuple[str, ...] = ()
    definitions: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def document_label(self) -> str:
        if self.document_no:
            date = f" ngày {self.document_date:%d/%m/%Y}" if self.document_date else ""
            return f"Kế hoạch số {self.document_no}{date} của {self.issuer}"
        return f"Kế hoạch của {self.issuer} (không rõ số hiệu)"

    @property
    def scope_label(self) -> str:
        return self.former_unit or next((p.name for p in admin_units.provinces() if p.code == self.province),
                                        self.province)

    def communes(self) -> frozenset[str] | None:
        """2025 commune codes the plan covers, or None for the whole province."""
        if not self.former_commune_codes:
            return None
        return scope_communes(self.province, self.former_commune_codes)

    def targets_for(self, year: int) -> list[Target]:
        return [t for t in self.targets if t.year == year]


def _expand(codes: tuple[str, ...]) -> set[int]:
    out: set[int] = set()
    for item in codes:
        m = _RANGE.match(item)
        lo = int(m.group(1))
        hi = int(m.group(2) or m.group(1))
        out.update(range(lo, hi + 1))
    return out


@functools.lru_cache(maxsize=1)
def _merges() -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with (admin_units.resources_path() / "commune_merges_2025.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["commune_code"], []).append(int(row["old_code"]))
    return out


@functools.lru_cache(maxsize=64)
def scope_communes(province: str, former_codes: tuple[str, ...]) -> frozenset[str]:
    """2025 communes of `province` formed more than half from the given pre-2025 commune codes."""
    old = _expand(former_codes)
    merges = _merges()
    chosen = set()
    for commune in admin_units.communes(province):
        formed_from = merges.get(commune.code, [])
        if formed_from and 2 * sum(code in old for code in formed_from) > len(formed_from):
            chosen.add(commune.code)
    return frozenset(chosen)


def plans_dir() -> Path:
    return resources_dir() / "plans"


def _fail(where: str, vi: str, en: str):
    raise InvalidInputError(f"{where}: {vi} / {en}")


def _text(doc: dict, key: str, where: str, *, required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        _fail(f"{where}: {key}", "thiếu hoặc không phải văn bản", "missing or not text")
    return value.strip()


def _number(value, where: str, *, allow_none: bool) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        _fail(where, f"phải là số không âm, không phải {value!r}", "must be a non-negative number")
    return float(value)


def _target(entry, where: str) -> Target:
    if not isinstance(entry, dict):
        _fail(where, "mỗi chỉ tiêu là một bảng khóa: giá trị", "each target must be a mapping")
    key = entry.get("indicator")
    if key not in BY_KEY:
        _fail(f"{where}: indicator", f"không có chỉ số '{key}'; dùng một trong {', '.join(BY_KEY)}",
              "unknown indicator")
    where = f"{where} ({key})"
    year = entry.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        _fail(f"{where}: year", f"năm không hợp lệ {year!r}", "invalid year")
    if "target" not in entry:
        _fail(f"{where}: target", "thiếu (ghi null nếu kế hoạch chỉ nêu hiện trạng)",
              "missing (write null when the plan only states a baseline)")
    target = _number(entry["target"], f"{where}: target", allow_none=True)
    unit = BY_KEY[key].unit
    if target is not None and unit == "%" and target > 100:
        _fail(f"{where}: target", f"tỷ lệ {target} lớn hơn 100%", "a rate above 100%")
    baseline = baseline_as_of = None
    if entry.get("baseline") is not None:
        b = entry["baseline"]
        if not isinstance(b, dict) or "value" not in b:
            _fail(f"{where}: baseline", "cần {value: ..., as_of: ...}", "needs {value: ..., as_of: ...}")
        baseline = _number(b["value"], f"{where}: baseline.value", allow_none=False)
        baseline_as_of = str(b.get("as_of") or "") or None
    wording = _text(entry, "wording", where)
    return Target(key, year, target, wording, baseline, baseline_as_of,
                  _text(entry, "wording_ocr", where, required=False))


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    where = str(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        _fail(where, f"không đọc được tệp ({exc.strerror})", "cannot read the file")
    except yaml.YAMLError as exc:
        _fail(where, f"YAML không hợp lệ: {exc}", "invalid YAML")
    if not isinstance(doc, dict):
        _fail(where, "cần một bảng khóa: giá trị", "must be a mapping")
    for key in _REQUIRED:
        if key not in doc:
            _fail(f"{where}: {key}", "thiếu khóa bắt buộc", "required key missing")
    plan_id = _text(doc, "plan", where)
    where = f"{path} [{plan_id}]"
    document_no = _text(doc, "document_no", where, required=False)
    note = _text(doc, "document_no_note", where, required=False)
    if document_no is None and note is None:
        _fail(f"{where}: document_no", "thiếu số hiệu văn bản (nếu không rõ, ghi document_no_note)",
              "document number missing (say why in document_no_note)")
    province = str(doc["province"]).zfill(2)
    if province not in {p.code for p in admin_units.provinces()}:
        _fail(f"{where}: province", f"không có tỉnh mã {province} trong danh mục 2025 "
              "(resources/admin_units/provinces_2025.csv)", "not a 2025 province code")
    date = doc.get("document_date")
    if date is not None and not isinstance(date, dt.date):
        _fail(f"{where}: document_date", "ngày dạng YYYY-MM-DD", "a date as YYYY-MM-DD")
    scope = doc.get("scope") or {}
    if not isinstance(scope, dict):
        _fail(f"{where}: scope", "cần một bảng khóa: giá trị", "must be a mapping")
    former = tuple(str(c) for c in scope.get("former_commune_codes") or ())
    for item in former:
        m = _RANGE.match(item)
        if not m or (m.group(2) and m.group(2) < m.group(1)):
            _fail(f"{where}: scope.former_commune_codes", f"'{item}' không phải mã xã 5 số hay khoảng "
                  "'xxxxx-yyyyy'", "not a 5-digit commune code or range")
    definitions = doc.get("definitions") or {}
    from .params import Params  # validate now, so a bad definition is reported with its file
    Params().with_definitions(definitions, where)
    targets = doc["targets"]
    if not isinstance(targets, list) or not targets:
        _fail(f"{where}: targets", "cần một danh sách chỉ tiêu", "must be a non-empty list")
    parsed = tuple(_target(t, f"{where}: targets[{i}]") for i, t in enumerate(targets))
    seen = set()
    for i, t in enumerate(parsed):
        if (t.indicator, t.year) in seen:
            _fail(f"{where}: targets[{i}]", f"chỉ tiêu {t.indicator} năm {t.year} ghi hai lần",
                  "the same indicator and year twice")
        seen.add((t.indicator, t.year))
    plan = Plan(plan_id, _text(doc, "title", where), document_no, _text(doc, "issuer", where),
                _text(doc, "source", where), province, parsed, str(path), note, date,
                _text(doc, "report_due", where, required=False), _text(scope, "former_unit", where, required=False),
                former, dict(definitions))
    if former and not plan.communes():
        _fail(f"{where}: scope.former_commune_codes", f"không xã 2025 nào của tỉnh {province} được lập "
              "chủ yếu từ các mã này", f"no 2025 commune of province {province} was formed mostly from them")
    return plan


def load_plans(directory: str | Path | None = None) -> list[Plan]:
    directory = Path(directory) if directory is not None else plans_dir()
    plans = [load_plan(p) for p in sorted(directory.glob("*.yaml"))]
    seen: dict[str, str] = {}
    for p in plans:
        if p.plan in seen:
            raise InvalidInputError(f"{p.path}: plan: mã kế hoạch '{p.plan}' trùng với {seen[p.plan]} / "
                                    "duplicate plan id")
        seen[p.plan] = p.path
    return plans


def plans_for(plans: list[Plan], province_codes: set[str]) -> list[Plan]:
    return [p for p in plans if p.province in province_codes]
