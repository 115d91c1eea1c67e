"""Indicators against plan targets: target, actual, gap and status for a province or a commune.

gap = target - actual, in the indicator's unit: what is still to achieve (negative when the
target is exceeded). status: met, not_met, no_target (the plans set none here) or no_data (a
rate with an empty denominator, a department figure not entered).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..text import format_decimal, format_plain
from .catalogue import BY_KEY, COUNT, FIGURE_KEYS, INDICATORS, METHOD_LABELS, METHODS, TECHNOLOGIES, ZONE_KIND_LABELS
from .compute import Results, Value, compute, figure_value, spatial_joins, unit_mask, value
from .coverage_model import CoverageModel, load_coverage_model
from .data import Dataset, read_dataset
from .params import Params
from .plans import Plan, load_plans

MET, NOT_MET, NO_TARGET, NO_DATA = "met", "not_met", "no_target", "no_data"
STATUS_LABELS = {MET: ("Đạt", "met"), NOT_MET: ("Chưa đạt", "not met"),
                 NO_TARGET: ("Không có chỉ tiêu", "no target"), NO_DATA: ("Chưa có số liệu", "no data")}
# Rates are compared at the precision they are reported with, so 97.99999 is not "not met" at 98.
_EPS = 1e-9


@dataclass
class Row:
    indicator: str
    label_vi: str
    label_en: str
    unit: str
    actual: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    gap: float | None
    status: str
    year: int
    plan: str | None = None
    document: str | None = None
    scope: str | None = None
    wording: str | None = None
    baseline: float | None = None
    baseline_as_of: str | None = None


@dataclass
class IndicatorReport:
    database: str
    province_code: str
    province_name: str
    commune_code: str | None
    commune_name: str | None
    year: int
    rows: list[Row]
    definitions: dict[str, dict[str, str]]
    sites_by_operator_technology: dict[str, dict[str, int]]
    fibre_km_by_operator_method: dict[str, dict[str, float]]
    plans: list[dict]
    communes: list[dict] = field(default_factory=list)
    sites_by_technology: dict[str, int] = field(default_factory=dict)  # sites with the technology
    results: Results | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("results")
        return out


def status_of(target: float | None, actual: float | None) -> str:
    if target is None:
        return NO_TARGET
    if actual is None:
        return NO_DATA
    return MET if actual >= target - _EPS else NOT_MET


def definitions(params: Params, model: CoverageModel) -> dict[str, dict[str, str]]:
    kinds_vi = ", ".join(ZONE_KIND_LABELS[k][0] for k in params.zone_kinds)
    kinds_en = ", ".join(ZONE_KIND_LABELS[k][1] for k in params.zone_kinds)
    fill = {
        "min_operators": params.min_operators, "zone_kinds": kinds_vi, "ftth_m": format_plain(model.ftth_route_distance_m, "vi"),
        "village_scope": "các thôn có điện (chưa rõ thì tính là có điện)" if params.power_only else "mọi thôn",
        "village_scope_en": "villages with power (unknown counts as powered)" if params.power_only else
        "all villages",
        "pole_min_operators": params.pole_min_operators,
        "pole_scope": "tổng số cột có cáp" if params.pole_scope == "with_cables" else "tổng số cột đã khảo sát",
        "pole_scope_en": "poles carrying a cable" if params.pole_scope == "with_cables" else "all surveyed poles",
    }
    out = {}
    for ind in INDICATORS:
        out[ind.key] = {"vi": ind.definition_vi.format(**fill),
                        "en": ind.definition_en.format(**{**fill, "zone_kinds": kinds_en,
                                                          "ftth_m": format_plain(model.ftth_route_distance_m, "en")})}

    def radii(lang: str) -> str:
        return "; ".join(f"{a}: " + ", ".join(f"{t} {format_plain(model.radius_m[a][t], lang)} m"
                                              for t in TECHNOLOGIES) for a in model.radius_m)

    out["coverage_model"] = {"vi": f"Bán kính phủ sóng (resources/coverage.yaml) — {radii('vi')}. Loại địa bàn: "
                                   f"của thôn, nếu không có thì của xã, mặc định {model.default_area_type}.",
                             "en": f"Coverage radii (resources/coverage.yaml) — {radii('en')}. Area type: the village's, "
                                   f"else its commune's, default {model.default_area_type}."}
    return out


def default_year(plans: list[Plan], today: dt.date | None = None) -> int:
    """The latest target year not after this year (the year being reported), else the earliest."""
    this_year = (today or dt.date.today()).year
    years = sorted({t.year for p in plans for t in p.targets})
    if not years:
        return this_year
    past = [y for y in years if y <= this_year]
    return past[-1] if past else years[0]


class Evaluator:
    """Computes once per definition set (a plan may define an indicator its own way)."""

    def __init__(self, ds: Dataset, model: CoverageModel):
        self.ds, self.model = ds, model
        self._cache: dict[Params, Results] = {}
        self._geo = None

    def results(self, params: Params) -> Results:
        if params not in self._cache:
            if self._geo is None:
                self._geo = spatial_joins(self.ds, self.model)
            self._cache[params] = compute(self.ds, params, self.model, self._geo)
        return self._cache[params]


def _plan_communes(ds: Dataset, plan: Plan) -> frozenset[str] | None:
    """The plan's communes in this database, None meaning "every record" (a one-province database
    whose province is the plan's: records without a commune count too)."""
    scope = plan.communes()
    if scope is not None:
        return scope
    if ds.province_code == plan.province:
        return None
    return frozenset(ds.communes.code[ds.communes.province == plan.province].astype(str))


def _measure(results: Results, key: str, communes, year: int, whole_province: bool) -> Value:
    if key in FIGURE_KEYS:
        return figure_value(results, key, year, communes, whole_province)
    return value(results, key, unit_mask(results, communes))


def build_report(db_path: str | Path, *, commune: str | None = None, year: int | None = None,
                 plans: list[Plan] | None = None, model: CoverageModel | None = None,
                 today: dt.date | None = None) -> IndicatorReport:
    ds = read_dataset(db_path)
    return report_from_dataset(ds, str(db_path), commune=commune, year=year, plans=plans, model=model, today=today)


def report_from_dataset(ds: Dataset, database: str, *, commune: str | None = None, year: int | None = None,
                        plans: list[Plan] | None = None, model: CoverageModel | None = None,
                        today: dt.date | None = None, evaluator: Evaluator | None = None) -> IndicatorReport:
    """As build_report, on a loaded dataset; pass one `evaluator` to report many communes of it
    without computing the indicators again."""
    plans = load_plans() if plans is None else plans
    model = (evaluator.model if evaluator is not None else load_coverage_model()) if model is None else model
    codes = ds.communes.code.astype(str)
    commune_name = None
    if commune is not None:
        hits = np.flatnonzero(codes == commune)
        if not len(hits):
            raise InvalidInputError(f"{database}: không có xã/phường mã '{commune}' trong cơ sở dữ liệu / "
                                    f"no commune with code '{commune}' in the database")
        commune_name = str(ds.communes.name[hits[0]])
        commune_province = str(ds.communes.province[hits[0]])
    provinces = set(ds.provinces) | ({ds.province_code} if ds.province_code else set())
    applicable = [p for p in plans if p.province in provinces]
    if commune is not None:
        applicable = [p for p in applicable if p.province == commune_province
                      and (p.communes() is None or commune in p.communes())]
    year = year if year is not None else default_year(applicable, today)
    ev = evaluator if evaluator is not None else Evaluator(ds, model)
    base = ev.results(Params())
    rows: list[Row] = []
    targeted: set[str] = set()
    for plan in applicable:
        params = Params().with_definitions(plan.definitions, plan.path)
        res = ev.results(params)
        scope = frozenset({commune}) if commune is not None else _plan_communes(ds, plan)
        whole = commune is None and plan.communes() is None
        for t in plan.targets_for(year):
            ind = BY_KEY[t.indicator]
            target = t.target if (commune is None or ind.per_commune_target) else None
            got = _measure(res, t.indicator, scope, year, whole)
            targeted.add(t.indicator)  # listed under its plan (a baseline alone too): not again below
            rows.append(Row(ind.key, ind.label_vi, ind.label_en, ind.unit, got.actual, got.numerator, got.denominator,
                            target, None if target is None or got.actual is None else target - got.actual,
                            status_of(target, got.actual), year, plan.plan, plan.document_label, plan.scope_label,
                            t.wording, t.baseline, t.baseline_as_of))
    scope = frozenset({commune}) if commune is not None else None
    for ind in INDICATORS:
        if ind.key in targeted or ind.key == "fibre_km":
            continue
        got = _measure(base, ind.key, scope, year, commune is None)
        rows.append(Row(ind.key, ind.label_vi, ind.label_en, ind.unit, got.actual, got.numerator, got.denominator,
                        None, None, NO_TARGET, year))
    got = _measure(base, "fibre_km", scope, year, commune is None)
    rows.append(Row("fibre_km", BY_KEY["fibre_km"].label_vi, BY_KEY["fibre_km"].label_en, BY_KEY["fibre_km"].unit,
                    got.actual, got.numerator, None, None, None, NO_TARGET, year))
    mask = unit_mask(base, scope)
    ops = ds.operators
    by = base.sites_by_operator_tech[mask].sum(axis=0)
    fib = base.fibre_m[mask].sum(axis=0) / 1000.0
    defs = definitions(Params(), model)
    for plan in applicable:
        if plan.definitions:
            params = Params().with_definitions(plan.definitions, plan.path)
            for key, text in definitions(params, model).items():
                if text != defs.get(key):
                    defs[f"{key} [{plan.plan}]"] = text
    return IndicatorReport(
        database, ds.province_code, ds.province_name, commune, commune_name, year, rows, defs,
        {op: {t: int(by[i, k]) for k, t in enumerate(TECHNOLOGIES)} for i, op in enumerate(ops) if by[i].any()},
        {op: {m: round(float(fib[i, k]), 3) for k, m in enumerate(METHODS)} for i, op in enumerate(ops) if fib[i].any()},
        [{"plan": p.plan, "document": p.document_label, "title": p.title, "scope": p.scope_label,
          "communes": None if p.communes() is None else sorted(p.communes()), "source": p.source,
          "report_due": p.report_due, "file": Path(p.path).name} for p in applicable],
        commune_rows(base, year) if commune is None else [],
        {t: int(n) for t, n in zip(TECHNOLOGIES, ds.sites.tech[mask[ds.sites.commune]].sum(axis=0))},
        base,
    )


COMMUNE_COLUMNS = ("operating_sites", "bts_sharing_rate", "sites_5g", "sites_5g_in_zones",
                   "village_mobile_broadband_rate", "village_ftth_rate", "commune_centres_5g_rate",
                   "shared_poles_rate", "fibre_km", "fibre_underground_rate") + FIGURE_KEYS


def commune_rows(results: Results, year: int) -> list[dict]:
    """One row per commune with its main indicators (base definitions), for tables and charts."""
    ds = results.dataset
    n = len(ds.communes)
    out = []
    rates = {}
    for key in COMMUNE_COLUMNS:
        if key in FIGURE_KEYS:
            continue
        num = results.num[key][:n]
        if key in results.den:
            den = results.den[key][:n]
            with np.errstate(invalid="ignore", divide="ignore"):
                rates[key] = np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1), np.nan)
        else:
            rates[key] = num
    figures = {(u, k): val for u, y, k, val in ds.figures if y == year}
    for i in range(n):
        code = str(ds.communes.code[i])
        row = {"code": code, "name": str(ds.communes.name[i])}
        for key, arr in rates.items():
            row[key] = None if not np.isfinite(arr[i]) else float(arr[i])
        for key in FIGURE_KEYS:
            row[key] = figures.get((code, key))
        out.append(row)
    return out


def format_value(unit: str, v: float | None, lang: str = "vi") -> str:
    if v is None:
        return "—"
    return format_decimal(v, 0 if unit == COUNT else 1, lang)


def text_report(report: IndicatorReport) -> str:
    """What `hatang indicators` prints without --json: Vietnamese, one line per indicator."""
    where = (f"{report.commune_name} ({report.commune_code}), {report.province_name}" if report.commune_code
             else report.province_name or report.province_code)
    lines = [f"Chỉ tiêu hạ tầng số / plan indicators — {where} — năm {report.year}", ""]
    head = f"{'Chỉ số / indicator':58} {'Chỉ tiêu':>10} {'Thực tế':>10} {'Còn thiếu':>10}  Trạng thái"
    lines += [head, "-" * len(head)]
    last_plan = object()
    for r in report.rows:
        if r.plan != last_plan:
            lines.append(f"[{r.document} — {r.scope}]" if r.plan else "[Không có chỉ tiêu / no target]")
            last_plan = r.plan
        unit = {"%": "%", "count": "", "per_100": "/100", "Mbps": " Mbps", "km": " km"}[r.unit]
        label = r.label_vi if len(r.label_vi) <= 56 else r.label_vi[:55] + "…"
        target = format_value(r.unit, r.target) + (unit if r.target is not None else "")
        actual = format_value(r.unit, r.actual) + (unit if r.actual is not None else "")
        lines.append(f"  {label:56} {target:>10} {actual:>10} {format_value(r.unit, r.gap):>10}  "
                     f"{STATUS_LABELS[r.status][0]}")
    lines.append("")
    lines.append("Trạm có công nghệ / sites with each technology: " + "  ".join(
        f"{t}: {n}" for t, n in report.sites_by_technology.items()))
    lines.append("Trạm theo doanh nghiệp x công nghệ / sites by operator x technology:")
    for op, techs in report.sites_by_operator_technology.items():
        lines.append(f"  {op:12} " + "  ".join(f"{t}: {n}" for t, n in techs.items()))
    lines.append("Cáp quang (km) theo doanh nghiệp x phương thức / fibre km by operator x method:")
    for op, methods in report.fibre_km_by_operator_method.items():
        lines.append(f"  {op:12} " + "  ".join(f"{METHOD_LABELS[m][0]}: {format_value('km', km)}"
                                               for m, km in methods.items()))
    lines.append("")
    lines.append("Định nghĩa / definitions: hatang indicators DB --json (\"definitions\"), hoặc trang "
                 "\"Định nghĩa\" của báo cáo.")
    return "\n".join(lines)
